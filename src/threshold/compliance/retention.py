"""Retention executed: rows past their dataset's retention period are removed from the lake, and so are the
snapshots that still hold them and the files only those snapshots read.

For each register entry with a retention period, on `today` (the platform's clock):
- with a date column: rows whose column is before `today - period` are deleted with one pyiceberg row delete
  (one atomic commit; files wholly expired are dropped, the others rewritten without those rows), published
  like maintenance (compare-and-set over the published snapshot), then every earlier snapshot is expired and
  the files no remaining snapshot reads are removed (`operations.maintenance.expire_ids`);
- without one: whole snapshots older than the period are expired (never the published one).
A run that fails or is killed before its publication leaves the table as it was (the unpublished commit is
rolled back at once, or by the next writer's sweep). Rows whose date is empty are kept.
Owners are told `retention_notice_days` ahead (rows about to expire, once per period) and after each run
(counts, never values). The time-travel promise (`operations.time_travel_days`) yields to retention.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from threshold import cleanup, locks
from threshold.access import find_dataset, require
from threshold.compliance.models import RegisterEntry, RetentionRun
from threshold.errors import ThresholdError
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.store.models import Column, Dataset

KIND = "compliance.retention"
KEY = "home"
LABEL = "Remove rows past their retention period"
DELETE_MODE = "write.delete.mode"


@dataclass(frozen=True)
class RetentionOutcome:
    dataset: str
    retention: str
    column: str | None
    cutoff: date
    """Rows dated before this day are past their retention."""
    rows_removed: int
    rows_left: int
    snapshots_expired: int = 0
    files_removed: int = 0
    dry_run: bool = False
    snapshot_id: int | None = None
    """The snapshot published without the expired rows (None: nothing was deleted)."""
    skipped: str | None = None


def today_of(platform: Platform) -> date:
    return platform.clock().astimezone(UTC).date()


def run(
    platform: Platform,
    person: Person | None,
    *,
    dataset: str | None = None,
    dry_run: bool = False,
    today: date | None = None,
) -> list[RetentionOutcome]:
    """Execute retention on every dataset with a period (or on `dataset`); `dry_run` counts and changes nothing.
    `person` None: the platform's own job."""
    if person is not None:
        require(person, "compliance.retention.run")
    today = today or today_of(platform)
    with platform.store.session() as s:
        q = (
            select(Dataset.id, Dataset.full_name, RegisterEntry.retention, RegisterEntry.retention_days)
            .join(RegisterEntry, RegisterEntry.dataset_id == Dataset.id)
            .where(RegisterEntry.retention_days.is_not(None), Dataset.snapshot_id.is_not(None))
            .order_by(Dataset.full_name)
        )
        if dataset is not None:
            q = q.where(Dataset.id == find_dataset(s, person, dataset).id)
        entries = [(int(i), str(n), str(r), int(d or 0)) for i, n, r, d in s.execute(q)]
    out = []
    for ds_id, ident, text, days in entries:
        try:
            outcome = _run_one(platform, ds_id, ident, text, today - timedelta(days=days), dry_run)
        except (ThresholdError, OSError) as e:
            outcome = RetentionOutcome(ident, text, None, today - timedelta(days=days), 0, 0, skipped=str(e))
        out.append(outcome)
        if not dry_run:
            _tell_after(platform, ds_id, outcome)
            _notice_ahead(platform, ds_id, ident, text, days, today)
    return out


def _column_of(platform: Platform, ds_id: int) -> tuple[str | None, str | None]:
    with platform.store.session() as s:
        col = s.scalar(select(RegisterEntry.retention_column).where(RegisterEntry.dataset_id == ds_id))
        typ = s.scalar(select(Column.type).where(Column.dataset_id == ds_id, Column.name == col)) if col else None
    return col, typ


def _literal(cutoff: date, column_type: str | None) -> str:
    t = (column_type or "DATE").upper()
    if t == "DATE":
        return cutoff.isoformat()
    if "ZONE" in t:
        return f"{cutoff.isoformat()}T00:00:00+00:00"
    return f"{cutoff.isoformat()}T00:00:00"


def expired_filter(column: str, cutoff: date, column_type: str | None) -> str:
    """A pyiceberg row filter (the column is a lake identifier: lower-case letters, digits, '_')."""
    return f"{column} < '{_literal(cutoff, column_type)}'"


