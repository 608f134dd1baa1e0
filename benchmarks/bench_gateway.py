"""Benchmark 2, gateway overhead: the 22 TPC-H queries through `client.sql` (parsed, allow-listed,
usage recorded) against plain DuckDB reading the very same Parquet files.

    .venv/bin/python benchmarks/bench_gateway.py [--sf 1] [--runs 5] [--trace] [--keep-home]

The eight tables are shared into a fresh home from tpchgen's Parquet output (`threshold share`,
untimed); the baseline is an in-memory DuckDB with the same thread count where `tpch.<table>` is a
view over `read_parquet` of that table's Iceberg data files. Each query runs once on each side to
warm up and compare results, then `--runs` times on each side, interleaved. Prints per-query
medians and ratios and the ratio of the totals (sum of medians), in wall time (the target: ratio
<= 1.05) and in CPU time (steadier when the machine is busy), and the DuckDB settings in which the
gateway's engine and the baseline differ. `--trace` adds where the gateway's time goes per query
(phases, Python GC, CPU per thread: `gateway_trace.py`); `--keep-home` reuses the shared tables
of an earlier run instead of sharing them again.

The usage journal writes each gateway query's event to the store on its flusher thread, off the
query's path. Left alone, that write lands in whichever query runs next (often the baseline's), and
its ~2.5 ms of CPU then counts against that side: which side it hits depends on timing, not on code.
So by default every timed query starts with the journal written (`journal.flush()`, untimed), and the
flushes' cost is printed on its own line (CPU per gateway query). `--background-flush` leaves the
flusher alone, as before, and prints where its writes landed.
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

TARGET = 1.05
Runner = Callable[[str], pa.Table]


def share_tpch(sf: float, home: Path, keep: bool = False) -> dict[str, list[Path]]:
    """A fresh Threshold home holding the eight tables as `tpch.<table>`; each table's data files.
    `keep`: an earlier run's home that holds them all is used as it is."""
    if keep and all((home / "warehouse" / "tpch" / t / "data").is_dir() for t in TABLES):
        return {table: data_files(home, "tpch", table) for table in TABLES}
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
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each query on each side (default 5)")
    parser.add_argument("--purpose", default=None, help="purpose declared with each gateway query")
    parser.add_argument("--trace", action="store_true", help="where the gateway's time goes (gateway_trace.py)")
    parser.add_argument("--keep-home", action="store_true", help="reuse the shared tables of an earlier run")
    parser.add_argument(
        "--background-flush", action="store_true", help="let journal writes land inside timed queries (see above)"
    )
    args = parser.parse_args()

    import threshold  # imported late: the data and the queries can be checked without it

    ensure_tpch(args.sf, ("parquet",))
    home = DATA_DIR / "runs" / "gateway-home"
    print(f"sharing TPC-H SF {args.sf:g} into {home} ...", flush=True)
    files = share_tpch(args.sf, home, keep=args.keep_home)

    client = threshold.connect(home=str(home))
    gateway: Runner = lambda sql: client.sql(sql, purpose=args.purpose)  # noqa: E731
    threads = engine_threads(client)
    con = tpch.plain_duckdb(files, threads=threads)
    plain: Runner = lambda sql: con.sql(sql).to_arrow_table()  # noqa: E731
    sides = {"threshold": gateway, "duckdb": plain}
    plain_threads = con.sql("SELECT current_setting('threads')").fetchall()[0][0]
    shown = threads or "DuckDB's default (one per core)"
    print(f"engine threads: gateway {shown}; plain DuckDB {plain_threads}; CPUs {os.cpu_count()}")
    print_settings_difference(client.platform.engine._db, con)
    trace = None
    if args.trace:
        from gateway_trace import Trace

        trace = Trace()
        trace.install(client)

    flushes = Flushes(client)
    queries = tpch.load_queries()
    events_before = client.usage()["queries"]
    mismatches = {}
    for name, sql in queries.items():  # warm-up, and the equality check
        why = tpch.difference(gateway(sql), plain(sql))
        if why:
            mismatches[name] = why
    flushes.settle()
    flushes.writes.clear()

    wall: dict[str, dict[str, list[float]]] = {name: {s: [] for s in sides} for name in queries}
    cpu: dict[str, dict[str, list[float]]] = {name: {s: [] for s in sides} for name in queries}
    for i in range(args.runs):
        for name, sql in queries.items():
            # Alternate which side goes first, so neither always runs on the other's warm caches.
            order = list(sides) if i % 2 == 0 else list(reversed(sides))
            for side in order:
                if not args.background_flush:
                    flushes.settle()
                run = trace.around(side, name, sides[side]) if trace else sides[side]
                started = time.perf_counter()
                w, c = timed(run, sql)
                flushes.spans[side].append((started, started + w, name))
                wall[name][side].append(w)
                cpu[name][side].append(c)

    medians = {name: {s: statistics.median(v) for s, v in by.items()} for name, by in wall.items()}
    cpu_medians = {name: {s: statistics.median(v) for s, v in by.items()} for name, by in cpu.items()}
    print(
        f"\n{'query':<7}{'threshold s':>12}{'duckdb s':>10}{'ratio':>8}{'CPU thr s':>11}{'CPU duck s':>11}"
        f"{'ratio':>7}{'+ms':>8}  result"
    )
    for name, m in medians.items():
        result = "MISMATCH: " + mismatches[name] if name in mismatches else "same"
        ratio = m["threshold"] / m["duckdb"]
        cm = cpu_medians[name]
        extra = (m["threshold"] - m["duckdb"]) * 1000
        print(
            f"{name:<7}{m['threshold']:>12.3f}{m['duckdb']:>10.3f}{ratio:>8.2f}{cm['threshold']:>11.3f}"
            f"{cm['duckdb']:>11.3f}{cm['threshold'] / cm['duckdb']:>7.2f}{extra:>+8.1f}  {result}"
        )
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
    flushes.report(len(queries) * args.runs, settled=not args.background_flush)
    recorded = client.usage()["queries"] - events_before
    print(f"usage events recorded: {recorded} for {len(queries) * (1 + args.runs)} gateway queries")
    if trace is not None:
        trace.report({name: m["duckdb"] for name, m in medians.items()})
    if mismatches:
        sys.exit(1)


