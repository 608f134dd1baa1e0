"""Which files a lake table needs, and which it holds: the inventory behind clean-up, doctor and backup.

A table *needs* its current metadata file and the metadata log, each snapshot's manifest list, the
manifests they list and every data file some snapshot reads (a file a newer snapshot deleted is
still read by the older ones; once those are expired, nobody reads it). A table *holds* the files in
its folder. Held but unneeded files are debris (a failed or killed write, an expired snapshot);
needed but absent files are losses.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyiceberg.avro.decoder import new_decoder
from pyiceberg.avro.file import AvroFile
from pyiceberg.avro.reader import Reader
from pyiceberg.avro.resolver import resolve_reader
from pyiceberg.io import FileIO
from pyiceberg.manifest import (
    DEFAULT_READ_VERSION,
    MANIFEST_ENTRY_SCHEMAS,
    MANIFEST_LIST_FILE_SCHEMAS,
    DataFile,
    DataFileContent,
    FileFormat,
    ManifestContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
    PartitionFieldSummary,
    _inherit_from_manifest,
)
from pyiceberg.schema import Schema
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
        """The files some snapshot needs: metadata, manifests, and the data files a snapshot reads (a data
        file only named as deleted by every snapshot that mentions it is read by none)."""
        return self.metadata | self.manifests | {p for p, ref in self.data.items() if ref.snapshots}


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
        for manifest in manifest_list(table.io, snapshot.manifest_list):
            inv.manifests.add(local(manifest.manifest_path))
            if manifest.manifest_path not in entries:
                entries[manifest.manifest_path] = manifest_entries(table.io, manifest)
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
    for manifest in manifest_list(table.io, snapshot.manifest_list):
        for entry in manifest_entries(table.io, manifest):
            if entry.status == ManifestEntryStatus.DELETED:
                continue
            df = entry.data_file
            path = lake.local(df.file_path)
            out[path] = DataFileRef(df.file_path, path, int(df.record_count), int(df.file_size_in_bytes), {snapshot_id})
    return out


def held_files(lake: Lake, identifier: str) -> list[Path]:
    """Every file in a table's folder (in the object store, when the warehouse is on one)."""
    return lake.files.listing(lake.table_dir(identifier))


class _AvroFile(AvroFile):  # type: ignore[type-arg]
    """pyiceberg's Avro reader with its costly part, turning the file's schema into a reader, done once per
    schema: every manifest list (and every manifest) of a format version has the same one. A doctor or a
    backup reads thousands of these files."""

    _resolved: dict[tuple[str, str], tuple[Schema, Reader]] = {}

    def __init__(self, kind: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._kind = kind

    def __enter__(self) -> _AvroFile:
        with self.input_file.open() as f:
            self.decoder = new_decoder(f.read())
        self.header = _header_reader().read(self.decoder)
        key = (self._kind, str(self.header.meta.get("avro.schema", "")))
        hit = self._resolved.get(key)
        if hit is None:
            schema = self.header.get_schema()
            reader = resolve_reader(schema, self.read_schema or schema, self.read_types, self.read_enums)
            hit = self._resolved[key] = (schema, reader)
        self.schema, self.reader = hit
        self.read_schema = self.read_schema or self.schema
        return self


@functools.cache
def _header_reader() -> Reader:
    from pyiceberg.avro.file import META_SCHEMA, AvroFileHeader
    from pyiceberg.avro.resolver import construct_reader

    return construct_reader(META_SCHEMA, {-1: AvroFileHeader})


def manifest_list(io: FileIO, location: str) -> list[ManifestFile]:
    """The manifests a snapshot's manifest list names (as `Snapshot.manifests`, faster)."""
    with _AvroFile(
        "manifest-list",
        io.new_input(location),
        MANIFEST_LIST_FILE_SCHEMAS[DEFAULT_READ_VERSION],
        read_types={-1: ManifestFile, 508: PartitionFieldSummary},
        read_enums={517: ManifestContent},
    ) as reader:
        return list(reader)


def manifest_entries(io: FileIO, manifest: ManifestFile) -> list[ManifestEntry]:
    """Every entry of a manifest, deleted ones included (as `fetch_manifest_entry(discard_deleted=False)`)."""
    with _AvroFile(
        "manifest",
        io.new_input(manifest.manifest_path),
        MANIFEST_ENTRY_SCHEMAS[DEFAULT_READ_VERSION],
        read_types={-1: ManifestEntry, 2: DataFile},
        read_enums={0: ManifestEntryStatus, 101: FileFormat, 134: DataFileContent},
    ) as reader:
        return [_inherit_from_manifest(entry, manifest) for entry in reader]
