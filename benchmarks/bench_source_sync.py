"""Databases as sources: a full sync of a table against the extractor alone, and an incremental sync of 1% of
its rows changed.

    .venv/bin/python benchmarks/bench_source_sync.py [--rows 1000000] [--runs 3] [--source sqlite|postgres]

The source table (id, customer, amount numeric(12,2), status, updated_at) is built once in a temporary SQLite
file (default) or, with `--source postgres`, in a fresh database on THRESHOLD_TEST_POSTGRES_URL. Each run, in
the same process and alternating: the extractor alone (SQLAlchemy stream into Arrow, what any loader must do),
then `threshold source sync` in full (extract + share: Parquet, Iceberg commit, profile, detection, publish).
Then 1% of the rows get a newer `updated_at` and the incremental sync merges them (copy on write of the table).
Prints medians, the ratio full sync / extractor, and the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from threshold.connectors import dialects, extract
from threshold.connectors import service as sources
from threshold.identity.service import add_domain, add_user, get_person
from threshold.platform import Platform

DDL = (
    "create table orders (id bigint primary key, customer varchar(40), amount numeric(12, 2), status varchar(10), "
    "updated_at timestamp)"
)


def _stamp(i: int) -> str:
    """Row i was last changed i seconds after the start of 2026 (distinct cursor values, as in real tables)."""
    return (datetime(2026, 1, 1) + timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S")


def build_sqlite(path: Path, rows: int) -> str:
    with sqlite3.connect(path) as c:
        c.execute(DDL)
        c.executemany(
            "insert into orders values (?, ?, ?, ?, ?)",
            (
                (
                    i,
                    f"customer {i % 5000}",
                    round((i % 100000) / 7, 2),
                    ("new", "paid", "sent")[i % 3],
                    _stamp(i),
                )
                for i in range(rows)
            ),
        )
    return f"sqlite:///{path}"


def build_postgres(rows: int) -> tuple[str, str]:
    admin_url = os.environ["THRESHOLD_TEST_POSTGRES_URL"]
    name = f"bench_src_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'create database "{name}"'))
    admin.dispose()
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    eng = sa.create_engine(url)
    with eng.begin() as c:
        c.execute(sa.text(DDL))
        c.execute(
            sa.text(
                "insert into orders select i, 'customer ' || (i % 5000), round(((i % 100000) / 7.0)::numeric, 2), "
                "(array['new','paid','sent'])[i % 3 + 1], timestamp '2026-01-01' + i * interval '1 second' "
                "from generate_series(0, :n - 1) i"
            ),
            {"n": rows},
        )
    eng.dispose()
    return url, name


def touch(url: str, rows: int, run: int) -> None:
    """1% of the rows get a newer cursor (and a new status)."""
    stamp = f"2026-03-{run + 1:02d} 00:00:00"  # after every row's first stamp
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as c:
            c.execute(f"update orders set status = 'changed', updated_at = '{stamp}' where id % 100 = {run}")
        return
    eng = sa.create_engine(url)
    with eng.begin() as c:
        c.execute(sa.text(f"update orders set status = 'changed', updated_at = '{stamp}' where id % 100 = {run}"))
    eng.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--source", choices=("sqlite", "postgres"), default="sqlite")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-source-sync-"))
    pg_name = None
    try:
        t0 = time.perf_counter()
        if args.source == "sqlite":
            url = build_sqlite(work / "source.db", args.rows)
        else:
            url, pg_name = build_postgres(args.rows)
        print(f"source: {args.source}, {args.rows:,} rows, built in {time.perf_counter() - t0:.1f} s", flush=True)
        p = Platform.open(work / "home", must_exist=False)
        p.init()
        add_user(p, "anna", display_name="Anna", password="anna-pass-1")
        add_domain(p, "sales", owners=("anna",))
        anna = get_person(p, "anna")
        sources.add(p, "shop", url, owner="anna", user=anna)
        sources.configure(p, "shop", dataset="sales.orders", user=anna, table="orders")
        target = dialects.parse(url)
        extractor, full = [], []
        for _ in range(args.runs):
            engine = dialects.engine(target.dialect, target.url, target.password, p.settings.sources)
            t = time.perf_counter()
            got = extract.extract(engine, extract.Request("shop", table="orders"), p.settings.sources)
            extractor.append(time.perf_counter() - t)
            engine.dispose()
            assert got.rows == args.rows
            del got
            t = time.perf_counter()
            r = sources.run(p, "sales.orders", user=anna)
            full.append(time.perf_counter() - t)
            assert r.rows_total == args.rows
        sources.configure(
            p, "shop", dataset="sales.orders", user=anna, table="orders", mode="incremental",
            cursor="updated_at", keys=["id"],
        )  # fmt: skip
        sources.run(p, "sales.orders", user=anna, full=True)  # sets the cursor
        incremental = []
        for run in range(args.runs):
            touch(url, args.rows, run)
            t = time.perf_counter()
            r = sources.run(p, "sales.orders", user=anna)
            incremental.append(time.perf_counter() - t)
            assert r.rows_total == args.rows and r.rows_read >= args.rows // 100
        m_ex, m_full, m_inc = (statistics.median(x) for x in (extractor, full, incremental))
        print(f"extractor alone (to Arrow):  median {m_ex:.2f} s  runs {[round(x, 2) for x in extractor]}")
        print(f"full sync (extract + share): median {m_full:.2f} s  runs {[round(x, 2) for x in full]}")
        print(f"ratio full sync / extractor: {m_full / m_ex:.2f}")
        print(f"incremental sync, 1% changed: median {m_inc:.2f} s  runs {[round(x, 2) for x in incremental]}")
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        p.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if pg_name:
            admin = sa.create_engine(os.environ["THRESHOLD_TEST_POSTGRES_URL"], isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(sa.text(f'drop database if exists "{pg_name}" with (force)'))
            admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
