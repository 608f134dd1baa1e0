"""Repair loses only what is lost: a dataset with a missing or corrupt data file.

`examine` finds every data file the dataset's snapshots read that is gone, truncated or unreadable,
and says which published snapshots it breaks and how many rows each loses. `repair` then either
rolls back to the last published snapshot that reads fully (`rollback`), or drops the lost files'
rows and keeps everything else (`drop-lost`). Either way the result is a new snapshot in the
dataset's history (older snapshots stay for time travel), recorded in the audit log, and the
domain's owners are told.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import select

from threshold import cleanup, locks
from threshold.errors import Conflict, InvalidInput, ThresholdError
from threshold.identity.service import Person
from threshold.lakefiles import DataFileRef, inventory, live_files
from threshold.operations import record
from threshold.operations.permissions import dataset_for
from threshold.platform import Platform
from threshold.storage import WarehouseFiles
from threshold.store.models import Dataset
from threshold.store.published import published_snapshots

HOW = ("rollback", "drop-lost")


@dataclass
class LostFile:
    location: str
    rows: int
    reason: str
    """`missing`, `truncated (… of … bytes)` or `unreadable: …`."""
    snapshots: list[int]


@dataclass
class Affected:
    snapshot_id: int
    at: str
    kind: str
    rows: int
    rows_lost: int
    current: bool


@dataclass
class Damage:
    dataset: str
    snapshot_id: int | None
    rows: int
    lost: list[LostFile] = field(default_factory=list)
    affected: list[Affected] = field(default_factory=list)
    """Published snapshots that read a lost file, newest first."""
    last_readable: int | None = None
    """The newest published snapshot every file of which reads: what `rollback` goes back to."""
    rows_at_last_readable: int = 0
    rows_after_drop: int = 0
    """Rows the current snapshot keeps when the lost files' rows are dropped."""

    @property
    def healthy(self) -> bool:
        return not self.lost

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"healthy": self.healthy}


@dataclass
class RepairResult:
    dataset: str
    how: str
    snapshot_id: int
    previous_snapshot_id: int | None
    rows_before: int
    rows_after: int
    lost_files: list[str]
    owners_told: int


def check_file(ref: DataFileRef, files: WarehouseFiles, *, deep: bool = False) -> str | None:
    """Why a data file cannot be read (None: it reads). `deep` decodes every page, not only the footer. With
    an object store, the object in the store is judged (a copy in this machine's cache does not count)."""
    reason = stored_size_problem(ref, files)
    if reason is not None:
        return reason
    try:
        with files.pin([ref.path]):
            f = pq.ParquetFile(files.fetch(ref.path))
            if f.metadata.num_rows != ref.records:
                return f"holds {f.metadata.num_rows:,} rows, its manifest says {ref.records:,}"
            if deep:
                for i in range(f.num_row_groups):
                    f.read_row_group(i)
    except Exception as e:  # any decoding failure means the file is lost
        return f"unreadable: {str(e).splitlines()[0][:200]}"
    return None


def stored_size_problem(ref: DataFileRef, files: WarehouseFiles) -> str | None:
    """Whether the storage holds the data file at the size its manifest records (None: it does)."""
    try:
        held = files.stat(ref.path, stored=True)
    except ThresholdError as e:
        return f"unreadable: {e}"
    if held is None:
        return "missing"
    if ref.size and held[0] != ref.size:
        return f"truncated or changed ({held[0]:,} of {ref.size:,} bytes)"
    return None


def examine(platform: Platform, person: Person, dataset: str, *, deep: bool = False) -> Damage:
    """Which files of `dataset` are lost, which published snapshots they break, what each repair keeps."""
    with platform.store.session() as s:
        ds = dataset_for(s, person, dataset, "repair")
        ident, current, rows = ds.full_name, ds.snapshot_id, ds.row_count
        published = published_snapshots(s, ds.id)
    return _examine(platform, ident, current, rows, published, deep=deep)


def _examine(
    platform: Platform, ident: str, current: int | None, rows: int, published: list[Any], *, deep: bool
) -> Damage:
    damage = Damage(ident, current, rows)
    lake = platform.lake
    table = lake.load(ident)
    inv = inventory(lake, table)
    lost = {}
    for ref in inv.data.values():
        if not ref.snapshots:
            continue  # named only by snapshots that deleted it: nobody reads it any more
        reason = check_file(ref, lake.files, deep=deep)
        if reason is not None:
            lost[ref.path] = LostFile(ref.location, ref.records, reason, sorted(ref.snapshots))
    damage.lost = sorted(lost.values(), key=lambda f: f.location)
    snapshots = {s.snapshot_id: s for s in table.snapshots()}
    seen: set[int] = set()
    for p in reversed(published):  # newest first
        if p.snapshot_id in seen or p.snapshot_id not in snapshots:
            continue
        seen.add(p.snapshot_id)
        summary = snapshots[p.snapshot_id].summary
        total = int(summary.additional_properties.get("total-records", 0)) if summary else 0
        broken = [f for f in lost.values() if p.snapshot_id in f.snapshots]
        if broken:
            damage.affected.append(
                Affected(
                    p.snapshot_id,
                    p.at.isoformat(timespec="seconds"),
                    p.kind,
                    total,
                    sum(f.rows for f in broken),
                    p.snapshot_id == current,
                )
            )
        elif damage.last_readable is None:
            damage.last_readable, damage.rows_at_last_readable = p.snapshot_id, total
    damage.rows_after_drop = rows - sum(f.rows for f in lost.values() if current in f.snapshots)
    return damage