def _run_one(platform: Platform, ds_id: int, ident: str, text: str, cutoff: date, dry_run: bool) -> RetentionOutcome:
    from threshold.operations import record
    from threshold.operations.maintenance import ExpireResult, expire_ids

    column, column_type = _column_of(platform, ds_id)
    lake = platform.lake
    with locks.dataset_lock(platform, ident), locks.deletions(platform):
        cleanup.sweep_dataset(platform, ident, locked=True, orphans=False)
        with platform.store.session() as s:
            ds = s.get(Dataset, ds_id)
            assert ds is not None
            published, rows = ds.snapshot_id, int(ds.row_count)
        table = lake.load(ident)
        removed, new_snapshot = 0, None
        if column is not None:
            doomed_rows = expired_filter(column, cutoff, column_type)
            removed = _count(table, published, column, doomed_rows)
            if dry_run:
                return RetentionOutcome(ident, text, column, cutoff, removed, rows - removed, dry_run=True)
            if removed:
                new_snapshot = _delete(platform, ident, table, doomed_rows, published)
                try:
                    record.publish(
                        platform,
                        None,
                        ident,
                        kind="retention",
                        snapshot_id=new_snapshot,
                        previous=published,
                        rows_before=rows,
                        rows_after=rows - removed,
                        size_bytes=None,
                        detail={"cutoff": cutoff.isoformat(), "column": column, "rows_removed": removed},
                    )
                except BaseException:
                    cleanup.sweep_dataset(platform, ident, locked=True, orphans=False)  # back to as it was
                    raise
                _forget_values(platform, ds_id)
                published, rows = new_snapshot, rows - removed
            anchor = new_snapshot or _last_anchor(platform, ds_id)
            doomed = _before(lake.load(ident), anchor, published)
        else:
            doomed = _older(lake.load(ident), cutoff, published)
            if dry_run:
                return RetentionOutcome(ident, text, None, cutoff, 0, rows, len(doomed), dry_run=True)
        expired = ExpireResult(ident, cutoff=cutoff.isoformat())
        if doomed:
            expire_ids(platform, None, ident, doomed, expired, current=published, rows=rows, kind="retention.expire")
        outcome = RetentionOutcome(
            ident, text, column, cutoff, removed, rows, len(expired.expired), expired.removed_files, False, new_snapshot
        )
        with platform.store.session() as s:
            s.add(
                RetentionRun(
                    dataset_id=ds_id,
                    kind="run",
                    ran_at=platform.clock(),
                    cutoff=cutoff,
                    rows_removed=removed,
                    rows_left=rows,
                    snapshot_before=None if new_snapshot is None else _parent(lake, ident, new_snapshot),
                    snapshot_after=new_snapshot,
                    snapshots_expired=outcome.snapshots_expired,
                    files_removed=outcome.files_removed,
                )
            )
        return outcome


def _count(table: Any, snapshot_id: int | None, column: str, condition: Any) -> int:
    if snapshot_id is None:
        return 0
    scan = table.scan(row_filter=condition, selected_fields=(column,), snapshot_id=snapshot_id)
    return sum(batch.num_rows for batch in scan.to_arrow_batch_reader())


def _delete(platform: Platform, ident: str, table: Any, condition: Any, published: int | None) -> int:
    """One atomic commit without the expired rows; its snapshot id (not yet published)."""
    table = platform.lake.reset_to(table, published)
    tx = table.transaction()
    if table.properties.get(DELETE_MODE) != "copy-on-write":
        tx.set_properties({DELETE_MODE: "copy-on-write"})  # the rows are gone from the files, not masked
    tx.delete(delete_filter=condition, snapshot_properties={"threshold.user": "retention"})
    with platform.lake.writing(ident):
        tx.commit_transaction()
    current = table.refresh().current_snapshot()
    assert current is not None
    return int(current.snapshot_id)


def _parent(lake: Any, ident: str, snapshot_id: int) -> int | None:
    snap = lake.load(ident).snapshot_by_id(snapshot_id)
    return snap.parent_snapshot_id if snap else None


def _last_anchor(platform: Platform, ds_id: int) -> int | None:
    """The snapshot of the last run that removed rows: snapshots before it may still hold them."""
    with platform.store.session() as s:
        return s.scalar(
            select(RetentionRun.snapshot_after)
            .where(RetentionRun.dataset_id == ds_id, RetentionRun.kind == "run", RetentionRun.rows_removed > 0)
            .order_by(RetentionRun.id.desc())
            .limit(1)
        )


def _before(table: Any, anchor: int | None, current: int | None) -> list[int]:
    """Snapshots committed up to `anchor` (the delete's intermediate ones included), never the current one."""
    snap = table.snapshot_by_id(anchor) if anchor is not None else None
    if snap is None:
        return []
    keep = {current, anchor}
    return sorted(
        x.snapshot_id for x in table.snapshots() if x.timestamp_ms <= snap.timestamp_ms and x.snapshot_id not in keep
    )


