"""Queries through the gateway: same answers as plain DuckDB, and one usage event per query that
holds who, how, why, what (datasets and columns), how much, and never a literal value."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from sqlalchemy import select, update

from threshold.access.reading import Decision
from threshold.errors import Denied, InvalidInput, NotFound
from threshold.gateway import service as gateway_service
from threshold.gateway.service import query
from threshold.sharing.service import share
from threshold.store.models import Share, UsageEvent, UsageRead

PLANT_COLUMNS = ["day", "e_mail", "energy_kwh", "operator_name", "plant", "scrap_rate"]


def _orders() -> pa.Table:
    n = 24
    return pa.table(
        {
            "order_id": list(range(1, n + 1)),
            "customer_id": [1 + (i * 7) % 6 for i in range(1, n + 1)],
            "amount": [round(10 + (i * 37) % 200 + 0.25 * (i % 4), 2) for i in range(1, n + 1)],
            "status": [("paid", "paid", "refunded", "open")[i % 4] for i in range(1, n + 1)],
            "ordered_at": [dt.date(2026, 1, 1) + dt.timedelta(days=(i * 5) % 90) for i in range(1, n + 1)],
            "note": [None if i % 5 == 0 else f"note {i}" for i in range(1, n + 1)],
        }
    )


def _customers() -> pa.Table:
    return pa.table(
        {
            "customer_id": list(range(1, 8)),
            "name": ["Ada", "Bo", "Cy", "Di", "Ed", "Flo", "Gus"],
            "country": ["DE", "FR", "PT", "DE", "FR", "ES", "IT"],
        }
    )


@pytest.fixture(scope="module")
def sales(module_org: Any) -> Any:
    """module_org plus sales.orders and sales.customers, shared from Arrow tables."""
    share(module_org.platform, _orders(), domain="sales", name="orders", user=module_org.admin)
    share(module_org.platform, _customers(), domain="sales", name="customers", user=module_org.admin)
    return module_org


@pytest.fixture(scope="module")
def plain() -> Any:
    """Plain DuckDB holding the same tables under the same names."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA sales")
    for name, table in (("orders", _orders()), ("customers", _customers())):
        con.register(f"src_{name}", table)
        con.execute(f"CREATE TABLE sales.{name} AS SELECT * FROM src_{name}")
    yield con
    con.close()


def _normal(value: Any) -> Any:
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    return value


def _rows(table: pa.Table) -> list[list[Any]]:
    return _normal([list(r) for r in zip(*(c.to_pylist() for c in table.columns), strict=True)])


