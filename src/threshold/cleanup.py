"""Crashes clean up after themselves: what a killed or failed write left is removed later, safely.

What a dead writer can leave, and when it goes:
- its staging or upload folder (`home/staging/…`): removed once its owner process is gone;
- a lake table no dataset was ever published for (killed while creating): dropped, files removed;
- a commit that was never published (killed between the Iceberg commit and the publish): rolled
  back, the snapshot expired and the files only it named removed;
- files in a table's folder that no snapshot references (killed between writing and committing):
  removed once older than the grace period.

A dataset is only ever touched while holding its writer lock (taken without waiting: a dataset
being written is skipped), and files of unknown origin only once older than `cleanup_grace_minutes`,
so a running writer is never touched. Shares sweep their own dataset and the staging folder; a
server sweeps the whole home when it starts; `threshold doctor --fix` on demand.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pyiceberg.table import Table
from sqlalchemy import select

from threshold import locks
from threshold.errors import NotFound
from threshold.lakefiles import held_files, inventory
from threshold.platform import Platform
from threshold.staging import clean_staging
from threshold.store.models import Dataset
from threshold.store.published import published_snapshots

if TYPE_CHECKING:
    from threshold.lake import Lake

# --- lake tables -----------------------------------------------------------------------------------


@dataclass
class Sweep:
    """What sweeping one dataset found and did."""

    dataset: str
    busy: bool = False
    """A writer held the dataset: nothing was looked at."""
    dropped_table: bool = False
    """A lake table no dataset was ever published for (a killed create) was dropped."""
    rolled_back: int | None = None
    """The unpublished snapshot that was current and was rolled back."""
    expired: list[int] = field(default_factory=list)
    """Snapshots that were never published, expired."""
    removed: list[Path] = field(default_factory=list)
    removed_bytes: int = 0
    kept_young: int = 0
    """Unreferenced files younger than the grace period, left for a later sweep."""
    dataset_id: int | None = None
    """The dataset's id, when it exists (a share's sweep: what the share builds on)."""
    published: int | None = None
    """The dataset's published snapshot."""
    table: Table | None = None
    """The dataset's lake table as the sweep left it (None when there is none)."""

    @property
    def changed(self) -> bool:
        return bool(self.dropped_table or self.rolled_back or self.expired or self.removed)


def sweep_dataset(
    platform: Platform, identifier: str, *, locked: bool = False, orphans: bool = True, now: float | None = None
) -> Sweep:
    """Remove what dead writers left in one dataset's lake table (see the module's docstring).

    `locked`: the caller holds the writer lock (a share); otherwise it is taken without waiting and a
    busy dataset is skipped. `orphans=False` skips listing the folder for unreferenced files (the cheap
    sweep a share does when nothing was abandoned)."""
    if locked:
        return _sweep(platform, identifier, orphans=orphans, now=now)
    with locks.try_dataset_lock(platform, identifier) as held:
        if not held:
            return Sweep(identifier, busy=True)
        return _sweep(platform, identifier, orphans=orphans, now=now)


def _sweep(platform: Platform, identifier: str, *, orphans: bool, now: float | None) -> Sweep:
    lake = platform.lake
    result = Sweep(identifier)
    now = time.time() if now is None else now
    with platform.store.session() as s:
        ds = s.scalars(select(Dataset).where(Dataset.full_name == identifier)).one_or_none()
        published = ds.snapshot_id if ds else None
        recorded = {p.snapshot_id for p in published_snapshots(s, ds.id)} if ds else set()
        result.dataset_id, result.published = (ds.id if ds else None), published
    try:
        table = lake.load(identifier)
    except NotFound:
        if ds is None and orphans:  # a table folder no table owns (files of a dropped table)
            _remove_files(lake, result, held_files(lake, identifier), now, platform.settings.cleanup_grace_minutes * 60)
            _prune_empty(lake.table_dir(identifier))
        return result
    if ds is None or published is None:
        # Created by a share that died before publishing (we hold its lock: nobody is creating it now).
        doomed = held_files(lake, identifier)
        lake.drop(identifier)
        result.dropped_table = True
        _remove_files(lake, result, doomed, now, 0)
        _prune_empty(lake.table_dir(identifier))
        return result
    current = table.current_snapshot()
    if current is not None and current.snapshot_id != published:
        result.rolled_back = current.snapshot_id
        table = lake.reset_to(table, published)
    keep = recorded | {published} | set(_ancestors(table, published))
    abandoned = sorted(s.snapshot_id for s in table.snapshots() if s.snapshot_id not in keep)
    if abandoned or orphans:
        before = inventory(lake, table).paths()
        if abandoned:
            with lake.writing(identifier):
                table.maintenance.expire_snapshots().by_ids(abandoned).commit()
            table = table.refresh()
            result.expired = abandoned
        after = inventory(lake, table).paths()
        # Files only abandoned snapshots named are known debris of a dead writer: removed at once.
        _remove_files(lake, result, sorted(before - after), now, 0)
        if orphans:
            unreferenced = [p for p in held_files(lake, identifier) if p not in after and p not in before]
            _remove_files(lake, result, unreferenced, now, platform.settings.cleanup_grace_minutes * 60)
    result.table = table
    return result


