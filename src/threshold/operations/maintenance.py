"""Table maintenance: snapshot expiry and compaction of small files.

Neither ever removes what a reader may still be promised:
- the published snapshot is never expired, nor rewritten in place (compaction publishes a new
  snapshot with the same rows; the old files stay for time travel until they expire);
- time travel: for every moment of the last `time_travel_days` days (0: for ever), the snapshot a
  query `AS OF` that moment reads is kept, with every file it reads;
- snapshots that were never published (abandoned writes) are always fair game.
Both run under the dataset's writer lock; expiry also holds the home's deletion lock shared, so a
running backup never loses a file it is copying.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
from pyiceberg.table import Table
from sqlalchemy import select

from threshold import cleanup, disk, locks
from threshold.errors import InvalidInput, ThresholdError
from threshold.identity.service import Person
from threshold.lake import ReadPlan, _direct_types, _quote_str, field_ids_option, fields_of
from threshold.lakefiles import Inventory, inventory, live_files
from threshold.operations import record
from threshold.operations.permissions import dataset_for, must_operate_home
from threshold.platform import Platform
from threshold.staging import own_folder
from threshold.store.models import Dataset
from threshold.store.published import Published, published_snapshots


@dataclass
class ExpireResult:
    dataset: str
    expired: list[int] = field(default_factory=list)
    kept: int = 0
    removed_files: int = 0
    removed_bytes: int = 0
    cutoff: str | None = None
    """Snapshots published before this moment and no longer read by time travel were expired."""
    skipped: str | None = None


@dataclass
class CompactResult:
    dataset: str
    snapshot_id: int | None = None
    files_before: int = 0
    files_after: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    rows: int = 0
    skipped: str | None = None


def _promise_cutoff(platform: Platform, older_than_days: float | None, now: datetime) -> datetime | None:
    """The moment before which time travel is not promised (None: it is promised for ever)."""
    promise = platform.settings.operations.time_travel_days
    if older_than_days is not None and older_than_days < 0:
        raise InvalidInput("--older-than takes a number of days, 0 or more")
    if promise == 0:
        if older_than_days is not None:
            raise InvalidInput(
                "this home promises time travel to every published snapshot for ever "
                "(THRESHOLD_TIME_TRAVEL_DAYS=0); set a number of days to allow expiring them"
            )
        return None
    days = promise if older_than_days is None else older_than_days
    if days < promise:
        raise InvalidInput(
            f"this home promises {promise} days of time travel (THRESHOLD_TIME_TRAVEL_DAYS); "
            f"--older-than {days:g} would break that promise"
        )
    return now - timedelta(days=days)


def needed_snapshots(published: list[Published], current: int | None, cutoff: datetime | None) -> set[int]:
    """Published snapshots time travel still reads: all of them without a cutoff; else those published
    since, the one readers had at the cutoff, and the current one."""
    if cutoff is None:
        return {p.snapshot_id for p in published} | ({current} if current is not None else set())
    keep = {p.snapshot_id for p in published if p.at >= cutoff}
    before = [p for p in published if p.at < cutoff]
    if before:
        keep.add(before[-1].snapshot_id)
    if current is not None:
        keep.add(current)
    return keep


def expire(
    platform: Platform,
    person: Person,
    dataset: str,
    *,
    older_than_days: float | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> ExpireResult:
    """Expire the snapshots of `dataset` no promise needs any more, and remove the files only they read."""
    now = now or datetime.now(UTC)
    cutoff = _promise_cutoff(platform, older_than_days, now)
    with platform.store.session() as s:
        ident = dataset_for(s, person, dataset, "expire snapshots of").full_name
    result = ExpireResult(ident, cutoff=cutoff.isoformat(timespec="seconds") if cutoff else None)
    with locks.dataset_lock(platform, ident), locks.deletions(platform):
        cleanup.sweep_dataset(platform, ident, locked=True, orphans=False)
        with platform.store.session() as s:
            ds = s.scalars(select(Dataset).where(Dataset.full_name == ident)).one()
            published = published_snapshots(s, ds.id)
            current, rows = ds.snapshot_id, ds.row_count
        lake = platform.lake
        table = lake.load(ident)
        keep = needed_snapshots(published, current, cutoff)
        doomed = sorted(snap.snapshot_id for snap in table.snapshots() if snap.snapshot_id not in keep)
        result.kept = len(table.snapshots()) - len(doomed)
        if not doomed:
            result.skipped = "no snapshot is past what time travel promises"
            return result
        before = inventory(lake, table)
        if dry_run:
            result.expired = doomed
            after_keep = {p for ref in before.data.values() if ref.snapshots & keep for p in [ref.path]}
            gone = [ref for ref in before.data.values() if ref.snapshots and ref.path not in after_keep]
            result.removed_files, result.removed_bytes = len(gone), sum(ref.size for ref in gone)
            return result
        expire_ids(platform, person, ident, doomed, result, current=current, rows=rows, table=table, before=before)
    return result


def expire_ids(
    platform: Platform,
    person: Person | None,
    ident: str,
    doomed: list[int],
    result: ExpireResult,
    *,
    current: int | None,
    rows: int,
    kind: str = "expire",
    table: Table | None = None,
    before: Inventory | None = None,
) -> ExpireResult:
    """`expire_snapshots` on the record as `kind` (retention: `retention.expire`). The caller holds the
    dataset's writer lock and the home's deletion lock (shared)."""
    table = table if table is not None else platform.lake.load(ident)
    removed, removed_bytes = expire_snapshots(platform, ident, table, doomed, before=before)
    result.removed_files += removed
    result.removed_bytes += removed_bytes
    result.expired = doomed
    record.publish(
        platform,
        person,
        ident,
        kind=kind,
        snapshot_id=None,
        previous=current,
        rows_before=rows,
        rows_after=rows,
        size_bytes=None,
        detail={
            "expired": [str(i) for i in doomed],
            "cutoff": result.cutoff,
            "removed_files": result.removed_files,
            "removed_bytes": result.removed_bytes,
        },
    )
    return result


def expire_snapshots(
    platform: Platform, ident: str, table: Table, doomed: list[int], *, before: Inventory | None = None
) -> tuple[int, int]:
    """Expire the snapshots `doomed` of `table` and remove the files no remaining snapshot references
    (data files, manifests, manifest lists). The caller holds the dataset's writer lock and the home's
    deletion lock. Returns (files removed, bytes removed). The one expiry: maintenance and erasure use it."""
    lake = platform.lake
    before = before or inventory(lake, table)
    with lake.writing(ident):
        table.maintenance.expire_snapshots().by_ids(doomed).commit()
    table = table.refresh()
    after = inventory(lake, table).paths()
    removed = removed_bytes = 0
    for path in sorted(before.paths() - after):
        st = lake.files.stat(path)
        if st is None:
            continue
        lake.files.remove(path)
        removed += 1
        removed_bytes += st[0]
    lake.forget(ident)  # cached read plans of expired snapshots name files that are gone
    return removed, removed_bytes


def _connection(platform: Platform, spill: Path) -> duckdb.DuckDBPyConnection:
    """Compaction's own DuckDB: it reads the table's files and writes one new file; users' SQL never runs here."""
    s = platform.settings
    config: dict[str, Any] = {
        "memory_limit": s.limits.share_memory,
        "temp_directory": str(spill),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "preserve_insertion_order": True,
    }
    if s.engine_threads:
        config["threads"] = s.engine_threads
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET TimeZone = 'UTC'")
    return con