# Each query runs through the gateway and on plain DuckDB; results (names and values) must be equal.
SAME_AS_DUCKDB = [
    "SELECT * FROM sales.orders ORDER BY order_id",
    "SELECT o.order_id, o.amount FROM sales.orders AS o WHERE o.amount > 100 ORDER BY o.order_id",
    "SELECT o.order_id, o.amount FROM sales.orders o WHERE o.amount > 100 ORDER BY 1",
    "SELECT orders.order_id, orders.status FROM sales.orders WHERE orders.status = 'paid' ORDER BY 1",
    "SELECT sales.orders.order_id FROM sales.orders WHERE sales.orders.note IS NULL ORDER BY 1",
    "SELECT a.order_id, b.order_id AS later FROM sales.orders a JOIN sales.orders b "
    "ON a.customer_id = b.customer_id AND a.order_id < b.order_id ORDER BY 1, 2",
    "SELECT c.country, sum(o.amount) AS total, count(*) AS n FROM sales.orders o "
    "JOIN sales.customers c USING (customer_id) GROUP BY ALL ORDER BY ALL",
    "SELECT c.name, count(o.order_id) AS orders FROM sales.customers c "
    "LEFT JOIN sales.orders o ON o.customer_id = c.customer_id GROUP BY c.name ORDER BY c.name",
    "WITH big AS (SELECT * FROM sales.orders WHERE amount > 100) "
    "SELECT c.name, count(*) AS n FROM big JOIN sales.customers c ON big.customer_id = c.customer_id "
    "GROUP BY c.name ORDER BY 1",
    "WITH orders AS (SELECT * FROM sales.orders WHERE status = 'open') SELECT count(*) FROM orders",
    "SELECT name FROM sales.customers WHERE customer_id IN "
    "(SELECT customer_id FROM sales.orders WHERE status = 'refunded') ORDER BY 1",
    "SELECT order_id FROM sales.orders o WHERE amount > "
    "(SELECT avg(amount) FROM sales.orders i WHERE i.customer_id = o.customer_id) ORDER BY 1",
    "SELECT name, (SELECT max(amount) FROM sales.orders o WHERE o.customer_id = c.customer_id) AS top "
    "FROM sales.customers c ORDER BY 1",
    "SELECT name FROM sales.customers c WHERE NOT EXISTS "
    "(SELECT 1 FROM sales.orders o WHERE o.customer_id = c.customer_id) ORDER BY 1",
    "SELECT order_id, sum(amount) OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) AS running, "
    "rank() OVER (ORDER BY amount DESC) AS r FROM sales.orders ORDER BY 1",
    "SELECT date_trunc('month', ordered_at) AS month, count(*) AS n, round(avg(amount), 2) AS mean "
    "FROM sales.orders GROUP BY month ORDER BY month",
    "SELECT extract(month FROM ordered_at) AS m, strftime(ordered_at, '%Y/%m') AS ym FROM sales.orders "
    "ORDER BY order_id",
    "SELECT customer_id FROM sales.orders UNION SELECT customer_id FROM sales.customers ORDER BY 1",
    "SELECT customer_id FROM sales.customers EXCEPT SELECT customer_id FROM sales.orders",
    "SELECT status, country, sum(amount) AS s FROM sales.orders JOIN sales.customers USING (customer_id) "
    "GROUP BY ROLLUP (status, country) ORDER BY status NULLS FIRST, country NULLS FIRST",
    "SELECT order_id, CASE WHEN amount >= 150 THEN 'large' WHEN amount >= 50 THEN 'medium' ELSE 'small' END "
    "AS size, upper(status) || '-' || coalesce(note, '?') AS label FROM sales.orders ORDER BY 1",
    "SELECT * FROM sales.orders ORDER BY amount DESC, order_id LIMIT 5 OFFSET 3",
    "FROM sales.orders SELECT status, count(*) GROUP BY status ORDER BY status",
    "SELECT status, list(order_id ORDER BY order_id) AS ids FROM sales.orders GROUP BY status ORDER BY 1",
    "SELECT * FROM (SELECT customer_id, count(*) AS n FROM sales.orders GROUP BY 1) t "
    "JOIN sales.customers USING (customer_id) WHERE n > 3 ORDER BY 1",
    "SELECT max(COLUMNS(* EXCLUDE (note))) FROM sales.orders",
    "SELECT order_id FROM sales.orders QUALIFY row_number() OVER (PARTITION BY status ORDER BY amount) = 1 ORDER BY 1",
    "SELECT i, (SELECT count(*) FROM sales.orders WHERE customer_id = i) AS n FROM range(1, 8) t(i) ORDER BY i",
]


def test_the_homes_keep_their_warehouse_where_the_variant_says(sales: Any, platform: Any, warehouse: str) -> None:
    """The local tests read homes on local disk; the `[s3]` variant (tests/s3homes.py) reads homes whose
    warehouse is on the S3 server, the module's own home included (built again for the variant)."""
    assert sales.platform.settings.storage.kind == platform.settings.storage.kind == warehouse
    if warehouse == "s3":
        from pyarrow.fs import FileSelector

        from s3homes import BUCKET, fs

        prefix = f"{BUCKET}/{sales.platform.settings.storage.prefix}"
        held = [f.path for f in fs().get_file_info(FileSelector(prefix, recursive=True))]
        assert any(p.endswith(".parquet") and "/sales/orders/" in p for p in held), held


@pytest.mark.parametrize("sql", SAME_AS_DUCKDB)
def test_same_result_as_plain_duckdb(sql: str, sales: Any, plain: Any) -> None:
    got = query(sales.platform, sql, user=sales.ben, max_rows=None).table
    want = plain.sql(sql).to_arrow_table()
    assert got.column_names == want.column_names
    assert _rows(got) == _rows(want)
    assert got.num_rows > 0


# ----------------------------------------------------------------------------------------- usage events


def _event(org: Any, event_id: int | None) -> tuple[UsageEvent, dict[str, UsageRead]]:
    assert event_id is not None
    with org.platform.store.session() as s:
        event = s.get(UsageEvent, event_id)
        assert event is not None
        s.expunge(event)
        reads = list(s.scalars(select(UsageRead).where(UsageRead.event_id == event_id)))
        for r in reads:
            s.expunge(r)
        from threshold.store.models import Dataset

        names = dict(s.execute(select(Dataset.id, Dataset.full_name)).all())
    return event, {names[r.dataset_id]: r for r in reads}


