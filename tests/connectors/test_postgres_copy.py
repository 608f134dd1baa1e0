"""PostgreSQL's COPY path (connectors/postgres_copy.py) gives exactly the Arrow table of the driver path: every
type the other tests cover, NULLs against empty strings, quotes, commas, newlines and non-ASCII in text, numerics
at 38 digits, time zones; a table it cannot read exactly falls back; a limit crossed mid-copy changes nothing and
leaves no file behind."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa

from threshold.connectors import dialects, extract, postgres_copy
from threshold.connectors import service as sources
from threshold.errors import ThresholdError, TooLarge
from threshold.settings import SourcesSettings

from .test_servers import _drop_postgres_database, _lake, _postgres_database

pytestmark = pytest.mark.postgres

COLUMNS = (
    "id bigint primary key, n int, s smallint, flag boolean, r real, d double precision, big numeric(38, 10), "
    "amount numeric(12, 2), note text, code varchar(20), ch char(3), day date, at time, ts timestamp, "
    "tstz timestamptz, ref uuid, doc json, docb jsonb, raw bytea"
)
ROWS = (
    "(1, 7, -3, true, 0.1, 0.1, 1234567890123456789012345678.0123456789, 10.50, 'plain', 'a', 'x', '2026-01-01', "
    "'10:00:00.25', '2026-01-01 10:00:00.5', '2026-01-01 10:00+02', '6f1c9a1e-0000-4000-8000-000000000001', "
    """'{"a": 1,  "b": [1, 2.5, "x"]}', '{"ü": "é", "n": null}', '\\x00ff0a'), """
    "(2, null, null, false, -1.5e30, 1e-300, -9999999999999999999999999999.9999999999, -0.01, '', '', '', "
    "'0001-01-01', '23:59:59.999999', '1970-01-01 00:00:00', '2026-07-01 10:00:00.123456 Europe/Berlin', null, "
    "'[]', '[1, {\"x\": \"a,b\\\"c\"}]', ''), "
    "(3, 2147483647, 32767, null, 'NaN', 'Infinity', 0, 0, 'quote \" comma , newline \n crlf \r\n tab \t end', "
    "'ünïcødé 日本 🙂', null, null, null, null, '1999-12-31 23:59:59.999999-08', null, null, null, null), "
    "(4, null, null, null, null, '-Infinity', null, null, null, null, null, null, null, null, "
    "'2026-01-03 00:00+00', null, null, null, null), "
    "(5, 0, 0, true, -0, -0, 0.0000000001, 999999999.99, 'NULL', '\\N', '\"\"', '9999-12-31', '00:00:00', "
    "'2000-02-29 12:00:00', '2026-01-03 00:00+00', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'null', '{}', '\\x')"
)


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not os.environ.get("THRESHOLD_TEST_POSTGRES_URL"):
        pytest.skip("no PostgreSQL test server (run scripts/test-services.sh)")
    url = _postgres_database()
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text(f"create table kinds ({COLUMNS})"))
        c.execute(sa.text(f"insert into kinds values {ROWS}"))
        c.execute(sa.text("create table listy (id int, tags text[])"))
        c.execute(sa.text("insert into listy values (1, '{a,b}')"))
        c.execute(sa.text("create table forever (id int, at timestamp, amount numeric(5, 1))"))
        c.execute(sa.text("insert into forever values (1, 'infinity', 1), (2, '2026-01-01', 'NaN')"))
        c.execute(sa.text("create table many (id int primary key, v text)"))
        c.execute(sa.text("insert into many select i, repeat('x', 100) from generate_series(1, 2000) i"))
    engine.dispose()
    try:
        yield url
    finally:
        _drop_postgres_database(url)


def _both(url: str, req: extract.Request, tmp_path: Path) -> tuple[extract.Extracted, extract.Extracted | None]:
    target = dialects.parse(url)
    limits = SourcesSettings()
    engine = dialects.engine(target.dialect, target.url, target.password, limits)
    try:
        return extract.extract(engine, req, limits), postgres_copy.extract(engine, req, limits, tmp_path)
    finally:
        engine.dispose()


def _exactly(table: pa.Table) -> str:
    """Every value with its type, NaN equal to NaN and -0.0 apart from 0.0 (Table.equals has neither)."""
    return repr(table.to_pylist())


@pytest.mark.parametrize(
    "cursor, after",
    [
        (None, None),
        ("tstz", None),
        ("tstz", dt.datetime(2026, 1, 2, tzinfo=dt.UTC)),
        ("amount", None),
        ("id", 3),
    ],
)
def test_copy_gives_the_drivers_arrow_table_exactly(pg_url: str, tmp_path: Path, cursor: Any, after: Any) -> None:
    ordinary, copied = _both(pg_url, extract.Request("src", table="kinds", cursor=cursor, after=after), tmp_path)
    assert copied is not None
    assert copied.table.schema == ordinary.table.schema
    assert _exactly(copied.table) == _exactly(ordinary.table)
    assert (copied.rows, copied.cursor_max) == (ordinary.rows, ordinary.cursor_max)
    if after is None and cursor is None:
        got = copied.table.to_pylist()
        assert copied.rows == 5
        assert got[1]["note"] == "" and got[3]["note"] is None and got[4]["note"] == "NULL"
        assert got[2]["note"] == 'quote " comma , newline \n crlf \r\n tab \t end'
        assert got[0]["tstz"] == dt.datetime(2026, 1, 1, 8, 0, tzinfo=dt.UTC)
        assert copied.table.schema.field("big").type == pa.decimal128(38, 10)
        assert got[0]["raw"] == b"\x00\xff\x0a" and got[1]["raw"] == b""
        assert got[0]["r"] == 0.1 and got[3]["d"] == float("-inf")
    assert list(os.scandir(tmp_path)) == []  # the CSV file is gone


def test_an_empty_read_and_an_all_null_column_match_too(pg_url: str, tmp_path: Path) -> None:
    for req in (
        extract.Request("src", table="kinds", cursor="id", after=99),
        extract.Request("src", table="kinds", cursor="id", after=3),  # ref, doc: all NULL from here
    ):
        ordinary, copied = _both(pg_url, req, tmp_path)
        assert copied is not None
        assert copied.table.schema == ordinary.table.schema
        assert _exactly(copied.table) == _exactly(ordinary.table)


def test_a_table_with_a_type_copy_cannot_read_exactly_falls_back(pg_url: str, tmp_path: Path) -> None:
    ordinary, copied = _both(pg_url, extract.Request("src", table="listy"), tmp_path)
    assert copied is None and ordinary.table.column("tags").to_pylist() == ['["a", "b"]']
    # A value CSV cannot give exactly: the copy answers None, and the driver path says what it says today.
    for cursor, after, refused in (("id", None, "timestamp too large"), ("id", 2, "cannot be converted")):
        req = extract.Request("src", table="forever", cursor=cursor, after=after)
        target = dialects.parse(pg_url)
        limits = SourcesSettings()
        engine = dialects.engine(target.dialect, target.url, target.password, limits)
        try:
            assert postgres_copy.extract(engine, req, limits, tmp_path) is None
            with pytest.raises(ThresholdError, match=refused):
                extract.extract(engine, req, limits)
        finally:
            engine.dispose()
    assert list(os.scandir(tmp_path)) == []


@pytest.mark.parametrize(
    "limit, message",
    [
        ({"max_rows": 1500}, "more than 1,500 rows (THRESHOLD_SOURCES__MAX_ROWS); nothing was changed"),
        ({"max_bytes": 100_000}, "more than 100,000 bytes read (THRESHOLD_SOURCES__MAX_BYTES); nothing was changed"),
    ],
)
def test_a_limit_crossed_mid_copy_changes_nothing_and_leaves_no_file(
    org: Any, pg_url: str, limit: dict[str, int], message: str
) -> None:
    p, anna = org.platform, org.anna
    engine = sa.create_engine(pg_url)
    with engine.begin() as c:
        c.execute(sa.text("delete from many where id > 1000"))
    sources.add(p, "shop_pg", pg_url, owner="anna", user=anna)
    sources.configure(
        p, "shop_pg", dataset="manufacturing.many", user=anna, table="many", mode="incremental", cursor="id",
        keys=["id"],
    )  # fmt: skip
    assert sources.run(p, "manufacturing.many", user=anna).rows_total == 1000
    before = sources.show(p, "shop_pg", user=anna)
    with engine.begin() as c:
        c.execute(sa.text("insert into many select i, repeat('y', 100) from generate_series(1001, 3000) i"))
    engine.dispose()
    for key, value in limit.items():
        setattr(p.settings.sources, key, value)
    with pytest.raises(TooLarge) as failed:
        sources.run(p, "manufacturing.many", user=anna)
    assert str(failed.value) == f"source shop_pg: {message}"
    lake = _lake(org, "manufacturing.many")
    assert lake.num_rows == 1000 and set(lake.column("v").to_pylist()) == {"x" * 100}
    after = sources.show(p, "shop_pg", user=anna)
    assert [s.cursor_value for s in after.syncs] == [s.cursor_value for s in before.syncs] == ["1000"]
    staging = p.settings.staging_dir
    assert not any(f.name.startswith("source-copy-") for f in staging.iterdir()) if staging.exists() else True


def test_a_source_error_mid_copy_is_one_line_and_changes_nothing(org: Any, pg_url: str) -> None:
    p, anna = org.platform, org.anna
    engine = sa.create_engine(pg_url)
    with engine.begin() as c:  # a view whose 1,500th row fails on the server, after rows were streamed
        c.execute(sa.text("create view shaky as select id, (10 / (id - 1500))::int as x from many"))
    sources.add(p, "shop_pg", pg_url, owner="anna", user=anna)
    sources.configure(p, "shop_pg", dataset="manufacturing.shaky", user=anna, table="shaky")
    with pytest.raises(ThresholdError) as failed:
        sources.run(p, "manufacturing.shaky", user=anna)
    engine.dispose()
    message = str(failed.value)
    assert message.startswith("source shop_pg: division by zero") and "\n" not in message
    assert sources.show(p, "shop_pg", user=anna).syncs[0].last_error == message
    staging = p.settings.staging_dir
    assert not any(f.name.startswith("source-copy-") for f in staging.iterdir()) if staging.exists() else True


def test_the_statement_timeout_ends_a_copy(pg_url: str, tmp_path: Path) -> None:
    engine = sa.create_engine(pg_url)
    with engine.begin() as c:
        c.execute(sa.text("create view slow as select m.id from many m, pg_sleep(5)"))
    engine.dispose()
    target = dialects.parse(pg_url)
    limits = SourcesSettings(statement_timeout_seconds=0.3)
    engine = dialects.engine(target.dialect, target.url, target.password, limits)
    try:
        with pytest.raises(ThresholdError) as failed:
            postgres_copy.extract(engine, extract.Request("src", table="slow"), limits, tmp_path)
    finally:
        engine.dispose()
    assert str(failed.value) == "source src: canceling statement due to statement timeout"
    assert list(os.scandir(tmp_path)) == []