def _bins(files: list[tuple[str, Path, int, int]], target: int) -> list[list[tuple[str, Path, int, int]]]:
    """Consecutive small files packed into groups of about `target` bytes; only groups of 2+ are worth it."""
    groups: list[list[tuple[str, Path, int, int]]] = []
    current: list[tuple[str, Path, int, int]] = []
    size = 0
    for f in files:
        if f[2] >= target:  # already large: left as it is
            if len(current) > 1:
                groups.append(current)
            current, size = [], 0
            continue
        if current and size + f[2] > target:
            if len(current) > 1:
                groups.append(current)
            current, size = [], 0
        current.append(f)
        size += f[2]
    if len(current) > 1:
        groups.append(current)
    return groups


def compact(platform: Platform, person: Person, dataset: str, *, target_mb: int | None = None) -> CompactResult:
    """Rewrite the published snapshot's small files into files of about `target_mb` (one new snapshot,
    same rows; older snapshots keep their files for time travel until they expire)."""
    target = (target_mb or platform.settings.operations.compact_target_mb) * 1024 * 1024
    with platform.store.session() as s:
        ident = dataset_for(s, person, dataset, "compact").full_name
    result = CompactResult(ident)
    with locks.dataset_lock(platform, ident):
        cleanup.sweep_dataset(platform, ident, locked=True, orphans=False)
        with platform.store.session() as s:
            ds = s.scalars(select(Dataset).where(Dataset.full_name == ident)).one()
            published, rows = ds.snapshot_id, ds.row_count
        if published is None:
            result.skipped = "nothing published yet"
            return result
        lake = platform.lake
        table = lake.load(ident)
        live = live_files(lake, table, published)
        plan = lake.plan(ident, published)
        order = {p: i for i, p in enumerate(plan.files)}
        files = sorted(
            ((ref.location, ref.path, ref.size, ref.records) for ref in live.values()),
            key=lambda f: order.get(str(f[1]), 0),
        )
        result.files_before, result.bytes_before, result.rows = len(files), sum(f[2] for f in files), rows
        groups = _bins(files, target)
        if not groups:
            result.files_after, result.bytes_after = result.files_before, result.bytes_before
            result.skipped = "no small files to merge"
            return result
        snapshot = table.snapshot_by_id(published)
        assert snapshot is not None
        schema = table.schemas()[snapshot.schema_id] if snapshot.schema_id is not None else table.schema()
        fields = fields_of(schema)
        staging = own_folder(platform.settings.staging_dir / f"compact-{uuid.uuid4().hex}")
        con = _connection(platform, staging / "spill")
        written: list[Path] = []
        try:
            data_dir = lake.table_dir(ident) / "data"
            data_dir.mkdir(parents=True, exist_ok=True)
            for group in groups:
                pin = lake.files.pin(f[1] for f in group)  # kept from the cache's bound while they are read
                try:
                    paths = tuple(str(lake.files.fetch(f[1])) for f in group)
                    part = ReadPlan(ident, published, paths, fields, _direct_types(paths, fields))
                    out = staging / f"{uuid.uuid4().hex}.parquet"
                    disk.check_room(staging, "the home's staging folder", sum(f[2] for f in group))
                    got = con.execute(
                        f"COPY ({part.relation_sql()}) TO {_quote_str(str(out))} (FORMAT parquet, "
                        f"COMPRESSION snappy, ROW_GROUP_SIZE 122880, FIELD_IDS {field_ids_option(schema.fields)})"
                    ).fetchall()
                except duckdb.Error as e:
                    if disk.is_full(e):
                        raise disk.full_error(
                            staging, "the home's staging folder", need=sum(f[2] for f in group)
                        ) from e
                    raise ThresholdError(f"cannot compact {ident}: {str(e).splitlines()[0][:300]}") from e
                finally:
                    pin.release()
                expected = sum(f[3] for f in group)
                if int(got[0][0]) != expected:  # never publish a rewrite that lost or gained rows
                    raise ThresholdError(
                        f"compacting {ident} read {got[0][0]} rows from files that hold {expected}; nothing changed"
                    )
                final = data_dir / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{out.name}"
                written.append(final)
                _move_into(out, final, platform)
            remove = [f[0] for g in groups for f in g]
            try:
                snapshot_id = lake.commit(
                    table.transaction(),
                    table,
                    written,
                    replace=False,
                    remove=remove,
                    properties={"threshold.user": person.name, "threshold.mode": "compact"},
                )
                after = live_files(lake, lake.load(ident), snapshot_id)
                result.snapshot_id = snapshot_id
                result.files_after, result.bytes_after = len(after), sum(r.size for r in after.values())
                record.publish(
                    platform,
                    person,
                    ident,
                    kind="compact",
                    snapshot_id=snapshot_id,
                    previous=published,
                    rows_before=rows,
                    rows_after=rows,
                    size_bytes=result.bytes_after,
                    detail={
                        "files_before": result.files_before,
                        "files_after": result.files_after,
                        "bytes_before": result.bytes_before,
                        "bytes_after": result.bytes_after,
                        "merged": len(remove),
                    },
                )
            except BaseException:
                cleanup.discard_failed(platform, ident, written)
                raise
        finally:
            con.close()
            shutil.rmtree(staging, ignore_errors=True)
    return result