def _older(table: Any, cutoff: date, current: int | None) -> list[int]:
    limit = datetime.combine(cutoff, datetime.min.time(), UTC).timestamp() * 1000
    return sorted(x.snapshot_id for x in table.snapshots() if x.timestamp_ms < limit and x.snapshot_id != current)


def _forget_values(platform: Platform, ds_id: int) -> None:
    """The catalog's profile of personal columns may quote values of removed rows: it is cleared."""
    from threshold.compliance.register import personal_columns

    with platform.store.session() as s:
        personal, _ = personal_columns(s, ds_id)
        for col in s.scalars(select(Column).where(Column.dataset_id == ds_id, Column.name.in_(personal))):
            col.min_value = None
            col.max_value = None
            col.top_values = []


def _tell_after(platform: Platform, ds_id: int, o: RetentionOutcome) -> None:
    from threshold.operations.record import tell_owners

    if o.skipped:
        title = f"Retention of {o.dataset} could not run: {o.skipped}"[:300]
    elif not (o.rows_removed or o.snapshots_expired):
        return
    else:
        title = (
            f"Retention ({o.retention}) removed {o.rows_removed} rows of {o.dataset} dated before {o.cutoff}"
            f", {o.snapshots_expired} older snapshots and {o.files_removed} files"
        )
    data = {"rows_removed": o.rows_removed, "rows_left": o.rows_left, "cutoff": o.cutoff.isoformat()}
    tell_owners(platform, o.dataset, "retention.done", title, "", data)


def _notice_ahead(platform: Platform, ds_id: int, ident: str, text: str, days: int, today: date) -> None:
    """Tell owners about rows that reach the end of their retention within the notice period (once per period)."""
    from threshold.operations.record import tell_owners

    ahead = platform.settings.compliance.retention_notice_days
    column, column_type = _column_of(platform, ds_id)
    if not ahead or column is None:
        return
    with platform.store.session() as s:
        last = s.scalar(
            select(RetentionRun.ran_at)
            .where(RetentionRun.dataset_id == ds_id, RetentionRun.kind == "notice")
            .order_by(RetentionRun.id.desc())
            .limit(1)
        )
        published = s.scalar(select(Dataset.snapshot_id).where(Dataset.id == ds_id))
    if last is not None and (last.replace(tzinfo=last.tzinfo or UTC)).date() > today - timedelta(days=ahead):
        return
    now_cut, later_cut = today - timedelta(days=days), today + timedelta(days=ahead) - timedelta(days=days)
    soon = f"{column} >= '{_literal(now_cut, column_type)}' and {column} < '{_literal(later_cut, column_type)}'"
    count = _count(platform.lake.load(ident), published, column, soon)
    if not count:
        return
    by = today + timedelta(days=ahead)
    title = f"{count} rows of {ident} reach the end of their retention ({text}) by {by.isoformat()}"
    tell_owners(platform, ident, "retention.notice", title, "", {"rows": count, "by": by.isoformat()})
    with platform.store.session() as s:
        s.add(
            RetentionRun(dataset_id=ds_id, kind="notice", ran_at=platform.clock(), cutoff=later_cut, rows_removed=count)
        )


def history(platform: Platform, person: Person, dataset: str, *, limit: int = 100) -> list[RetentionRun]:
    """Runs and notices of a dataset the person may know, newest first."""
    with platform.store.session() as s:
        ds = find_dataset(s, person, dataset)
        return list(
            s.scalars(
                select(RetentionRun)
                .where(RetentionRun.dataset_id == ds.id)
                .order_by(RetentionRun.id.desc())
                .limit(limit)
            )
        )


def plan_from_settings(platform: Platform) -> None:
    from threshold.errors import InvalidInput
    from threshold.jobs import service as jobs

    with platform.store.session() as s:
        try:
            jobs.plan(s, KIND, KEY, platform.settings.compliance.retention_schedule, label=LABEL, now=platform.clock())
        except InvalidInput as e:
            raise InvalidInput(f"THRESHOLD_COMPLIANCE__RETENTION_SCHEDULE: {e}") from None


def retention_jobs(platform: Platform, keys: Sequence[str]) -> dict[str, Any]:
    outcomes = run(platform, None)
    summary = {
        "datasets": len(outcomes),
        "rows_removed": sum(o.rows_removed for o in outcomes),
        "snapshots_expired": sum(o.snapshots_expired for o in outcomes),
        "not_done": [f"{o.dataset}: {o.skipped}" for o in outcomes if o.skipped][:20],
    }
    return dict.fromkeys(keys, summary)
