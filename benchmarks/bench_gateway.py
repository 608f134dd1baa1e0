"""Benchmark 2, gateway overhead: the 22 TPC-H queries through `client.sql` (parsed, allow-listed,
usage recorded) against plain DuckDB reading the very same Parquet files.

    .venv/bin/python benchmarks/bench_gateway.py [--sf 1] [--runs 3]

The eight tables are shared into a fresh home from tpchgen's Parquet output (`threshold share`,
untimed); the baseline is an in-memory DuckDB with the same thread count where `tpch.<table>` is a
view over `read_parquet` of that table's Iceberg data files. Each query runs once on each side to
warm up and compare results, then `--runs` times on each side, interleaved. Prints per-query
medians and the ratio of the totals (sum of medians), in wall time (the target: ratio <= 1.10) and
in CPU time (steadier when the machine is busy).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import tpch
from data import DATA_DIR, TABLES, ensure_tpch, table_path
from home import data_files, fresh_home, run_threshold

TARGET = 1.10
Runner = Callable[[str], pa.Table]


def share_tpch(sf: float, home: Path) -> dict[str, list[Path]]:
    """A fresh Threshold home holding the eight tables as `tpch.<table>`; each table's data files."""
    fresh_home(home, "tpch")
    for table in TABLES:
        source = table_path(sf, "parquet", table)
        run_threshold("share", str(source), "--domain", "tpch", "--name", table, "--home", str(home))
    return {table: data_files(home, "tpch", table) for table in TABLES}


def engine_threads(client: object) -> int | None:
    """The gateway engine's configured DuckDB threads; None when it uses DuckDB's default (one per core)."""
    settings = getattr(getattr(client, "platform", None), "settings", None)  # embedded clients only
    return getattr(settings, "engine_threads", None) or None


def timed(run: Runner, sql: str) -> tuple[float, float]:
    """Wall time and this process's CPU time (every thread, so DuckDB's too) of one query."""
    wall, cpu = time.perf_counter(), time.process_time()
    run(sql)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sf", type=float, default=1, help="TPC-H scale factor (default 1)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each query on each side (default 3)")
    parser.add_argument("--purpose", default=None, help="purpose declared with each gateway query")
    args = parser.parse_args()

    import threshold  # imported late: the data and the queries can be checked without it

    ensure_tpch(args.sf, ("parquet",))
    home = DATA_DIR / "runs" / "gateway-home"
    print(f"sharing TPC-H SF {args.sf:g} into {home} ...", flush=True)
    files = share_tpch(args.sf, home)

    client = threshold.connect(home=str(home))
    gateway: Runner = lambda sql: client.sql(sql, purpose=args.purpose)  # noqa: E731
    threads = engine_threads(client)
    con = tpch.plain_duckdb(files, threads=threads)
    plain: Runner = lambda sql: con.sql(sql).to_arrow_table()  # noqa: E731
    sides = {"threshold": gateway, "duckdb": plain}
    plain_threads = con.sql("SELECT current_setting('threads')").fetchall()[0][0]
    shown = threads or "DuckDB's default (one per core)"
    print(f"engine threads: gateway {shown}; plain DuckDB {plain_threads}; CPUs {os.cpu_count()}")

    queries = tpch.load_queries()
    events_before = client.usage()["queries"]
    mismatches = {}
    for name, sql in queries.items():  # warm-up, and the equality check
        why = tpch.difference(gateway(sql), plain(sql))
        if why:
            mismatches[name] = why

    wall: dict[str, dict[str, list[float]]] = {name: {s: [] for s in sides} for name in queries}
    cpu: dict[str, dict[str, list[float]]] = {name: {s: [] for s in sides} for name in queries}
    for i in range(args.runs):
        for name, sql in queries.items():
            # Alternate which side goes first, so neither always runs on the other's warm caches.
            order = list(sides) if i % 2 == 0 else list(reversed(sides))
            for side in order:
                w, c = timed(sides[side], sql)
                wall[name][side].append(w)
                cpu[name][side].append(c)

    medians = {name: {s: statistics.median(v) for s, v in by.items()} for name, by in wall.items()}
    print(f"\n{'query':<7}{'threshold s':>12}{'duckdb s':>10}{'ratio':>8}  result")
    for name, m in medians.items():
        result = "MISMATCH: " + mismatches[name] if name in mismatches else "same"
        ratio = m["threshold"] / m["duckdb"]
        print(f"{name:<7}{m['threshold']:>12.3f}{m['duckdb']:>10.3f}{ratio:>8.2f}  {result}")
    total = {s: sum(m[s] for m in medians.values()) for s in sides}
    ratio = total["threshold"] / total["duckdb"]
    print(f"{'total':<7}{total['threshold']:>12.3f}{total['duckdb']:>10.3f}{ratio:>8.2f}")
    cpu_total = {s: sum(statistics.median(by[s]) for by in cpu.values()) for s in sides}
    cpu_ratio = cpu_total["threshold"] / cpu_total["duckdb"]
    print(f"{'CPU s':<7}{cpu_total['threshold']:>12.3f}{cpu_total['duckdb']:>10.3f}{cpu_ratio:>8.2f}")
    per_query_ms = (total["threshold"] - total["duckdb"]) / len(queries) * 1000
    print(f"gateway overhead: {per_query_ms:+.1f} ms wall per query (difference of totals / {len(queries)})")
    verdict = "met" if ratio <= TARGET else "MISSED"
    print(f"\ntotal-time ratio threshold/duckdb ({args.runs} runs): {ratio:.3f} (target <= {TARGET}) {verdict}")
    print(f"results: {len(queries) - len(mismatches)}/{len(queries)} queries identical to plain DuckDB")
    recorded = client.usage()["queries"] - events_before
    print(f"usage events recorded: {recorded} for {len(queries) * (1 + args.runs)} gateway queries")
    if mismatches:
        sys.exit(1)


if __name__ == "__main__":
    main()
