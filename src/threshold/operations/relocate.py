"""Make a table from before relocatable homes relative: the same snapshots, ids and files, new metadata.

Such a table names its files by absolute `file://` paths under the warehouse it was created in.
Relocating writes new manifests, manifest lists and a new metadata file in which every location
is `warehouse://…`, then moves the catalog's pointer to it (compare-and-set, under the dataset's
writer lock). Data files are not touched; snapshot ids stay, so history and time travel are as they
were. The old metadata files stay until the clean-up removes them. It works in a copy of such a
home too: the absolute paths are read in the warehouse of the home that is open.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyiceberg.avro.file import AvroFile, AvroOutputFile
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.schema import Schema
from pyiceberg.typedef import Record
from sqlalchemy import text, update

from threshold import locks, warehouse
from threshold.errors import Conflict, InvalidInput
from threshold.platform import Platform


def absolute_tables(platform: Platform) -> list[str]:
    """Tables whose catalog pointer is still an absolute location."""
    platform.lake.catalog  # noqa: B018 (the catalog's tables exist from here on)
    with platform.store.engine.connect() as c:
        rows = c.execute(
            text("SELECT table_namespace, table_name, metadata_location FROM iceberg_tables WHERE catalog_name = :n"),
            {"n": "threshold"},
        ).all()
    return sorted(f"{ns}.{name}" for ns, name, loc in rows if loc and not warehouse.is_relative(str(loc)))


def relocate(platform: Platform, identifier: str) -> str:
    """Rewrite `identifier`'s metadata with relative locations; returns the new metadata location."""
    with locks.dataset_lock(platform, identifier):
        return _relocate(platform, identifier)


def _relocate(platform: Platform, identifier: str) -> str:
    from pyiceberg.catalog.sql import IcebergTables

    root = platform.settings.warehouse_dir
    domain, name = identifier.split(".", 1)
    with platform.store.engine.connect() as c:
        pointer = c.execute(
            text(
                "SELECT metadata_location FROM iceberg_tables WHERE catalog_name = :c AND table_namespace = :ns "
                "AND table_name = :t"
            ),
            {"c": "threshold", "ns": domain, "t": name},
        ).scalar_one_or_none()
    if pointer is None:
        raise InvalidInput(f"no table {identifier} in the lake")
    if warehouse.is_relative(str(pointer)):
        return str(pointer)
    metadata = json.loads((root / domain / name / "metadata" / Path(str(pointer)).name).read_text())
    location = str(metadata["location"]).rstrip("/")
    suffix = f"/{domain}/{name}"
    if not location.endswith(suffix):
        raise Conflict(f"{identifier} lives at {location}, not in a folder of its own name: it cannot be relocated")
    old = location[: -len(suffix)]  # the warehouse root it was created in

    def rel(value: str) -> str:
        return warehouse.PREFIX + value[len(old) + 1 :] if value.startswith(old + "/") else value

    io = PyArrowFileIO()
    manifests: dict[str, tuple[str, int]] = {}
    for snapshot in metadata.get("snapshots", []):
        old_list = str(snapshot["manifest-list"])
        snapshot["manifest-list"] = _rewrite(
            io, old_list, old, root, lambda r, schema: _relocate_manifest_list(io, r, schema, old, root, manifests)
        )
    metadata = _walk(metadata, rel)
    version = _next_version(str(pointer))
    new_rel = f"{domain}/{name}/metadata/{version:05d}-{uuid.uuid4()}.metadata.json"
    target = root / new_rel
    target.write_text(json.dumps(metadata))
    new_pointer = warehouse.relative(new_rel)
    with platform.store.session() as s:
        moved = s.execute(
            update(IcebergTables)
            .where(
                IcebergTables.catalog_name == "threshold",
                IcebergTables.table_namespace == domain,
                IcebergTables.table_name == name,
                IcebergTables.metadata_location == pointer,
            )
            .values(metadata_location=new_pointer, previous_metadata_location=rel(str(pointer)))
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            target.unlink(missing_ok=True)
            raise Conflict(f"{identifier} changed while it was being relocated; run `threshold doctor --fix` again")
    platform.lake.forget(identifier)
    return new_pointer


def _local(location: str, old: str, root: Path) -> Path:
    """Where a location of the table is in this home: an absolute one of the old warehouse `old` (a URI) is
    read at the same place under this warehouse (so a copied home reads its own files)."""
    if location.startswith(old + "/"):
        return root / location[len(old) + 1 :]
    return warehouse.local_path(location, root)


def _rewrite(
    io: PyArrowFileIO, location: str, old: str, root: Path, change: Callable[[list[Any], Schema], None]
) -> str:
    """Copy one Avro file of the table with its records changed by `change`; returns the copy's location."""
    source = _local(location, old, root)
    inside = source.resolve().relative_to(root)
    new_rel = inside.with_name(f"{inside.stem}-rel-{uuid.uuid4().hex[:8]}{inside.suffix}").as_posix()
    with AvroFile[Record](io.new_input(str(source))) as reader:
        schema = reader.schema
        meta = {k: v for k, v in reader.header.meta.items() if k != "avro.schema"}
        record_name = json.loads(reader.header.meta["avro.schema"]).get("name", "record")
        records = list(reader)
    change(records, schema)
    with AvroOutputFile[Record](io.new_output(str(root / new_rel)), schema, record_name, metadata=meta) as out:
        out.write_block(records)
    return warehouse.relative(new_rel)


def _relocate_manifest_list(
    io: PyArrowFileIO,
    records: list[Any],
    schema: Schema,
    old: str,
    root: Path,
    done: dict[str, tuple[str, int]],
) -> None:
    names = [f.name for f in schema.fields]
    at_path, at_length = names.index("manifest_path"), names.index("manifest_length")
    for r in records:
        path = str(r[at_path])
        if path not in done:
            new = _rewrite(io, path, old, root, lambda rs, sc: _relocate_manifest(rs, sc, old))
            done[path] = (new, (root / new[len(warehouse.PREFIX) :]).stat().st_size)
        r[at_path], r[at_length] = done[path]


def _relocate_manifest(records: list[Any], schema: Schema, old: str) -> None:
    names = [f.name for f in schema.fields]
    at_file = names.index("data_file")
    struct = schema.fields[at_file].field_type
    at_path = [f.name for f in struct.fields].index("file_path")  # type: ignore[attr-defined]
    for r in records:
        data_file = r[at_file]
        path = str(data_file[at_path])
        if path.startswith(old + "/"):
            data_file[at_path] = warehouse.PREFIX + path[len(old) + 1 :]


def _walk(value: Any, change: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [_walk(v, change) for v in value]
    if isinstance(value, dict):
        return {k: _walk(v, change) for k, v in value.items()}
    return value


def _next_version(pointer: str) -> int:
    try:
        return int(Path(pointer).name.split("-", 1)[0]) + 1
    except ValueError:
        return 0
