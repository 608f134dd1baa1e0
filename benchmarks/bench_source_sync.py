"""Databases as sources: a full sync of a table against the extractor alone, and an incremental sync of 1% of
its rows changed; on PostgreSQL both against `COPY (SELECT ...) TO STDOUT` into DuckDB alone, and both ways of
extracting (the driver's rows into Arrow in Python, and `connectors/postgres_copy.py`).

    .venv/bin/python benchmarks/bench_source_sync.py [--rows 1000000] [--runs 3] [--source sqlite|postgres]

The source table (id, customer, amount numeric(12,2), status, updated_at) is built once in a temporary SQLite
file (default) or, with `--source postgres`, in a fresh database on THRESHOLD_TEST_POSTGRES_URL. Each run, in
the same process and alternating: (PostgreSQL) the baseline, psycopg's `COPY (SELECT * FROM orders) TO STDOUT
(FORMAT csv)` into a temporary file and DuckDB's `read_csv` of it into a table; the extractor alone (Arrow in
memory, what any loader must do), through the driver and (PostgreSQL) through COPY; then `threshold source sync`
in full (extract + share: Parquet, Iceberg commit, profile, detection, publish), with each extractor.
Then, before each incremental sync, 1% of the rows get a newer `updated_at` and the sync merges the rows at or
past its cursor (the last 1% again and the new 1%; copy on write of the table); the baseline reads the same
rows with the same query (`WHERE updated_at >= cursor ORDER BY updated_at`).
Prints medians of wall and CPU time (this process's, all its threads; the server's own CPU is not in either),
the ratios to the baseline, and the load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import psycopg
import sqlalchemy as sa

from threshold.connectors import dialects, extract, postgres_copy
from threshold.connectors import service as sources
from threshold.connectors.models import SourceSync
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


def copy_into_duckdb(url: str, work: Path, after: dt.datetime | None) -> int:
    """The baseline: COPY's CSV streamed to a file, then DuckDB alone reads it into a table; returns the rows."""
    where = " where updated_at >= %(after)s order by updated_at" if after is not None else ""
    path = work / "baseline.csv"
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn, conn.cursor() as cur:
        sql = f"COPY (select id, customer, amount, status, updated_at from orders{where}) TO STDOUT (FORMAT csv)"
        with cur.copy(sql, {"after": after} if after is not None else None) as copy, path.open("wb") as out:
            for data in copy:
                out.write(data)
    with duckdb.connect() as db:
        db.execute(
            "create table orders as select * from read_csv(?, header = false, nullstr = '', columns = {"
            "'id': 'BIGINT', 'customer': 'VARCHAR', 'amount': 'DECIMAL(12, 2)', 'status': 'VARCHAR', "
            "'updated_at': 'TIMESTAMP'})",
            [str(path)],
        )
        (rows,) = db.execute("select count(*) from orders").fetchone() or (0,)
    path.unlink()
    return int(rows)


class Timings:
    """Wall and CPU seconds of each run of one step."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self) -> Timings:
        self._t, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall.append(time.perf_counter() - self._t)
        self.cpu.append(time.process_time() - self._c)

    def median(self) -> tuple[float, float]:
        return statistics.median(self.wall), statistics.median(self.cpu)

    def line(self, label: str, base: Timings | None) -> str:
        w, c = self.median()
        text = f"{label:<44} wall {w:6.2f} s  CPU {c:6.2f} s  runs {[round(x, 2) for x in self.wall]}"
        if base is not None and base.wall:
            bw, bc = base.median()
            text += f"  / baseline: wall {w / bw:.2f}  CPU {c / max(bc, 1e-9):.2f}"
        return text


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
        pg = args.source == "postgres"
        ways = ("driver", "copy") if pg else ("driver",)
        base_full, base_inc = Timings(), Timings()
        extractor = {w: Timings() for w in ways}
        full = {w: Timings() for w in ways}
        incremental = {w: Timings() for w in ways}
        limits = p.settings.sources
        for _ in range(args.runs):
            if pg:
                with base_full:
                    assert copy_into_duckdb(url, work, None) == args.rows
            for way in ways:
                limits.postgres_copy = way == "copy"
                engine = dialects.engine(target.dialect, target.url, target.password, limits)
                req = extract.Request("shop", table="orders")
                with extractor[way]:
                    got = (
                        postgres_copy.extract(engine, req, limits, p.settings.staging_dir)
                        if way == "copy"
                        else extract.extract(engine, req, limits)
                    )
                engine.dispose()
                assert got is not None and got.rows == args.rows
                del got
            for way in ways:
                limits.postgres_copy = way == "copy"
                with full[way]:
                    r = sources.run(p, "sales.orders", user=anna)
                assert r.rows_total == args.rows
        sources.configure(
            p,
            "shop",
            dataset="sales.orders",
            user=anna,
            table="orders",
            mode="incremental",
            cursor="updated_at",
            keys=["id"],
        )
        sources.run(p, "sales.orders", user=anna, full=True)  # sets the cursor
        touched = 0
        for _ in range(args.runs):
            for way in ways:
                touch(url, args.rows, touched)
                touched += 1
                if pg and way == "copy":
                    with p.store.reader() as s:
                        state = s.scalar(sa.select(SourceSync.cursor_value).where(SourceSync.dataset == "sales.orders"))
                    with base_inc:
                        assert copy_into_duckdb(url, work, extract.cursor_value(state)) >= args.rows // 100
                limits.postgres_copy = way == "copy"
                with incremental[way]:
                    r = sources.run(p, "sales.orders", user=anna)
                assert r.rows_total == args.rows and r.rows_read >= args.rows // 100
        print(f"source {args.source}, {args.rows:,} rows, medians of {args.runs} alternating runs")
        if pg:
            print(base_full.line("baseline full: COPY -> CSV -> DuckDB table", None))
        for way in ways:
            print(extractor[way].line(f"extractor alone ({way}) to Arrow", base_full if pg else None))
        for way in ways:
            print(full[way].line(f"full sync ({way}: extract + share)", base_full if pg else None))
        if pg:
            print(base_inc.line("baseline incremental: COPY WHERE >= cursor", None))
        for way in ways:
            print(incremental[way].line(f"incremental sync ({way}), 1% changed", base_inc if pg else None))
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
    main()
