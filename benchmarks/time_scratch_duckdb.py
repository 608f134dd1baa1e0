"""What a share's small DuckDB questions cost: a database opened for each, or a cursor of the scratch one.

    .venv/bin/python benchmarks/time_scratch_duckdb.py --runs 21

A share asks DuckDB two small questions besides reading its source: the DuckDB types of the Parquet file
it wrote (`lake._direct_types`, also each snapshot's first read plan) and, on an append, the Iceberg types
of its columns (`sharing.service._iceberg_types`). Each used to open an in-memory DuckDB database of its
own; now each takes a cursor of the process's scratch database (`lake.scratch`). Times, the two ways
alternating round by round, `DESCRIBE` of a small Parquet file: on a new database (`connect`), and on a
cursor of the scratch database (`scratch`). Prints the medians (wall and CPU of this process) and the
ratio. Not named `bench_*.py`: a suite-speed figure (issue 12), not a product benchmark.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from threshold import lake


def _describe(con: duckdb.DuckDBPyConnection, path: Path) -> list[tuple[object, ...]]:
    return con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()


def on_a_new_database(path: Path) -> list[tuple[object, ...]]:
    con = duckdb.connect()
    try:
        return _describe(con, path)
    finally:
        con.close()


def on_the_scratch_database(path: Path) -> list[tuple[object, ...]]:
    with lake.scratch() as con:
        return _describe(con, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "one.parquet"
        pq.write_table(pa.table({"k": [1, 2], "v": ["a", None]}), path)
        ways = {"connect": on_a_new_database, "scratch": on_the_scratch_database}
        assert on_a_new_database(path) == on_the_scratch_database(path)  # the same answer
        wall: dict[str, list[float]] = {w: [] for w in ways}
        cpu: dict[str, list[float]] = {w: [] for w in ways}
        for _ in range(args.runs):
            for way, ask in ways.items():
                w0, c0 = time.perf_counter(), time.process_time()
                ask(path)
                wall[way].append(time.perf_counter() - w0)
                cpu[way].append(time.process_time() - c0)
    for way in ways:
        print(
            f"{way:8} median wall {statistics.median(wall[way]) * 1000:8.2f} ms"
            f"  CPU {statistics.median(cpu[way]) * 1000:8.2f} ms  ({args.runs} runs)"
        )
    ratio = statistics.median(wall["scratch"]) / statistics.median(wall["connect"])
    print(f"scratch / connect, wall: {ratio:.4f}")


if __name__ == "__main__":
    main()
