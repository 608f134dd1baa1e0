"""Benchmark: the gateway's fixed cost on tiny queries, against raw DuckDB answering the same ones.

    .venv/bin/python benchmarks/bench_tiny.py [--runs 7] [--queries 200]

A fresh home gets TPC-H `nation` and `region` shared (SF 1, untimed). Each run times `--queries`
calls of each tiny query through `threshold.connect(...).sql()` (checked, authorised, bound,
executed, usage and audit recorded) and the same number on an in-memory DuckDB where `tpch.<table>`
is a view over the same Iceberg data files; the side that goes first alternates. Prints per query the
median over runs of the per-call wall and CPU time on each side, and the difference: the time the
gateway adds (target <= 1 ms). The usage events are flushed at the end and counted: none is lost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import tpch
from data import DATA_DIR, ensure_tpch, table_path
from home import data_files, fresh_home, run_threshold

TARGET_MS = 1.0
QUERIES = {
    "select 1": "SELECT 1",
    "count nation": "SELECT count(*) FROM tpch.nation",
    "region rows": "SELECT r_regionkey, r_name FROM tpch.region ORDER BY r_regionkey",
}


def per_call(run: Callable[[str], object], sql: str, n: int) -> tuple[float, float]:
    """Wall and CPU seconds (this process, every thread) per call, over `n` calls."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        run(sql)
    return (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="alternating runs (default 7)")
    parser.add_argument("--queries", type=int, default=200, help="calls of each query per run and side")
    args = parser.parse_args()

    import threshold

    ensure_tpch(1, ("parquet",))
    home = DATA_DIR / "runs" / "tiny-home"
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; CPUs {os.cpu_count()}")
    fresh_home(home, "tpch")
    for table in ("nation", "region"):
        run_threshold(
            "share", str(table_path(1, "parquet", table)), "--domain", "tpch", "--name", table, "--home", str(home)
        )
    files = {t: data_files(home, "tpch", t) for t in ("nation", "region")}

    client = threshold.connect(home=str(home))
    con = tpch.plain_duckdb(files)
    sides: dict[str, Callable[[str], object]] = {
        "threshold": lambda sql: client.sql(sql),
        "duckdb": lambda sql: con.sql(sql).to_arrow_table(),
    }
    before = client.usage()["queries"]
    for sql in QUERIES.values():  # warm-up: parse caches, views, connections
        for run in sides.values():
            for _ in range(20):
                run(sql)

    wall: dict[str, dict[str, list[float]]] = {q: {s: [] for s in sides} for q in QUERIES}
    cpu: dict[str, dict[str, list[float]]] = {q: {s: [] for s in sides} for q in QUERIES}
    for i in range(args.runs):
        order = list(sides) if i % 2 == 0 else list(reversed(sides))
        for name, sql in QUERIES.items():
            for side in order:
                w, c = per_call(sides[side], sql, args.queries)
                wall[name][side].append(w)
                cpu[name][side].append(c)

    print(f"\n{'query':<14}{'threshold ms':>13}{'duckdb ms':>11}{'added ms':>10}{'CPU thr ms':>12}{'CPU duck ms':>12}")
    worst = 0.0
    for name in QUERIES:
        t = statistics.median(wall[name]["threshold"]) * 1000
        d = statistics.median(wall[name]["duckdb"]) * 1000
        ct = statistics.median(cpu[name]["threshold"]) * 1000
        cd = statistics.median(cpu[name]["duckdb"]) * 1000
        worst = max(worst, t - d)
        print(f"{name:<14}{t:>13.3f}{d:>11.3f}{t - d:>10.3f}{ct:>12.3f}{cd:>12.3f}")
    verdict = "met" if worst <= TARGET_MS else "MISSED"
    print(f"\nmost added per query: {worst:.3f} ms (target <= {TARGET_MS} ms) {verdict}")
    try:
        from threshold.usage.service import flush
    except ImportError:  # a Threshold from before the usage journal records synchronously
        pass
    else:
        flush(client.platform)  # type: ignore[attr-defined]
    recorded = client.usage()["queries"] - before
    expected = len(QUERIES) * (20 + args.runs * args.queries)
    print(f"usage events recorded: {recorded} for {expected} gateway queries")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if recorded != expected:
        sys.exit("usage events were lost")


if __name__ == "__main__":
    main()
