"""Retention run against a plain pyiceberg delete of the same rows.

    .venv/bin/python benchmarks/bench_retention.py [--rows 10000000] [--runs 3]

Builds one home (cached under benchmarks/.data/retention-<rows>/): a table of `rows` rows (id, e-mail,
amount, signed_up over three years, generated with pyarrow) shared into `sales.customers` with a one-year
retention from `signed_up`. Each run copies the home twice and, alternating, times on one copy
`compliance.retention.run` (delete, publish, expire every snapshot that held the rows, remove their files)
and on the other a bare `table.delete(signed_up < cutoff)` (one commit, nothing expired, old files kept).
Prints medians, the rows removed and the ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

DATA = Path(__file__).resolve().parent / ".data"
TODAY = date(2026, 6, 1)


def build(rows: int) -> Path:
    from threshold.identity.service import ADMIN, add_domain, ensure_admin, get_person
    from threshold.platform import Platform
    from threshold.sharing.service import share

    home = DATA / f"retention-{rows}"
    if (home / "threshold.db").exists():
        return home
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    ids = pa.array(range(rows), pa.int64())
    start = date(2023, 6, 1).toordinal()
    days = pa.array([date.fromordinal(start + (i * 1096) // rows) for i in range(rows)], pa.date32())
    table = pa.table(
        {
            "id": ids,
            "email": pa.array([f"person{i}@example.com" for i in range(rows)]),
            "amount": pa.array([i * 0.5 for i in range(rows)]),
            "signed_up": days,
        }
    )
    src = home.parent / f"retention-{rows}.parquet"
    pq.write_table(table, src)
    platform = Platform.open(home, must_exist=False)
    platform.init()
    ensure_admin(platform)
    add_domain(platform, "sales")
    admin = get_person(platform, ADMIN)
    collection = {"legal_basis": "contract", "retention": "1y", "retention_column": "signed_up"}
    share(platform, src, domain="sales", name="customers", user=admin, collection=collection)
    platform.close()
    src.unlink()
    return home


def run_retention(home: Path) -> tuple[float, int]:
    from threshold.compliance import retention
    from threshold.platform import Platform

    platform = Platform.open(home)
    platform.clock = lambda: datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC)
    started = time.perf_counter()
    [o] = retention.run(platform, None, dataset="sales.customers", today=TODAY)
    seconds = time.perf_counter() - started
    platform.close()
    return seconds, o.rows_removed


def run_plain(home: Path) -> tuple[float, int]:
    from threshold.platform import Platform

    platform = Platform.open(home)
    table = platform.lake.load("sales.customers")
    before = int(table.current_snapshot().summary["total-records"])
    cutoff = (TODAY - timedelta(days=365)).isoformat()
    started = time.perf_counter()
    tx = table.transaction()
    tx.set_properties({"write.delete.mode": "copy-on-write"})
    tx.delete(delete_filter=f"signed_up < '{cutoff}'")
    tx.commit_transaction()
    seconds = time.perf_counter() - started
    after = int(table.refresh().current_snapshot().summary["total-records"])
    platform.close()
    return seconds, before - after


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    home = build(args.rows)
    work = DATA / "runs" / "retention"
    ours: list[float] = []
    plain: list[float] = []
    removed: set[int] = set()
    for i in range(args.runs):
        for kind in ("ours", "plain") if i % 2 == 0 else ("plain", "ours"):
            copy = work / kind
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(home, copy)
            seconds, rows = run_retention(copy) if kind == "ours" else run_plain(copy)
            (ours if kind == "ours" else plain).append(seconds)
            removed.add(rows)
            shutil.rmtree(copy, ignore_errors=True)
    print(f"rows={args.rows} removed={sorted(removed)} runs={args.runs} load={os.getloadavg()[0]:.2f}")
    print(f"retention run (delete + publish + expire + remove files): median {statistics.median(ours):.2f} s")
    print(f"plain pyiceberg delete (one commit, nothing expired):      median {statistics.median(plain):.2f} s")
    print(f"ratio retention/plain: {statistics.median(ours) / statistics.median(plain):.2f}")


if __name__ == "__main__":
    main()
