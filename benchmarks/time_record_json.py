"""What a dataset record's JSON form costs: `DatasetRecord.to_json()` of a wide dataset, against `asdict`.

    .venv/bin/python benchmarks/time_record_json.py [--columns 200] [--rounds 7] [--calls 200]

The API, the dataset page's `.json` twin, `threshold show --format json` and the client send a record's
`to_json()`, written out field by field. A record of `--columns` columns (each with a tag and ten most common
values) and 20 snapshots is built in memory; each round times `--calls` calls of `to_json()`, of
`dataclasses.asdict` (the same dict, copied deeply) and of `json.dumps(to_json())`, CPU of this process.
Prints the median per call and the range of the rounds. Not named `bench_*.py`: a figure for issue 12's
typed results, not a product benchmark.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from threshold.catalog.results import (
    DatasetRecord,
    ExampleQuery,
    RecordColumn,
    RecordSnapshot,
    RecordSource,
    RecordTag,
)

AT = "2026-12-06T00:00:00+00:00"


def wide_record(columns: int) -> DatasetRecord:
    tag = RecordTag("personal.email", "detected", 0.9, "values look like e-mail addresses")
    schema = [
        RecordColumn(
            f"col_{i}", f"Col {i}", "VARCHAR", [tag], 0.01, 1000, "a", "z", [[f"v{j}", 10 - j] for j in range(10)]
        )
        for i in range(columns)
    ]
    history = [RecordSnapshot(i, AT, "anna", "append", 10, 10 * i, "f.csv", "0" * 64, []) for i in range(20)]
    return DatasetRecord(
        *("d.wide", "d", "Wide", "A wide dataset", "shared", "open", 1000, columns, ["personal.email"], "anna", AT),
        purpose="reporting",
        snapshot_id=1,
        size_bytes=123_456,
        created_at=AT,
        source=RecordSource("wide.csv", "csv", 123_456, "0" * 64),
        first_shared_by="anna",
        dataset_tags=[],
        schema=schema,
        history=history,
        example_queries=[ExampleQuery("See the first rows", "SELECT * FROM d.wide LIMIT 20")] * 4,
    )


def cpu_ms_per_call(f: Callable[[], Any], rounds: int, calls: int) -> list[float]:
    out = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            f()
        out.append((time.process_time() - started) / calls * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--columns", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=200)
    args = ap.parse_args()
    record = wide_record(args.columns)
    assert json.dumps(record.to_json()) == json.dumps(asdict(record)), "to_json says what the fields hold"
    ways: dict[str, Callable[[], Any]] = {
        "to_json()": record.to_json,
        "asdict()": lambda: asdict(record),
        "json.dumps(to_json())": lambda: json.dumps(record.to_json()),
    }
    for name, f in ways.items():
        r = cpu_ms_per_call(f, args.rounds, args.calls)
        print(f"{name:24} median {statistics.median(r):7.3f} ms CPU per call (rounds {min(r):.3f}–{max(r):.3f})")


if __name__ == "__main__":
    main()
