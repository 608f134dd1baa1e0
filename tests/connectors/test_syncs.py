"""Databases as sources: a SQLite source table shared in full and incrementally (new and changed rows merged by
key, one snapshot each), a failed sync that changes nothing (dataset and cursor), clear one-line errors, passwords
that never come back out, who may manage a source, lineage to the table, and scheduled syncs as jobs.
On SQLite and PostgreSQL metadata stores."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from threshold.connectors import service as sources
from threshold.connectors.models import SourceConnection, SourceSync
from threshold.errors import Denied, InvalidInput, NotFound, ThresholdError
from threshold.jobs.service import run_due
from threshold.lineage.supply_chain import lineage
from threshold.quality import dataset_checks
from threshold.quality.kinds.base import CheckSpec

ORDERS = [
    (1, "new", 10.5, "2026-01-01 10:00:00"),
    (2, "new", 20.0, "2026-01-02 10:00:00"),
    (3, "paid", 30.0, "2026-01-03 10:00:00"),
]


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as c:
        c.execute(
            "create table orders (id integer primary key, status text, amount numeric(10, 2), updated_at timestamp)"
        )
        c.executemany("insert into orders values (?, ?, ?, ?)", ORDERS)
    return db


def _rows(org: Any, dataset: str) -> list[tuple[Any, ...]]:
    p = org.platform
    with p.store.reader() as s:
        from threshold.store.models import Dataset

        snap = s.scalar(select(Dataset.snapshot_id).where(Dataset.full_name == dataset))
    table = p.lake.load(dataset).scan(snapshot_id=snap).to_arrow().sort_by("id")
    return [tuple(r.values()) for r in table.select(["id", "status"]).to_pylist()]


def _snapshot(org: Any, dataset: str) -> int | None:
    from threshold.store.models import Dataset

    with org.platform.store.reader() as s:
        return s.scalar(select(Dataset.snapshot_id).where(Dataset.full_name == dataset))


def _sql(db: Path, *statements: str) -> None:
    with sqlite3.connect(db) as c:
        for st in statements:
            c.execute(st)


def test_a_table_is_shared_in_full_and_lineage_ends_at_the_source_table(any_org: Any, shop: Path) -> None:
    p, anna = any_org.platform, any_org.anna
    added = sources.add(p, "shop_db", f"sqlite:///{shop}", owner="anna", user=anna)
    assert (added.dialect, added.owner, added.has_password) == ("sqlite", "anna", False)
    assert sources.test(p, "shop_db", user=anna).tables == ["orders"]
    sources.configure(p, "shop_db", dataset="manufacturing.orders", user=anna, table="orders")
    first = sources.run(p, "manufacturing.orders", user=anna)
    assert (first.mode, first.rows_read, first.rows_total) == ("full", 3, 3)
    assert _rows(any_org, "manufacturing.orders") == [(1, "new"), (2, "new"), (3, "paid")]
    # A full sync replaces: a row deleted at the source is gone, in one new snapshot.
    _sql(shop, "delete from orders where id = 1")
    second = sources.run(p, "manufacturing.orders", user=anna)
    assert second.rows_total == 2 and second.snapshot_id != first.snapshot_id
    assert _rows(any_org, "manufacturing.orders") == [(2, "new"), (3, "paid")]
    # The dataset's upstream: the table, then the source system and its owner.
    graph = lineage(p, "manufacturing.orders", direction="upstream", viewer=anna)
    names = {(n.kind, n.name) for n in graph.nodes}
    assert ("table", "shop_db.orders") in names and ("source", "shop_db") in names


def test_an_incremental_sync_merges_new_and_changed_rows_by_key_exactly_once(any_org: Any, shop: Path) -> None:
    p, anna = any_org.platform, any_org.anna
    sources.add(p, "shop_db", f"sqlite:///{shop}", owner="anna", user=anna)
    sources.configure(
        p, "shop_db", dataset="manufacturing.orders", user=anna, table="orders", mode="incremental",
        cursor="updated_at", keys=["id"],
    )  # fmt: skip
    sources.run(p, "manufacturing.orders", user=anna)
    _sql(
        shop,
        "update orders set status = 'paid', updated_at = '2026-01-05 10:00:00' where id = 2",
        "insert into orders values (4, 'new', 40, '2026-01-06 10:00:00')",
    )
    before = _snapshot(any_org, "manufacturing.orders")
    r = sources.run(p, "manufacturing.orders", user=anna)
    assert (r.mode, r.rows_read, r.rows_total) == ("incremental", 2, 4)
    assert r.cursor_value == "2026-01-06 10:00:00"
    assert _rows(any_org, "manufacturing.orders") == [(1, "new"), (2, "paid"), (3, "paid"), (4, "new")]
    table = p.lake.load("manufacturing.orders")
    assert table.snapshot_by_id(r.snapshot_id).parent_snapshot_id == before  # one snapshot for the merge
    # Nothing new: no snapshot at all.
    again = sources.run(p, "manufacturing.orders", user=anna)
    assert (again.rows_read, again.snapshot_id) == (0, None)
    assert _snapshot(any_org, "manufacturing.orders") == r.snapshot_id


def test_a_failed_sync_leaves_the_dataset_and_the_cursor_as_they_were(any_org: Any, shop: Path) -> None:
    p, anna = any_org.platform, any_org.anna
    sources.add(p, "shop_db", f"sqlite:///{shop}", owner="anna", user=anna)
    sources.configure(
        p, "shop_db", dataset="manufacturing.orders", user=anna, table="orders", mode="incremental",
        cursor="updated_at", keys=["id"],
    )  # fmt: skip
    sources.run(p, "manufacturing.orders", user=anna)
    dataset_checks.add(p, anna, "manufacturing.orders", CheckSpec("not_null", {"column": "status"}, blocking=True))
    before = _snapshot(any_org, "manufacturing.orders")
    cursor = _state(any_org)
    # The fault: the new rows break a blocking quality check, so the share is refused after its commit.
    _sql(shop, "insert into orders values (4, null, 40, '2026-01-06 10:00:00')")
    with pytest.raises(ThresholdError) as failed:
        sources.run(p, "manufacturing.orders", user=anna)
    assert "\n" not in str(failed.value)
    assert _snapshot(any_org, "manufacturing.orders") == before
    assert _rows(any_org, "manufacturing.orders") == [(1, "new"), (2, "new"), (3, "paid")]
    assert _state(any_org) == cursor  # the cursor did not move: the next sync reads row 4 again
    shown = sources.show(p, "shop_db", user=anna).syncs[0]
    assert shown.last_status == "failed" and shown.last_error
    # Fixed at the source, the next sync brings it.
    _sql(shop, "update orders set status = 'new' where id = 4")
    assert sources.run(p, "manufacturing.orders", user=anna).rows_total == 4
    # A value the column's type cannot hold fails in extraction, before anything is written.
    _sql(shop, "insert into orders values (5, 'new', 50, 'not a time')")
    with pytest.raises(InvalidInput, match="a value cannot be read as its column's type .*'not a time'"):
        sources.run(p, "manufacturing.orders", user=anna)
    assert _rows(any_org, "manufacturing.orders")[-1] == (4, "new")


def _state(org: Any) -> str | None:
    with org.platform.store.reader() as s:
        return s.scalar(select(SourceSync.cursor_value))


def test_every_failure_is_one_clear_line(any_org: Any, shop: Path) -> None:
    p, anna = any_org.platform, any_org.anna
    sources.add(p, "shop_db", f"sqlite:///{shop}", owner="anna", user=anna)
    cases = [
        ({"table": "missing"}, NotFound, "source shop_db has no table 'missing'"),
        (
            {"table": "orders", "mode": "incremental", "cursor": "nope", "keys": ["id"]},
            InvalidInput,
            "cursor column 'nope'",
        ),
        ({"query": "delete from orders"}, InvalidInput, "one SELECT statement"),
        ({"table": "orders", "query": "select 1"}, InvalidInput, "a table or a query"),
        ({"table": "orders", "mode": "incremental"}, InvalidInput, "needs a cursor column"),
    ]
    for i, (kw, error, message) in enumerate(cases):
        with pytest.raises(error, match=message):
            sources.configure(p, "shop_db", dataset=f"manufacturing.case{i}", user=anna, **kw)
            sources.run(p, f"manufacturing.case{i}", user=anna)
    with pytest.raises(InvalidInput, match="unknown database 'oracle'"):
        sources.add(p, "erp", "oracle://x@y/z", owner="anna", user=anna)
    with pytest.raises(InvalidInput, match="no SQLite file"):
        sources.add(p, "gone", "sqlite:////nonexistent/shop.db", owner="anna", user=anna)
        sources.test(p, "gone", user=anna)
    # A query is synced like a table.
    sources.configure(
        p,
        "shop_db",
        dataset="manufacturing.paid",
        user=anna,
        query="select id, status from orders where status = 'paid'",
    )
    assert sources.run(p, "manufacturing.paid", user=anna).rows_total == 1


def test_a_password_is_stored_encrypted_and_never_shown(any_org: Any) -> None:
    p, anna = any_org.platform, any_org.anna
    secret = "s3cret-Pa55word"
    added = sources.add(p, "erp", f"postgresql://reader:{secret}@127.0.0.1:1/erp", owner="anna", user=anna)
    assert added.url == "postgresql+psycopg://reader@127.0.0.1:1/erp" and added.has_password
    with p.store.reader() as s:
        row = s.scalars(select(SourceConnection)).one()
        raw = " ".join(str(v) for v in s.execute(text("select * from source_connections")).one())
    assert secret not in raw and row.secret and row.secret != secret
    # Nobody listens on port 1: one line, without the password.
    with pytest.raises(ThresholdError) as failed:
        sources.test(p, "erp", user=anna)
    message = str(failed.value)
    assert message.startswith("source erp:") and "\n" not in message and secret not in message
    shown = repr(sources.show(p, "erp", user=anna)) + repr(sources.listing(p, user=anna))
    assert secret not in shown
    # A changed key cannot read it: a clear message, not garbage.
    p.settings.sources.key = "another key"
    with pytest.raises(ThresholdError, match="cannot be decrypted"):
        sources.test(p, "erp", user=anna)


def test_only_the_owner_manages_a_source_and_others_see_no_connection(any_org: Any, shop: Path) -> None:
    p, anna, ben, carla = any_org.platform, any_org.anna, any_org.ben, any_org.carla
    sources.add(p, "shop_db", f"sqlite:///{shop}", owner="anna", user=anna)
    for attempt in (
        lambda: sources.test(p, "shop_db", user=ben),
        lambda: sources.show(p, "shop_db", user=ben),
        lambda: sources.configure(p, "shop_db", dataset="finance.orders", user=ben, table="orders"),
        lambda: sources.remove(p, "shop_db", user=ben),
    ):
        with pytest.raises(Denied, match="only the owner of source system shop_db"):
            attempt()
    (seen,) = sources.listing(p, user=ben)
    assert (seen.name, seen.url, seen.syncs) == ("shop_db", None, [])
    # Anna manages the source but a sync shares into a domain she belongs to.
    with pytest.raises(Denied, match="not a member of domain 'sales'"):
        sources.configure(p, "shop_db", dataset="sales.orders", user=anna, table="orders")
    # Registering a source for someone else needs a domain owner (the rule of source systems).
    with pytest.raises(Denied, match="carla may not register source systems"):
        sources.add(p, "crm", f"sqlite:///{shop}", owner="anna", user=carla)


def test_a_scheduled_sync_runs_as_a_job_when_due(any_org: Any, shop: Path) -> None:
    p, anna = any_org.platform, any_org.anna
    sources.add(p, "shop_db", f"sqlite:///{shop}", owner="anna", user=anna)
    info = sources.configure(p, "shop_db", dataset="manufacturing.orders", user=anna, table="orders", schedule="hourly")
    assert info.schedule == "hourly"
    assert _snapshot(any_org, "manufacturing.orders") is None
    ran = run_due(p, now=p.clock() + timedelta(hours=2), only=[sources.JOB_KIND])
    assert [(o.kind, o.key, o.status) for o in ran] == [(sources.JOB_KIND, "manufacturing.orders", "ok")]
    assert _rows(any_org, "manufacturing.orders") == [(1, "new"), (2, "new"), (3, "paid")]
    sources.remove(p, "shop_db", user=anna)
    assert sources.listing(p, user=anna) == []
    assert _rows(any_org, "manufacturing.orders") == [(1, "new"), (2, "new"), (3, "paid")]  # the dataset stays