def _last_event(org: Any) -> tuple[UsageEvent, dict[str, UsageRead]]:
    with org.platform.store.session() as s:
        last = s.scalar(select(UsageEvent.id).order_by(UsageEvent.id.desc()).limit(1))
    return _event(org, last)


def test_a_query_records_who_how_why_what_and_how_much(module_org: Any) -> None:
    org = module_org
    result = query(
        org.platform,
        "SELECT plant, avg(scrap_rate) AS scrap FROM manufacturing.plant_kpis GROUP BY plant",
        user=org.ben,
        purpose="  monthly scrap review  ",
        interface="cli",
    )
    event, reads = _event(org, result.event_id)
    assert result.table.num_rows == 3
    assert result.datasets == ["manufacturing.plant_kpis"]
    assert (event.user_id, event.interface, event.purpose, event.status) == (
        org.ben.id,
        "cli",
        "monthly scrap review",
        "ok",
    )
    assert event.rows == 3
    assert event.error is None
    assert 0 < event.duration_ms < 60_000
    assert result.duration_ms == pytest.approx(event.duration_ms, abs=0.001)  # one measurement, not two
    assert list(reads) == ["manufacturing.plant_kpis"]
    assert reads["manufacturing.plant_kpis"].columns == ["plant", "scrap_rate"]
    assert event.at is not None


@pytest.mark.parametrize(
    ("sql", "columns"),
    [
        (
            "SELECT plant, avg(scrap_rate) FROM manufacturing.plant_kpis GROUP BY plant",
            ["plant", "scrap_rate"],
        ),
        ("SELECT * FROM manufacturing.plant_kpis", PLANT_COLUMNS),
        ("SELECT count(*) FROM manufacturing.plant_kpis", []),
        ("SELECT k.e_mail FROM manufacturing.plant_kpis k WHERE k.plant = 'Lyon'", ["e_mail", "plant"]),
        (
            "SELECT plant_kpis.day FROM manufacturing.plant_kpis ORDER BY plant_kpis.energy_kwh",
            ["day", "energy_kwh"],
        ),
        ("SELECT manufacturing.plant_kpis.day FROM manufacturing.plant_kpis", ["day"]),
        (
            "SELECT * EXCLUDE (e_mail) FROM manufacturing.plant_kpis",
            [c for c in PLANT_COLUMNS if c != "e_mail"],
        ),
        ("SELECT COLUMNS('e_.*') FROM manufacturing.plant_kpis", PLANT_COLUMNS),  # COLUMNS(): counted as all
        ("WITH k AS (SELECT plant, day FROM manufacturing.plant_kpis) SELECT plant FROM k", ["day", "plant"]),
        (
            "SELECT a.plant FROM manufacturing.plant_kpis a JOIN manufacturing.plant_kpis b ON a.day = b.day",
            ["day", "plant"],
        ),
    ],
)
def test_columns_read(sql: str, columns: list[str], module_org: Any) -> None:
    result = query(module_org.platform, sql, user=module_org.ben)
    _, reads = _event(module_org, result.event_id)
    assert reads["manufacturing.plant_kpis"].columns == columns


def test_columns_read_per_dataset_in_a_join(sales: Any) -> None:
    result = query(
        sales.platform,
        "SELECT c.country, sum(o.amount) FROM sales.orders o JOIN sales.customers c "
        "ON o.customer_id = c.customer_id GROUP BY c.country",
        user=sales.carla,
    )
    event, reads = _event(sales, result.event_id)
    assert result.datasets == ["sales.customers", "sales.orders"]
    assert {name: r.columns for name, r in reads.items()} == {
        "sales.customers": ["country", "customer_id"],
        "sales.orders": ["amount", "customer_id"],
    }
    assert event.user_id == sales.carla.id


def test_the_usage_log_never_holds_a_literal(module_org: Any) -> None:
    """anna reads her own domain's personal data (others may see it masked)."""
    sql = (
        "SELECT plant, operator_name FROM manufacturing.plant_kpis "
        "WHERE e_mail = 'anna.schmidt@example.com' AND scrap_rate > 0.1134 AND day >= DATE '2026-01-02' "
        "/* asked by anna.schmidt@example.com */ -- anna.schmidt@example.com"
    )
    result = query(module_org.platform, sql, user=module_org.anna)
    assert result.table.to_pylist() == [{"plant": "Berlin", "operator_name": "Anna Schmidt"}]
    event, _ = _event(module_org, result.event_id)
    for value in ("anna.schmidt", "example.com", "0.1134", "2026-01-02", "1134"):
        assert value not in event.query_text, event.query_text
    assert "e_mail = ?" in event.query_text
    assert "manufacturing.plant_kpis" in event.query_text


