"""Retention executed: exactly the expired rows are removed (counts, and the rows kept are byte-identical by
checksum), the snapshots still holding them are expired and their files removed, owners are told before and
after (counts, never values), a dry run changes nothing, and a run killed after its commit leaves the table
as readers had it. The clock is injected: no test waits. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from threshold.compliance import retention
from threshold.errors import Denied
from threshold.notifications.service import inbox
from threshold.sharing.service import share

TODAY = date(2026, 6, 1)
START = date(2023, 1, 1)


def _csv(n: int = 240) -> str:
    lines = ["Customer Name,E-Mail,Amount,Signed Up"]
    for i in range(n):
        day = START + timedelta(days=6 * i)  # 2023-01-01 .. about 2026-12
        lines.append(f"Person {i},person{i}@example.com,{i * 1.5},{day.isoformat()}")
    return "\n".join(lines) + "\n"


def _share(org: Any, tmp: Any, *, retention_text: str = "1y") -> None:
    path = tmp / "customers.csv"
    path.write_text(_csv(), encoding="utf-8")
    collection = {"legal_basis": "contract", "retention": retention_text, "retention_column": "signed_up"}
    share(org.platform, path, domain="manufacturing", user=org.anna, collection=collection)


def _rows(platform: Any, snapshot_id: int | None = None) -> pa.Table:
    table = platform.lake.load("manufacturing.customers")
    with platform.store.session() as s:
        from threshold.store.models import Dataset

        published = s.query(Dataset.snapshot_id).filter(Dataset.full_name == "manufacturing.customers").scalar()
    return table.scan(snapshot_id=snapshot_id or published).to_arrow()


def _checksum(t: pa.Table) -> str:
    rows = sorted(zip(*(t.column(c).to_pylist() for c in t.column_names), strict=True), key=lambda r: r[0])
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _at(platform: Any, day: date) -> None:
    platform.clock = lambda: datetime(day.year, day.month, day.day, 3, tzinfo=UTC)


def test_a_run_removes_exactly_the_expired_rows_and_the_snapshots_that_held_them(any_org: Any, tmp_path: Any) -> None:
    p = any_org.platform
    _share(any_org, tmp_path)
    _share_again = tmp_path / "more.csv"
    _share_again.write_text("Customer Name,E-Mail,Amount,Signed Up\nLate Person,late@example.com,1.0,2026-05-30\n")
    share(p, _share_again, domain="manufacturing", name="customers", mode="append", user=any_org.anna)
    before = _rows(p)
    cutoff = TODAY - timedelta(days=365)
    kept = before.filter(pa.compute.greater_equal(before.column("signed_up"), pa.scalar(cutoff)))
    expired = before.num_rows - kept.num_rows
    assert 0 < expired < before.num_rows

    _at(p, TODAY)
    dry = retention.run(p, any_org.admin, dry_run=True)
    [d] = [o for o in dry if o.dataset == "manufacturing.customers"]
    assert (d.rows_removed, d.rows_left, d.dry_run) == (expired, kept.num_rows, True)
    assert _rows(p).num_rows == before.num_rows  # nothing changed

    [o] = [o for o in retention.run(p, any_org.admin) if o.dataset == "manufacturing.customers"]
    assert (o.rows_removed, o.rows_left, o.cutoff) == (expired, kept.num_rows, cutoff)
    after = _rows(p)
    assert after.num_rows == kept.num_rows
    assert _checksum(after) == _checksum(kept)
    assert min(after.column("signed_up").to_pylist()) >= cutoff
    # The share, the append and the delete's own intermediate snapshot are expired: only the result is left,
    # and no file of the table folder is read by no snapshot.
    table = p.lake.load("manufacturing.customers")
    assert [s.snapshot_id for s in table.snapshots()] == [o.snapshot_id]
    assert o.snapshots_expired >= 2 and o.files_removed >= 2
    live = {t.file.file_path for t in table.scan().plan_files()}
    on_disk = {str(f) for f in (p.lake.table_dir("manufacturing.customers") / "data").rglob("*.parquet")}
    assert len(on_disk) == len(live)
    # Owners are told what was removed: counts, never a value.
    told = [m for m in inbox(p, any_org.anna) if m.kind == "retention.done"]
    assert told and f"removed {expired} rows of manufacturing.customers dated before {cutoff}" in told[0].title
    assert "@" not in repr(told)
    # A second run the same day finds nothing more to remove.
    [again] = [o for o in retention.run(p, any_org.admin) if o.dataset == "manufacturing.customers"]
    assert (again.rows_removed, again.snapshots_expired) == (0, 0)
    runs = retention.history(p, any_org.anna, "manufacturing.customers")
    assert [(r.kind, r.rows_removed) for r in runs if r.kind == "run"] == [("run", 0), ("run", expired)]


def test_owners_are_told_ahead_once_per_notice_period(any_org: Any, tmp_path: Any) -> None:
    p = any_org.platform
    p.settings.compliance.retention_notice_days = 30
    _share(any_org, tmp_path, retention_text="3y")  # cutoff 2023-06-02: rows up to 2023-07-02 expire within 30 days
    _at(p, TODAY)
    retention.run(p, None)
    notices = [m for m in inbox(p, any_org.anna) if m.kind == "retention.notice"]
    assert len(notices) == 1
    assert notices[0].title == "5 rows of manufacturing.customers reach the end of their retention (3y) by 2026-07-01"
    retention.run(p, None, today=TODAY + timedelta(days=1))
    assert len([m for m in inbox(p, any_org.anna) if m.kind == "retention.notice"]) == 1


def test_a_run_killed_after_its_commit_leaves_the_table_as_readers_had_it(any_org: Any, tmp_path: Any) -> None:
    p = any_org.platform
    _share(any_org, tmp_path)
    before = _rows(p)
    ident = "manufacturing.customers"
    cutoff = TODAY - timedelta(days=365)
    table = p.lake.load(ident)
    published = table.current_snapshot().snapshot_id
    # The delete committed to Iceberg, then the process died before publishing it.
    orphan = retention._delete(p, ident, table, retention.expired_filter("signed_up", cutoff, "DATE"), published)
    assert orphan != published
    assert _checksum(_rows(p)) == _checksum(before)  # readers read the published snapshot
    [o] = [o for o in retention.run(p, any_org.admin, today=TODAY) if o.dataset == ident]
    kept = before.filter(pa.compute.greater_equal(before.column("signed_up"), pa.scalar(cutoff)))
    assert (o.rows_removed, _checksum(_rows(p))) == (before.num_rows - kept.num_rows, _checksum(kept))
    assert orphan not in {s.snapshot_id for s in p.lake.load(ident).snapshots()}


def test_only_the_governance_group_runs_retention(any_org: Any) -> None:
    with pytest.raises(Denied, match="carla is not in the governance group"):
        retention.run(any_org.platform, any_org.carla)


def test_the_retention_job_is_planned_daily(any_org: Any) -> None:
    from threshold.jobs import service as jobs

    retention.plan_from_settings(any_org.platform)
    [job] = jobs.listing(any_org.platform, kind=retention.KIND)
    assert job.schedule == "daily"
