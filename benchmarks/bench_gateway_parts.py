"""The gateway's parts on their own, to tell where a difference against raw DuckDB comes from.

    .venv/bin/python benchmarks/bench_gateway_parts.py [--runs 3] [--events 1,2,5,10,20]

Uses the home `bench_gateway.py` shared (benchmarks/.data/runs/gateway-home; run that first). Prints

- engine factors: the 22 TPC-H queries, alternating, on plain DuckDB (`con.sql(q).to_arrow_table()`),
  plain DuckDB with the gateway's `disabled_optimizers = 'common_subplan'`, plain DuckDB read through a
  new cursor and a streamed Arrow reader (as the gateway reads), the gateway's own engine running the
  gateway's generated SQL (`Engine.run`: its settings, its persistent views), and the whole gateway
  (`client.sql`); medians of wall and CPU time, and each total against plain DuckDB;
- the usage journal's write: CPU and wall of one `flush` holding 1, 2, 5... events (the background
  flusher held off), so a write's fixed cost and its cost per event can be told apart.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import tpch
from bench_gateway import share_tpch
from data import DATA_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each query on each side (default 3)")
    parser.add_argument("--events", default="1,2,5,10,20", help="events per journal write to time")
    args = parser.parse_args()

    import threshold
    from threshold.gateway.prepared import reads_of
    from threshold.usage import journal

    home = DATA_DIR / "runs" / "gateway-home"
    files = share_tpch(1, home, keep=True)
    client = threshold.connect(home=str(home))
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    engine_factors(client, files, args.runs, reads_of)
    journal_writes(client, journal, [int(n) for n in args.events.split(",")])
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def engine_factors(client: object, files: dict, runs: int, reads_of: object) -> None:
    queries = tpch.load_queries()
    for sql in queries.values():
        client.sql(sql)  # type: ignore[attr-defined]
    generated = {key[1]: entry.generated for key, entry in reads_of(client.platform)._entries.items()}  # type: ignore[attr-defined, operator]
    engine = client.platform.engine  # type: ignore[attr-defined]
    plain = tpch.plain_duckdb(files)
    nocs = tpch.plain_duckdb(files)
    nocs.execute("SET disabled_optimizers = 'common_subplan'")
    sides = {
        "plain": lambda sql: plain.sql(sql).to_arrow_table(),
        "no_common_subplan": lambda sql: nocs.sql(sql).to_arrow_table(),
        "plain_streamed": lambda sql: plain.cursor().sql(sql).to_arrow_reader(65536).read_all(),
        "gateway_engine": lambda sql: engine.run(generated[sql], {}, max_rows=None),
        "gateway": lambda sql: client.sql(sql),  # type: ignore[attr-defined]
    }
    names = list(sides)
    wall: dict[str, dict[str, list[float]]] = {k: {q: [] for q in queries} for k in names}
    cpu: dict[str, dict[str, list[float]]] = {k: {q: [] for q in queries} for k in names}
    for i in range(runs):
        for q, sql in queries.items():
            for k in names[i % len(names) :] + names[: i % len(names)]:  # who goes first rotates
                t, c = time.perf_counter(), time.process_time()
                sides[k](sql)
                wall[k][q].append(time.perf_counter() - t)
                cpu[k][q].append(time.process_time() - c)
    print(f"\nengine factors, 22 TPC-H queries, medians of {runs} (wall ms | CPU ms)")
    print(f"{'query':<6}" + "".join(f"{k[:17]:>18}" for k in names))
    totals = {k: [0.0, 0.0] for k in names}
    for q in queries:
        cells = ""
        for k in names:
            w, c = statistics.median(wall[k][q]) * 1000, statistics.median(cpu[k][q]) * 1000
            totals[k][0] += w
            totals[k][1] += c
            cells += f"{w:>10.0f} |{c:>6.0f}"
        print(f"{q:<6}{cells}")
    print(f"{'total':<6}" + "".join(f"{totals[k][0]:>10.0f} |{totals[k][1]:>6.0f}" for k in names))
    for k in names:
        print(
            f"  {k:<18} wall {totals[k][0] / totals['plain'][0]:.3f}  CPU {totals[k][1] / totals['plain'][1]:.3f}"
            " (against plain)"
        )


def journal_writes(client: object, journal: object, sizes: list[int]) -> None:
    platform = client.platform  # type: ignore[attr-defined]
    writer = journal.journal_of(platform)  # type: ignore[attr-defined]
    journal.FLUSH_SECONDS = 3600.0  # type: ignore[attr-defined]  # the background flusher stays out of the way
    sql = "SELECT n_name, count(*) FROM tpch.nation GROUP BY 1"
    client.sql(sql)  # type: ignore[attr-defined]
    writer.flush()
    print("\nusage journal, one write (flush) of N events, medians of 7")
    for n in sizes:
        walls, cpus = [], []
        for _ in range(7):
            for _ in range(n):
                client.sql(sql)  # type: ignore[attr-defined]
            t, c = time.perf_counter(), time.thread_time()
            writer.flush()
            walls.append(time.perf_counter() - t)
            cpus.append(time.thread_time() - c)
        w, c = statistics.median(walls) * 1000, statistics.median(cpus) * 1000
        print(f"  {n:>3} events: wall {w:6.2f} ms, CPU {c:5.2f} ms ({c / n:.2f} ms per event)")


if __name__ == "__main__":
    main()
