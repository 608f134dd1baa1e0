"""The PostgreSQL front door against the HTTP API: the 22 TPC-H queries through psycopg (`--pg-port`) and
through `POST /api/v1/query` (Arrow), both against one real `threshold serve` process.

    .venv/bin/python benchmarks/bench_pgwire.py [--sf 0.1] [--runs 3]

The eight tables are shared into a fresh home (untimed); a person `bench` with a password (for the
front door) and a token (for the API) reads them. Each query runs once on each side to warm up and to
compare row counts, then `--runs` times on each side, interleaved. Prints per-query medians, the ratio
of the totals (front door / API; the goal: <= 1.10 for results under 100k rows) and the load average.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
import pyarrow as pa
import tpch
from bench_gateway import share_tpch
from data import DATA_DIR, ensure_tpch
from home import threshold_cli

TARGET = 1.10
Runner = Callable[[str], int]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def add_reader(home: Path) -> str:
    """A person who may read tpch (a member of its domain: no guardrail mask), with a password and a token."""
    from threshold.identity.service import add_user, create_token, join_domain
    from threshold.platform import Platform

    platform = Platform.open(home)
    try:
        add_user(platform, "bench", password="bench-pass")
        join_domain(platform, "bench", "tpch")
        return create_token(platform, "bench", name="bench")[1]
    finally:
        platform.close()


def wait_for(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"threshold serve ended with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nothing listens on port {port} after 60 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sf", type=float, default=0.1, help="TPC-H scale factor (default 0.1)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each query on each side (default 3)")
    args = parser.parse_args()

    ensure_tpch(args.sf, ("parquet",))
    home = DATA_DIR / "runs" / "pgwire-home"
    print(f"sharing TPC-H SF {args.sf:g} into {home} ...", flush=True)
    share_tpch(args.sf, home)
    token = add_reader(home)
    http_port, pg_port = free_port(), free_port()
    server = subprocess.Popen(
        [threshold_cli(), "serve", "--port", str(http_port), "--pg-port", str(pg_port), "--home", str(home)],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for(http_port, server)
        wait_for(pg_port, server)
        conn = psycopg.connect(
            f"host=127.0.0.1 port={pg_port} user=bench password=bench-pass dbname=threshold sslmode=disable",
            autocommit=True,
        )
        http = httpx.Client(base_url=f"http://127.0.0.1:{http_port}", headers={"Authorization": f"Bearer {token}"})

        def front_door(sql: str) -> int:
            return len(conn.execute(sql).fetchall())

        def api(sql: str) -> int:
            r = http.post("/api/v1/query", json={"sql": sql, "format": "arrow", "max_rows": None}, timeout=600)
            r.raise_for_status()
            table = pa.ipc.open_stream(r.content).read_all()
            return table.num_rows

        sides: dict[str, Runner] = {"pgwire": front_door, "http": api}
        queries = tpch.load_queries()
        rows: dict[str, int] = {}
        mismatches = []
        for name, sql in queries.items():  # warm-up, and the row-count check
            rows[name] = front_door(sql)
            if api(sql) != rows[name]:
                mismatches.append(name)
        wall: dict[str, dict[str, list[float]]] = {name: {s: [] for s in sides} for name in queries}
        for i in range(args.runs):
            for name, sql in queries.items():
                order = list(sides) if i % 2 == 0 else list(reversed(sides))
                for side in order:
                    started = time.perf_counter()
                    sides[side](sql)
                    wall[name][side].append(time.perf_counter() - started)
        conn.close()
        http.close()
    finally:
        server.terminate()
        server.wait(timeout=60)

    medians = {name: {s: statistics.median(v) for s, v in by.items()} for name, by in wall.items()}
    print(f"\n{'query':<7}{'rows':>8}{'pgwire s':>10}{'http s':>9}{'ratio':>8}")
    for name, m in medians.items():
        print(f"{name:<7}{rows[name]:>8}{m['pgwire']:>10.3f}{m['http']:>9.3f}{m['pgwire'] / m['http']:>8.2f}")
    total = {s: sum(m[s] for m in medians.values()) for s in sides}
    ratio = total["pgwire"] / total["http"]
    print(f"{'total':<7}{'':>8}{total['pgwire']:>10.3f}{total['http']:>9.3f}{ratio:>8.2f}")
    verdict = "met" if ratio <= TARGET else "MISSED"
    print(f"\ntotal-time ratio pgwire/http, SF {args.sf:g}, {args.runs} runs: {ratio:.3f} (goal <= {TARGET}) {verdict}")
    print(
        f"row counts: {len(queries) - len(mismatches)}/{len(queries)} equal"
        + (f" ({mismatches})" if mismatches else "")
    )
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    if mismatches:
        sys.exit(1)


if __name__ == "__main__":
    main()