def _move_into(out: Path, final: Path, platform: Platform) -> None:
    """Into the table's folder: a rename on one disk, a copy across disks that leaves nothing when it fails."""
    try:
        shutil.move(str(out), final)
    except OSError as e:
        final.unlink(missing_ok=True)
        if disk.is_full(e):
            raise disk.full_error(platform.settings.warehouse_dir, "the warehouse", need=out.stat().st_size) from e
        raise


def maintain_all(
    platform: Platform, person: Person, *, compact_files: bool = True, expire_snapshots: bool = True
) -> list[CompactResult | ExpireResult]:
    """Compact and expire every dataset (admins): what the scheduled jobs run. A dataset being written is
    skipped, not waited for; one that cannot be maintained (a lost file) is reported and the rest go on."""
    must_operate_home(person, "maintain every dataset")
    with platform.store.session() as s:
        names = list(s.scalars(select(Dataset.full_name).where(Dataset.snapshot_id.is_not(None)).order_by(Dataset.id)))
    done: list[CompactResult | ExpireResult] = []
    for name in names:
        with locks.try_dataset_lock(platform, name) as free:
            if not free:
                done.append(CompactResult(name, skipped="being written"))
                continue
        if compact_files:
            try:
                done.append(compact(platform, person, name))
            except (ThresholdError, OSError) as e:
                done.append(CompactResult(name, skipped=f"not compacted: {e}"))
        if expire_snapshots and platform.settings.operations.time_travel_days > 0:
            try:
                done.append(expire(platform, person, name))
            except (ThresholdError, OSError) as e:
                done.append(ExpireResult(name, skipped=f"not expired: {e}"))
    return done
