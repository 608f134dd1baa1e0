"""Source databases on real servers: PostgreSQL (the shared test cluster) and MariaDB (started by
scripts/test-services.sh): their types arrive typed, an incremental sync merges updates, a schema-qualified
table and a query work, and a wrong password is refused in one line that does not repeat it."""

from __future__ import annotations

import datetime as dt
import decimal
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa

from threshold.connectors import service as sources
from threshold.errors import ThresholdError

POSTGRES_URL = os.environ.get("THRESHOLD_TEST_POSTGRES_URL")
MARIADB_URL = os.environ.get("THRESHOLD_TEST_MARIADB_URL")


def _postgres_database() -> str:
    """A fresh database on the test server, the source of one test."""
    assert POSTGRES_URL
    name = f"src_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"


def _drop_postgres_database(url: str) -> None:
    assert POSTGRES_URL
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def _lake(org: Any, dataset: str) -> pa.Table:
    from sqlalchemy import select

    from threshold.store.models import Dataset

    with org.platform.store.reader() as s:
        snap = s.scalar(select(Dataset.snapshot_id).where(Dataset.full_name == dataset))
    return org.platform.lake.load(dataset).scan(snapshot_id=snap).to_arrow().sort_by("id")


@pytest.fixture
def pg_source() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL test server (run scripts/test-services.sh)")
    url = _postgres_database()
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text("create schema shop"))
        c.execute(
            sa.text(
                "create table shop.orders (id bigint primary key, ref uuid, amount numeric(12, 2), "
                "meta jsonb, status text, updated_at timestamptz not null)"
            )
        )
        c.execute(
            sa.text(
                "insert into shop.orders values "
                "(1, '6f1c9a1e-0000-4000-8000-000000000001', 10.50, '{\"a\": 1}', 'new', '2026-01-01 10:00+00'), "
                "(2, '6f1c9a1e-0000-4000-8000-000000000002', 20.00, null, 'new', '2026-01-02 10:00+00')"
            )
        )
    engine.dispose()
    try:
        yield url
    finally:
        _drop_postgres_database(url)


@pytest.mark.postgres
def test_a_postgresql_table_arrives_typed_and_merges_updates(org: Any, pg_source: str) -> None:
    p, anna = org.platform, org.anna
    sources.add(p, "shop_pg", pg_source, owner="anna", user=anna)
    assert sources.test(p, "shop_pg", user=anna).tables == []  # the default schema is empty; shop.orders is named
    sources.configure(
        p, "shop_pg", dataset="manufacturing.orders", user=anna, table="shop.orders", mode="incremental",
        cursor="updated_at", keys=["id"],
    )  # fmt: skip
    first = sources.run(p, "manufacturing.orders", user=anna)
    assert (first.rows_read, first.rows_total) == (2, 2)
    got = _lake(org, "manufacturing.orders")
    assert got.schema.field("amount").type == pa.decimal128(12, 2)
    assert got.schema.field("updated_at").type == pa.timestamp("us", tz="UTC")
    assert got.column("ref").to_pylist()[0] == "6f1c9a1e-0000-4000-8000-000000000001"
    assert got.column("meta").to_pylist() == ['{"a": 1}', None]
    engine = sa.create_engine(pg_source)
    with engine.begin() as c:
        c.execute(sa.text("update shop.orders set status = 'paid', updated_at = '2026-01-03 10:00+00' where id = 1"))
        c.execute(sa.text("insert into shop.orders values (3, null, 5, null, 'new', '2026-01-04 10:00+00')"))
    engine.dispose()
    second = sources.run(p, "manufacturing.orders", user=anna)
    # Read from the last cursor on (`>=`): row 2 again, merged by key to the same row; rows 1 and 3 are news.
    assert (second.rows_read, second.rows_total) == (3, 3)
    got = _lake(org, "manufacturing.orders")
    assert got.column("status").to_pylist() == ["paid", "new", "new"]
    assert got.column("amount").to_pylist() == [
        decimal.Decimal("10.50"),
        decimal.Decimal("20.00"),
        decimal.Decimal("5.00"),
    ]
    # A query is a source too.
    sources.configure(
        p,
        "shop_pg",
        dataset="manufacturing.paid",
        user=anna,
        query="select id, amount from shop.orders where status = 'paid'",
    )
    assert sources.run(p, "manufacturing.paid", user=anna).rows_total == 1


@pytest.fixture
def maria() -> Iterator[str]:
    if not MARIADB_URL:
        pytest.skip("no MariaDB test server (run scripts/test-services.sh)")
    table = f"orders_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(MARIADB_URL.replace("mysql://", "mysql+pymysql://"))
    with engine.begin() as c:
        c.execute(
            sa.text(
                f"create table {table} (id int primary key, status varchar(20), amount decimal(10, 2), "
                "day date, updated_at datetime(6) not null, flag tinyint(1))"
            )
        )
        c.execute(
            sa.text(
                f"insert into {table} values (1, 'new', 10.50, '2026-01-01', '2026-01-01 10:00:00', 1), "
                "(2, 'new', 20.00, '2026-01-02', '2026-01-02 10:00:00', 0)"
            )
        )
    try:
        yield table
    finally:
        with engine.begin() as c:
            c.execute(sa.text(f"drop table if exists {table}"))
        engine.dispose()


def test_a_mariadb_table_syncs_incrementally_and_a_wrong_password_is_not_repeated(org: Any, maria: str) -> None:
    assert MARIADB_URL
    p, anna = org.platform, org.anna
    sources.add(p, "shop_maria", MARIADB_URL, owner="anna", user=anna)
    assert maria in sources.test(p, "shop_maria", user=anna).tables
    sources.configure(
        p, "shop_maria", dataset="manufacturing.orders", user=anna, table=maria, mode="incremental",
        cursor="updated_at", keys=["id"],
    )  # fmt: skip
    assert sources.run(p, "manufacturing.orders", user=anna).rows_total == 2
    got = _lake(org, "manufacturing.orders")
    assert got.schema.field("amount").type == pa.decimal128(10, 2)
    assert got.column("day").to_pylist() == [dt.date(2026, 1, 1), dt.date(2026, 1, 2)]
    engine = sa.create_engine(MARIADB_URL.replace("mysql://", "mysql+pymysql://"))
    with engine.begin() as c:
        c.execute(sa.text(f"update {maria} set status = 'paid', updated_at = '2026-01-05 10:00:00' where id = 2"))
        c.execute(sa.text(f"insert into {maria} values (3, 'new', 1, '2026-01-03', '2026-01-06 10:00:00', 1)"))
    engine.dispose()
    r = sources.run(p, "manufacturing.orders", user=anna)
    assert (r.rows_read, r.rows_total) == (2, 3)
    assert _lake(org, "manufacturing.orders").column("status").to_pylist() == ["new", "paid", "new"]
    # A wrong password: refused by the server, said in one line that does not repeat it.
    wrong = "Wr0ng-Secret-42"
    bad = MARIADB_URL.replace(":threshold-test@", f":{wrong}@")
    sources.add(p, "shop_maria", bad, owner="anna", user=anna, replace=True)
    with pytest.raises(ThresholdError) as failed:
        sources.run(p, "manufacturing.orders", user=anna)
    message = str(failed.value)
    assert "Access denied" in message and wrong not in message and "\n" not in message
    assert wrong not in repr(sources.show(p, "shop_maria", user=anna))