class Flushes:
    """The usage journal's writes to the store: their CPU, and whether they fell inside timed queries."""

    def __init__(self, client: object) -> None:
        from threshold.usage import journal

        self.journal = journal.journal_of(client.platform)  # type: ignore[attr-defined]
        self.writes: list[tuple[float, float, float]] = []  # (start, end, CPU of the writing thread)
        self.spans: dict[str, list[tuple[float, float, str]]] = {"threshold": [], "duckdb": []}
        drain = journal.Journal._drain
        writes = self.writes

        def timed_drain(self_: journal.Journal, timeout: float) -> None:
            t, c, applied = time.perf_counter(), time.thread_time(), self_._applied
            try:
                drain(self_, timeout)
            finally:
                if self_._applied > applied:  # a write (a drain that found nothing to write is not one)
                    writes.append((t, time.perf_counter(), time.thread_time() - c))

        journal.Journal._drain = timed_drain  # type: ignore[method-assign]

    def settle(self) -> None:
        """Write what the journal holds now, outside the timings (the next query starts with none pending)."""
        self.journal.flush()

    def report(self, timed_queries: int, *, settled: bool) -> None:
        def overlap(q0: float, q1: float) -> float:
            return sum(max(0.0, min(w1, q1) - max(w0, q0)) for w0, w1, _ in self.writes)

        def inside(side: str) -> float:
            return sum(overlap(q0, q1) for q0, q1, _ in self.spans[side])

        def cost(side: str) -> str:
            """What a write inside a query costs it: each hit query's time against the median of the same
            query's runs that no write touched, averaged."""
            clean: dict[str, list[float]] = {}
            for q0, q1, name in self.spans[side]:
                if overlap(q0, q1) == 0:
                    clean.setdefault(name, []).append(q1 - q0)
            extra = [
                (q1 - q0) - statistics.median(clean[name])
                for q0, q1, name in self.spans[side]
                if overlap(q0, q1) > 0 and name in clean
            ]
            if not extra:
                return f"{side}: no query hit"
            return f"{side}: {len(extra)} queries hit, {statistics.mean(extra) * 1000:+.1f} ms each on average"

        busy = self.writes
        cpu = sum(c for *_, c in busy)
        how = "between timed queries (settled)" if settled else "where the flusher put them (--background-flush)"
        print(
            f"usage journal writes, {how}: {len(busy)}, CPU {cpu * 1000:.1f} ms "
            f"({cpu * 1000 / max(timed_queries, 1):.2f} ms per timed gateway query, off the query's path); "
            f"inside timed gateway queries {inside('threshold') * 1000:.1f} ms, "
            f"inside timed plain queries {inside('duckdb') * 1000:.1f} ms"
        )
        if not settled:
            print(f"  a write inside a timed query: {cost('threshold')}; {cost('duckdb')}")


def print_settings_difference(gateway: object, plain: object) -> None:
    """The DuckDB settings in which the gateway's engine and the plain baseline differ."""
    query = "SELECT name, value FROM duckdb_settings()"
    a = dict(gateway.execute(query).fetchall())  # type: ignore[attr-defined]
    b = dict(plain.execute(query).fetchall())  # type: ignore[attr-defined]
    differ = sorted(n for n in a.keys() | b.keys() if a.get(n) != b.get(n))
    print(f"DuckDB settings that differ (gateway | plain): {len(differ)}")
    for n in differ:
        print(f"  {n}: {str(a.get(n))[:60]} | {str(b.get(n))[:60]}")


if __name__ == "__main__":
    main()