def test_same_shape_same_fingerprint_other_shape_other_fingerprint(module_org: Any) -> None:
    org = module_org

    def fp(sql: str) -> str:
        event, _ = _event(org, query(org.platform, sql, user=org.ben).event_id)
        return event.fingerprint

    a = fp("SELECT plant FROM manufacturing.plant_kpis WHERE e_mail = 'anna.schmidt@example.com' LIMIT 10")
    b = fp("SELECT plant FROM manufacturing.plant_kpis WHERE e_mail = 'jean.dupont@example.fr' LIMIT 3")
    c = fp("select  plant\nfrom MANUFACTURING.PLANT_KPIS where e_mail='x@y.z' /* note */ limit 1")
    d = fp("SELECT plant FROM manufacturing.plant_kpis WHERE operator_name = 'Anna Schmidt' LIMIT 10")
    e = fp("SELECT plant, day FROM manufacturing.plant_kpis WHERE e_mail = 'anna.schmidt@example.com' LIMIT 10")
    assert a == b == c
    assert len({a, d, e}) == 3
    assert len(a) == 32


def test_a_refused_query_is_recorded_without_text(module_org: Any) -> None:
    org = module_org
    with pytest.raises(InvalidInput, match="table functions are not allowed"):
        query(org.platform, "SELECT * FROM read_csv('/etc/passwd')", user=org.ben, purpose="curiosity")
    event, reads = _last_event(org)
    assert (event.status, event.error, event.rows) == ("error", "InvalidInput", 0)
    assert (event.user_id, event.purpose, event.interface) == (org.ben.id, "curiosity", "python")
    assert event.query_text == "" and event.fingerprint == ""
    assert reads == {}


def test_an_unparseable_query_is_recorded_without_text(module_org: Any) -> None:
    with pytest.raises(InvalidInput, match=r"the query cannot be read: .* \(line 1, column \d+\)"):
        query(module_org.platform, "SELECT FROM WHERE 'anna.schmidt@example.com' ((", user=module_org.ben)
    event, _ = _last_event(module_org)
    assert (event.status, event.query_text, event.fingerprint) == ("error", "", "")


def test_an_unknown_dataset_is_named_and_recorded_with_stripped_text(module_org: Any) -> None:
    with pytest.raises(InvalidInput) as e:
        query(
            module_org.platform,
            "SELECT * FROM manufacturing.nope WHERE x = 'secret-value'",
            user=module_org.ben,
        )
    assert str(e.value) == "unknown dataset manufacturing.nope"
    event, reads = _last_event(module_org)
    assert event.status == "error"
    assert event.query_text == "SELECT * FROM manufacturing.nope WHERE x = ?"
    assert reads == {}


def test_a_failing_query_is_recorded_with_the_datasets_it_named(module_org: Any) -> None:
    with pytest.raises(InvalidInput, match=r"there is no column “no_such_column” .* \(line 1, column 8\)"):
        query(module_org.platform, "SELECT no_such_column FROM manufacturing.plant_kpis", user=module_org.ben)
    event, reads = _last_event(module_org)
    assert (event.status, event.error) == ("error", "InvalidInput")
    assert list(reads) == ["manufacturing.plant_kpis"]
    assert reads["manufacturing.plant_kpis"].columns == []


