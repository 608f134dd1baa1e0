"""Erasure of one subject across 20 datasets holding 10M rows, against a plain pyiceberg `delete` of the same rows.

    .venv/bin/python benchmarks/bench_erasure.py [--datasets 20] [--rows 10000000] [--hits 3]

Builds two homes holding the same `--datasets` tables `bench.tNN` of `--rows` rows in total (id, email,
amount; `--hits` rows per table hold the subject's email; the email column is tagged `personal.email` by
the detector), one for the erasure and one for the baseline. Then times
- the erasure (`threshold.erasure.service.erase`: find and count, delete in one pyiceberg transaction per
  table, expire every other snapshot and remove their files, decode everything left, certificate), and
- the baseline: pyiceberg `Table.delete(EqualTo("email", subject))` on each `base.tNN` (rows deleted,
  nothing expired, nothing verified).
Prints wall seconds, bytes rewritten and their ratios (same run), with the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import DATA_DIR  # noqa: E402

SUBJECT = "subject.person@example.org"


def batch(first: int, n: int, hits: int) -> pa.Table:
    import duckdb

    step = max(1, n // max(1, hits))
    rel = duckdb.sql(
        f"""SELECT i AS id,
                   CASE WHEN (i - {first}) % {step} = 0 AND (i - {first}) < {step * hits}
                        THEN '{SUBJECT}' ELSE 'person' || i || '@example.org' END AS email,
                   ((i * 7919) % 100000) / 100.0 AS amount
            FROM range({first}, {first + n}) t(i)"""
    )
    assert rel is not None
    return rel.to_arrow_table()


def build(home: Path, datasets: int, rows: int, hits: int) -> object:
    from sqlalchemy import select

    from threshold.identity.service import ADMIN, add_domain, ensure_admin, get_person
    from threshold.platform import Platform
    from threshold.sharing.service import share
    from threshold.store.models import Tag

    shutil.rmtree(home, ignore_errors=True)
    platform = Platform.open(home, must_exist=False)
    platform.init()
    ensure_admin(platform)
    add_domain(platform, "bench", owners=(ADMIN,))
    admin = get_person(platform, ADMIN)
    per = rows // datasets
    for k in range(datasets):
        data = batch(k * per, per, hits)
        share(platform, data, domain="bench", name=f"t{k:02}", user=admin, purpose="benchmark")
    with platform.store.session() as s:
        tagged = s.scalars(select(Tag.column_name).where(Tag.tag == "personal.email")).all()
    if len(tagged) != datasets:  # the detector tags the email column; say so plainly if it did not
        raise SystemExit(f"expected {datasets} columns tagged personal.email, found {len(tagged)}")
    return platform


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=int, default=20)
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows in total, over all datasets")
    parser.add_argument("--hits", type=int, default=3, help="rows per dataset holding the subject")
    args = parser.parse_args()

    from pyiceberg.expressions import EqualTo, Reference
    from pyiceberg.expressions.literals import literal

    from threshold.erasure import service
    from threshold.identity.service import ADMIN, get_person

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    t0 = time.perf_counter()
    platform = build(DATA_DIR / "runs" / "erasure-home", args.datasets, args.rows, args.hits)
    baseline = build(DATA_DIR / "runs" / "erasure-baseline-home", args.datasets, args.rows, args.hits)
    print(f"built 2 homes of {args.datasets} datasets, {args.rows:,} rows each: {time.perf_counter() - t0:.0f} s")
    admin = get_person(platform, ADMIN)  # type: ignore[arg-type]
    subject = [f"personal.email={SUBJECT}"]

    t0 = time.perf_counter()
    plan = service.plan(platform, admin, subject)  # type: ignore[arg-type]
    plan_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    cert = service.erase(platform, admin, subject, reason="benchmark", confirm=plan.token)  # type: ignore[arg-type]
    erase_s = time.perf_counter() - t0
    erased_rows = sum(t["rows_removed"] for t in cert.tables)
    erased_bytes = sum(t["bytes_rewritten"] for t in cert.tables)
    removed_files = sum(t["files_removed"] for t in cert.tables)

    base_bytes = base_rows = 0
    t0 = time.perf_counter()
    for k in range(args.datasets):
        table = baseline.lake.load(f"bench.t{k:02}")  # type: ignore[attr-defined]
        before = {s.snapshot_id for s in table.snapshots()}
        table.delete(EqualTo(term=Reference("email"), value=literal(SUBJECT)))
        table = table.refresh()
        for snap in table.snapshots():
            if snap.snapshot_id not in before and snap.summary is not None:
                summary = snap.summary.additional_properties
                base_bytes += int(summary.get("added-files-size", 0))
                base_rows += int(summary.get("deleted-records", 0)) - int(summary.get("added-records", 0))
    base_s = time.perf_counter() - t0
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\none subject across {args.datasets} datasets, {args.rows:,} rows ({args.hits} per dataset)")
    print(f"{'':<34}{'wall s':>8}{'rows':>8}{'bytes rewritten':>18}")
    print(f"{'erasure (plan)':<34}{plan_s:>8.2f}")
    print(f"{'erasure (delete, expire, verify)':<34}{erase_s:>8.2f}{erased_rows:>8}{erased_bytes:>18,}")
    print(f"{'pyiceberg delete (baseline)':<34}{base_s:>8.2f}{base_rows:>8}{base_bytes:>18,}")
    print(f"ratio wall (erasure / baseline): {erase_s / base_s:.2f}; plan + erasure: {(plan_s + erase_s) / base_s:.2f}")
    print(
        f"ratio bytes rewritten: {erased_bytes / max(1, base_bytes):.2f}; files removed by the erasure: {removed_files}"
    )
    print(f"certificate {cert.id}: {cert.status}; verification: {'; '.join(cert.verification['checked'][-2:])[:200]}")


if __name__ == "__main__":
    main()