def repair(platform: Platform, person: Person, dataset: str, *, how: str, deep: bool = False) -> RepairResult:
    """Repair `dataset` (see the module's docstring); refuses when nothing is lost."""
    if how not in HOW:
        raise InvalidInput(f"unknown repair {how!r}; use one of {', '.join(HOW)}")
    with platform.store.session() as s:
        ident = dataset_for(s, person, dataset, "repair").full_name
    with locks.dataset_lock(platform, ident):
        cleanup.sweep_dataset(platform, ident, locked=True, orphans=False)
        with platform.store.session() as s:
            ds = s.scalars(select(Dataset).where(Dataset.full_name == ident)).one()
            current, rows = ds.snapshot_id, ds.row_count
            published = published_snapshots(s, ds.id)
        damage = _examine(platform, ident, current, rows, published, deep=deep)
        if current is None or not any(a.current for a in damage.affected):
            raise Conflict(f"{ident} reads fully: no file its published snapshot reads is lost, nothing to repair")
        lake = platform.lake
        table = lake.load(ident)
        now_live = live_files(lake, table, current)
        lost_now = [f for f in damage.lost if current in f.snapshots]
        if how == "rollback":
            if damage.last_readable is None:
                raise Conflict(
                    f"{ident} has no published snapshot that reads fully; repair with --how drop-lost instead"
                )
            target = live_files(lake, table, damage.last_readable)
            remove = [ref.location for path, ref in now_live.items() if path not in target]
            take_back = _data_files(table, {ref.location for path, ref in target.items() if path not in now_live})
            rows_after = damage.rows_at_last_readable
            summary = f"rolled back to snapshot {damage.last_readable}: {rows - rows_after:,} rows no longer read"
        else:
            remove = [f.location for f in lost_now]
            take_back = []
            rows_after = damage.rows_after_drop
            summary = f"dropped {rows - rows_after:,} rows of {len(lost_now)} lost file(s), kept every other row"
        snapshot_id = lake.commit(
            table.transaction(),
            table,
            [],
            replace=False,
            remove=remove,
            add_existing=take_back,
            properties={"threshold.user": person.name, "threshold.mode": how},
        )
        lake.forget(ident)
        kept = live_files(lake, lake.load(ident), snapshot_id)
        detail: dict[str, Any] = {
            "summary": summary,
            "lost_files": [f.location for f in lost_now],
            "reasons": {f.location: f.reason for f in lost_now},
            "rows_lost": rows - rows_after,
            "to_snapshot": str(damage.last_readable) if how == "rollback" else None,
            "affected_snapshots": [str(a.snapshot_id) for a in damage.affected],
        }
        record.publish(
            platform,
            person,
            ident,
            kind=how,
            snapshot_id=snapshot_id,
            previous=current,
            rows_before=rows,
            rows_after=rows_after,
            size_bytes=sum(r.size for r in kept.values()),
            detail=detail,
        )
    told = record.tell_owners(
        platform,
        ident,
        "dataset.repaired",
        f"{ident} was repaired after losing {len(lost_now)} data file(s)",
        f"{person.name} repaired {ident} ({how}): {summary}. Snapshots that read the lost file(s) stay in the "
        "history but cannot be read; share the lost rows again if you still have them.",
        {"how": how, "rows_lost": rows - rows_after, "snapshot_id": str(snapshot_id)},
    )
    return RepairResult(ident, how, snapshot_id, current, rows, rows_after, detail["lost_files"], told)


def _data_files(table: Any, locations: set[str]) -> list[Any]:
    """The DataFile records of `locations`, as the table's manifests hold them (to take them back)."""
    if not locations:
        return []
    found: dict[str, Any] = {}
    for snapshot in table.snapshots():
        for manifest in snapshot.manifests(table.io):
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=False):
                if entry.data_file.file_path in locations:
                    found.setdefault(entry.data_file.file_path, entry.data_file)
        if len(found) == len(locations):
            break
    return list(found.values())