def test_a_denied_query_names_the_rule_and_is_recorded_as_denied(
    module_org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    decide = gateway_service.decide

    def deny(*args: Any, **kwargs: Any) -> list[Decision]:
        closed = {"allowed": False, "rule": "test.closed", "reason": "closed for this test"}
        return [dataclasses.replace(d, **closed) for d in decide(*args, **kwargs)]

    monkeypatch.setattr(gateway_service, "decide", deny)
    with pytest.raises(Denied) as e:
        query(
            module_org.platform,
            "SELECT e_mail FROM manufacturing.plant_kpis WHERE e_mail = 'anna.schmidt@example.com'",
            user=module_org.ben,
        )
    assert str(e.value) == "ben may not read manufacturing.plant_kpis (rule test.closed): closed for this test"
    event, reads = _last_event(module_org)
    assert (event.status, event.error, event.rows) == ("denied", "Denied", 0)
    assert "anna.schmidt" not in event.query_text
    assert list(reads) == ["manufacturing.plant_kpis"]


def test_max_rows_truncates_and_says_so(module_org: Any) -> None:
    org = module_org
    sql = "SELECT plant, scrap_rate, day FROM manufacturing.plant_kpis ORDER BY day, plant"
    cut = query(org.platform, sql, user=org.ben, max_rows=2)
    assert (cut.table.num_rows, cut.truncated) == (2, True)
    assert cut.notes == ["showing the first 2 rows"]
    assert cut.table["plant"].to_pylist() == ["Berlin", "Lyon"]
    event, _ = _event(org, cut.event_id)
    assert event.rows == 2
    exact = query(org.platform, sql, user=org.ben, max_rows=5)
    assert (exact.table.num_rows, exact.truncated, exact.notes) == (5, False, [])
    unlimited = query(org.platform, sql, user=org.ben, max_rows=None)
    assert (unlimited.table.num_rows, unlimited.truncated) == (5, False)
    default = query(org.platform, sql, user=org.ben)  # the configured limit, far above 5
    assert (default.table.num_rows, default.truncated) == (5, False)


def test_unknown_interface_is_refused(module_org: Any) -> None:
    with pytest.raises(InvalidInput, match="unknown interface"):
        query(module_org.platform, "SELECT 1", user=module_org.ben, interface="telnet")


# ----------------------------------------------------------------------------------------- time travel


def test_time_travel_by_version_and_by_timestamp(org: Any) -> None:
    platform = org.platform
    with platform.store.session() as s:
        first = s.scalars(select(Share.snapshot_id)).one()
        s.execute(update(Share).values(at=dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.UTC)))
    share(platform, org.plant_kpis_csv, domain="manufacturing", name="plant_kpis", mode="append", user=org.anna)
    with platform.store.session() as s:
        second = s.scalars(select(Share.snapshot_id).where(Share.snapshot_id != first)).one()
        s.execute(update(Share).where(Share.snapshot_id == second).values(at=dt.datetime(2026, 2, 10, tzinfo=dt.UTC)))

    def count(sql: str) -> int:
        return int(query(platform, sql, user=org.ben).table.column(0)[0].as_py())

    assert count("SELECT count(*) FROM manufacturing.plant_kpis") == 10
    assert count(f"SELECT count(*) FROM manufacturing.plant_kpis FOR VERSION AS OF {first}") == 5
    assert count(f"SELECT count(*) FROM manufacturing.plant_kpis AT (VERSION => {second})") == 10
    assert count("SELECT count(*) FROM manufacturing.plant_kpis FOR TIMESTAMP AS OF '2026-01-20'") == 5
    assert count("SELECT count(*) FROM manufacturing.plant_kpis FOR TIMESTAMP AS OF '2026-02-10 00:00:00'") == 10
    assert count("SELECT count(*) FROM manufacturing.plant_kpis FOR TIMESTAMP AS OF '2026-01-10T13:00:00+01:00'") == 5
    # The old and the new snapshot side by side in one query.
    both = query(
        platform,
        f"SELECT (SELECT count(*) FROM manufacturing.plant_kpis FOR VERSION AS OF {first}) AS old_rows, "
        "(SELECT count(*) FROM manufacturing.plant_kpis) AS new_rows",
        user=org.ben,
    )
    assert both.table.to_pylist() == [{"old_rows": 5, "new_rows": 10}]

    with pytest.raises(NotFound, match="had no data yet"):
        query(platform, "SELECT * FROM manufacturing.plant_kpis FOR TIMESTAMP AS OF '2026-01-09'", user=org.ben)
    with pytest.raises(NotFound, match=f"has no snapshot {first + 1}"):
        query(platform, f"SELECT * FROM manufacturing.plant_kpis FOR VERSION AS OF {first + 1}", user=org.ben)
    with pytest.raises(InvalidInput, match="as a time"):
        query(platform, "SELECT * FROM manufacturing.plant_kpis FOR TIMESTAMP AS OF 'yesterday'", user=org.ben)


def test_the_usage_log_records_the_snapshot_a_time_travel_read(org: Any) -> None:
    platform = org.platform
    with platform.store.session() as s:
        first = s.scalars(select(Share.snapshot_id)).one()
    share(platform, org.plant_kpis_csv, domain="manufacturing", name="plant_kpis", mode="append", user=org.anna)
    result = query(platform, f"SELECT count(*) FROM manufacturing.plant_kpis FOR VERSION AS OF {first}", user=org.ben)
    _, reads = _event(org, result.event_id)
    assert reads["manufacturing.plant_kpis"].snapshot_id == first, (
        "a time-travel read must be recorded at the snapshot it read, not the current one"
    )
