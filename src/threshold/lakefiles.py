"""Which files a lake table needs, and which it holds: the inventory behind clean-up, doctor and backup.

A table *references* its current metadata file and the metadata log, each snapshot's manifest list,
the manifests they list and every data or delete file those manifests name (whatever the entry's
status: an older snapshot may still read a file a newer one removed). A table *holds* the files in
its folder. Held but unreferenced files are debris (a failed or killed write); referenced but absent
files are losses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pyiceberg.manifest import DataFileContent, ManifestEntry, ManifestEntryStatus
from pyiceberg.table import Table

if TYPE_CHECKING:
    from threshold.lake import Lake


@dataclass
class DataFileRef:
    """One data file as the table's manifests describe it."""

    location: str
    """As stored (`warehouse://...`)."""
    path: Path
    records: int
    size: int
    snapshots: set[int] = field(default_factory=set)
    """Snapshots that read this file."""


@dataclass
class Inventory:
    """Everything one table references, by kind."""

    metadata: set[Path] = field(default_factory=set)
    manifests: set[Path] = field(default_factory=set)
    data: dict[Path, DataFileRef] = field(default_factory=dict)

    def paths(self) -> set[Path]:
        return self.metadata | self.manifests | set(self.data)


def inventory(lake: Lake, table: Table) -> Inventory:
    """Everything `table` references; each data file with the snapshots that read it."""
    inv = Inventory()
    local = lake.local
    metadata = table.metadata
    inv.metadata.add(local(table.metadata_location))
    inv.metadata.update(local(entry.metadata_file) for entry in metadata.metadata_log)
    for stats in (*metadata.statistics, *metadata.partition_statistics):
        inv.metadata.add(local(stats.statistics_path))
    entries: dict[str, list[ManifestEntry]] = {}  # manifests never change: read each once
    for snapshot in metadata.snapshots:
        inv.manifests.add(local(snapshot.manifest_list))
        for manifest in snapshot.manifests(table.io):
            inv.manifests.add(local(manifest.manifest_path))
            if manifest.manifest_path not in entries:
                entries[manifest.manifest_path] = manifest.fetch_manifest_entry(table.io, discard_deleted=False)
            for entry in entries[manifest.manifest_path]:
                df = entry.data_file
                path = local(df.file_path)
                ref = inv.data.get(path)
                if ref is None:
                    ref = inv.data[path] = DataFileRef(
                        df.file_path, path, int(df.record_count), int(df.file_size_in_bytes)
                    )
                if entry.status != ManifestEntryStatus.DELETED and df.content == DataFileContent.DATA:
                    ref.snapshots.add(snapshot.snapshot_id)
    return inv


def referenced_paths(lake: Lake, table: Table) -> set[Path]:
    """Every file `table` references, as resolved local paths."""
    return {p.resolve() for p in inventory(lake, table).paths()}


def live_files(lake: Lake, table: Table, snapshot_id: int) -> dict[Path, DataFileRef]:
    """The data files one snapshot reads (not the ones it deleted)."""
    out: dict[Path, DataFileRef] = {}
    snapshot = table.snapshot_by_id(snapshot_id)
    if snapshot is None:
        return out
    for manifest in snapshot.manifests(table.io):
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            df = entry.data_file
            path = lake.local(df.file_path)
            out[path] = DataFileRef(df.file_path, path, int(df.record_count), int(df.file_size_in_bytes), {snapshot_id})
    return out


def held_files(lake: Lake, identifier: str) -> list[Path]:
    """Every file in a table's folder."""
    root = lake.table_dir(identifier)
    if not root.is_dir():
        return []
    return [p for p in root.rglob("*") if p.is_file()]