def _ancestors(table: Table, snapshot_id: int | None) -> Iterator[int]:
    seen = set()
    while snapshot_id is not None and snapshot_id not in seen:
        seen.add(snapshot_id)
        yield snapshot_id
        snap = table.snapshot_by_id(snapshot_id)
        snapshot_id = snap.parent_snapshot_id if snap else None


def _remove_files(lake: Lake, result: Sweep, paths: list[Path], now: float, grace: float) -> None:
    for p in paths:
        st = lake.files.stat(p)
        if st is None:
            continue
        size, mtime = st
        if now - mtime < grace:
            result.kept_young += 1
            continue
        lake.files.remove(p)
        result.removed.append(p)
        result.removed_bytes += size


def _prune_empty(folder: Path) -> None:
    """Remove empty folders under and including `folder`, and its domain folder if that is empty too."""
    if not folder.is_dir():
        return
    for d in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        try:
            d.rmdir()
        except OSError:
            pass
    for d in (folder, folder.parent):
        try:
            d.rmdir()
        except OSError:
            return


def table_folders(platform: Platform) -> list[str]:
    """`domain.name` of every table folder in the warehouse."""
    return platform.lake.files.table_folders()


def sweep_home(platform: Platform, *, now: float | None = None) -> list[Sweep]:
    """Sweep the staging folder and every dataset, lake table and table folder of the home."""
    clean_staging(platform.settings, now=now)
    with platform.store.session() as s:
        names = set(s.scalars(select(Dataset.full_name)))
    names |= set(platform.lake.identifiers()) | set(table_folders(platform))
    return [sweep_dataset(platform, name, now=now) for name in sorted(names)]


def discard_failed(platform: Platform, identifier: str, own: list[Path]) -> None:
    """After a write failed (the caller still holds the writer lock): undo its unpublished commit, expire it,
    and remove its own files unless a published snapshot names them (the failure came after publishing)."""
    sweep_dataset(platform, identifier, locked=True, orphans=False)
    lake = platform.lake
    referenced: set[Path] = set()
    exists = lake.exists(identifier)
    if exists:
        referenced = inventory(lake, lake.load(identifier)).paths()
    for path in own:
        if path not in referenced:
            lake.files.remove(path)
    if not exists:
        _prune_empty(lake.table_dir(identifier))  # a table whose creating commit failed: its folders go too


def sweep_in_background(platform: Platform, report: Callable[[str], None]) -> threading.Thread:
    """Sweep the home in a daemon thread (a server starting up: serving does not wait for it)."""

    def run() -> None:
        try:
            results = sweep_home(platform)
        except Exception as e:  # the sweep is best effort: the next start or share tries again
            report(f"start-up clean-up stopped: {e}")
            return
        changed = [r for r in results if r.changed]
        if changed:
            removed = sum(len(r.removed) for r in changed)
            freed = sum(r.removed_bytes for r in changed)
            report(
                f"start-up clean-up: {len(changed)} datasets had debris of killed writes; "
                f"{removed} files ({freed:,} bytes) removed"
            )

    thread = threading.Thread(target=run, name="threshold-cleanup", daemon=True)
    thread.start()
    return thread
