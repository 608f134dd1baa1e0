"""The lake: Iceberg tables in a SQL catalog (same database as the metadata store).

Writers put Parquet files (with Iceberg field ids) into a table's `data/` folder and commit them
here, one snapshot per share. Readers get a *read plan* for one snapshot: the data files plus the
schema as DuckDB `read_parquet(schema=...)` needs it, so columns are matched by field id and a
renamed or added column reads right in old files.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from threshold import disk, storage, warehouse
from threshold.errors import Conflict, InvalidInput, NotFound, ThresholdError, TransientError
from threshold.localcache import Pin
from threshold.settings import Settings
from threshold.store.db import Store

if TYPE_CHECKING:  # pyiceberg is imported where it is used: `threshold query` on a plain query needs none of it
    import duckdb
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.manifest import DataFile
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table, Transaction
    from pyiceberg.table.snapshots import Snapshot
    from pyiceberg.types import (
        IcebergType,
        NestedField,
    )


@dataclass(frozen=True)
class Field:
    field_id: int
    name: str
    duckdb_type: str
    iceberg_type: str


@dataclass(frozen=True)
class ReadPlan:
    """Everything the engine needs to read one snapshot of one table."""

    identifier: str
    snapshot_id: int | None
    files: tuple[str, ...]
    fields: tuple[Field, ...]
    direct: dict[str, str] | None = None
    """When every file names every field as the schema does: {column: physical DuckDB type}. Such a
    snapshot is read with a plain projection (DuckDB optimises it fully); otherwise (renamed or added
    columns) columns are matched by field id."""
    size: int = 0
    """Bytes of the snapshot's data files (its Iceberg summary's `total-files-size`): the planned scan."""

    def relation_sql(self) -> str:
        """A `SELECT` over the data files, columns matched by field id. Paths are generated here, never by users."""
        columns = ", ".join(_quote_ident(f.name) for f in self.fields)
        if not self.files:
            nulls = ", ".join(f"CAST(NULL AS {f.duckdb_type}) AS {_quote_ident(f.name)}" for f in self.fields)
            return f"SELECT {nulls} WHERE false"
        files = ", ".join(_quote_str(p) for p in self.files)
        if self.direct is not None:
            cols = ", ".join(
                _quote_ident(f.name)
                if self.direct.get(f.name) == f.duckdb_type
                else f"CAST({_quote_ident(f.name)} AS {f.duckdb_type}) AS {_quote_ident(f.name)}"
                for f in self.fields
            )
            return f"SELECT {cols} FROM read_parquet([{files}])"
        mapping = ", ".join(
            f"{f.field_id}: {{name: {_quote_str(f.name)}, type: {_quote_str(f.duckdb_type)}, default_value: NULL}}"
            for f in self.fields
        )
        return f"SELECT {columns} FROM read_parquet([{files}], schema=MAP {{{mapping}}})"

    def rows_sql(self, path: str, rows: str) -> str:
        """`relation_sql` over one of the files, only its rows whose position in the file (`file_row_number`)
        the SQL condition `rows` admits: DuckDB then decodes only the row groups that hold them."""
        one = dataclasses.replace(self, files=(path,)).relation_sql()
        scan = one.removesuffix(")")  # ... FROM read_parquet([path]) or read_parquet([path], schema=MAP {...})
        return f"{scan}, file_row_number = true) WHERE {rows}"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def duckdb_type(t: IcebergType) -> str:
    """The DuckDB type that reads an Iceberg type."""
    from pyiceberg.types import (
        BinaryType,
        BooleanType,
        DateType,
        DecimalType,
        DoubleType,
        FixedType,
        FloatType,
        IntegerType,
        ListType,
        LongType,
        MapType,
        StringType,
        StructType,
        TimestampType,
        TimestamptzType,
        TimeType,
        UUIDType,
    )

    simple: dict[type, str] = {
        BooleanType: "BOOLEAN",
        IntegerType: "INTEGER",
        LongType: "BIGINT",
        FloatType: "FLOAT",
        DoubleType: "DOUBLE",
        DateType: "DATE",
        TimeType: "TIME",
        TimestampType: "TIMESTAMP",
        TimestamptzType: "TIMESTAMPTZ",
        StringType: "VARCHAR",
        UUIDType: "UUID",
        BinaryType: "BLOB",
        FixedType: "BLOB",
    }
    if type(t) in simple:
        return simple[type(t)]
    if isinstance(t, DecimalType):
        return f"DECIMAL({t.precision},{t.scale})"
    if isinstance(t, ListType):
        return f"{duckdb_type(t.element_type)}[]"
    if isinstance(t, MapType):
        return f"MAP({duckdb_type(t.key_type)}, {duckdb_type(t.value_type)})"
    if isinstance(t, StructType):
        inner = ", ".join(f"{_quote_ident(f.name)} {duckdb_type(f.field_type)}" for f in t.fields)
        return f"STRUCT({inner})"
    raise InvalidInput(f"unsupported Iceberg type {t}")


def field_ids_option(fields: Iterable[NestedField]) -> str:
    """DuckDB `COPY ... (FIELD_IDS {...})` for a schema, nested types included."""

    def one(f: NestedField) -> str:
        children = _child_fields(f.field_type)
        if not children:
            return f"{_quote_ident(f.name)}: {f.field_id}"
        inner = ", ".join([f"__duckdb_field_id: {f.field_id}", *(one(c) for c in children)])
        return f"{_quote_ident(f.name)}: {{{inner}}}"

    return "{" + ", ".join(one(f) for f in fields) + "}"


def _child_fields(t: IcebergType) -> list[NestedField]:
    from pyiceberg.types import ListType, MapType, NestedField, StructType

    if isinstance(t, StructType):
        return list(t.fields)
    if isinstance(t, ListType):
        return [NestedField(t.element_id, "element", t.element_type, required=t.element_required)]
    if isinstance(t, MapType):
        return [
            NestedField(t.key_id, "key", t.key_type, required=True),
            NestedField(t.value_id, "value", t.value_type, required=t.value_required),
        ]
    return []


@dataclass(frozen=True)
class SnapshotInfo:
    snapshot_id: int
    parent_id: int | None
    at: datetime
    operation: str
    added_rows: int
    total_rows: int
    properties: dict[str, str]


class DataLost(Conflict):
    """A data file a snapshot reads is missing or damaged (`threshold repair` deals with it)."""


METADATA_KEPT = 256
"""How many tables' metadata (parsed metadata files) a catalog keeps in memory, most recently used first."""


def _sql_catalog(name: str, engine: Engine, **properties: str) -> SqlCatalog:
    """pyiceberg's SQL catalog on the metadata store's own engine: a commit waits for a locked SQLite store
    exactly as long as the store does (`lock_timeout_seconds`), instead of pyiceberg's own 5 s.

    It keeps the metadata files it parsed or wrote, by location: every load still reads the catalog row (so a
    commit by another process or server is always seen), but a metadata file is written once under a new
    name and never changed, so the row's location names exactly the metadata kept for it. (A small share
    loaded its table six times, most of each load parsing the same JSON again.)
    """
    from collections import OrderedDict

    from pyiceberg.catalog import Catalog
    from pyiceberg.catalog.sql import IcebergTables, SqlCatalog
    from pyiceberg.io import FileIO, load_file_io
    from pyiceberg.serializers import FromInputFile
    from pyiceberg.table import CreateTableTransaction, Table, Transaction
    from pyiceberg.table.metadata import TableMetadata
    from pyiceberg.table.update import TableUpdate, update_table_metadata

    class _Transaction(Transaction):
        """pyiceberg's transaction, whose `table_metadata` is computed once per state of the transaction.

        pyiceberg computes it again (applying every staged update to a deep copy of the table's metadata) each
        time it is read: 17 times in a small share, a sixth of the share's CPU. The state is the table's
        metadata and the staged updates, both replaced (never changed) when they change.
        """

        _memo: tuple[TableMetadata, tuple[TableUpdate, ...], TableMetadata] | None = None

        @property
        def table_metadata(self) -> TableMetadata:
            base, updates, memo = self._table.metadata, self._updates, self._memo
            if memo is not None and memo[0] is base and memo[1] is updates:
                return memo[2]
            metadata = update_table_metadata(base, updates)
            self._memo = (base, updates, metadata)
            return metadata

    class _CreateTransaction(CreateTableTransaction):
        """pyiceberg's transaction that creates a table, `table_metadata` computed once per state (`_Transaction`)."""

        _memo: tuple[TableMetadata, tuple[TableUpdate, ...], TableMetadata] | None = None
        table_metadata = _Transaction.table_metadata

    class _Table(Table):
        def transaction(self) -> Transaction:
            return _Transaction(self)

    class _Catalog(SqlCatalog):
        def __init__(self, name: str, engine: Engine, **properties: str) -> None:
            Catalog.__init__(self, name, **properties)
            self.engine = engine
            self._init_catalog()
            self._kept: OrderedDict[str, TableMetadata] = OrderedDict()
            self._kept_lock = threading.Lock()

        def _keep(self, location: str, metadata: TableMetadata) -> None:
            with self._kept_lock:
                self._kept[location] = metadata
                self._kept.move_to_end(location)
                while len(self._kept) > METADATA_KEPT:
                    self._kept.popitem(last=False)

        def _convert_orm_to_iceberg(self, orm_table: IcebergTables) -> Table:
            location, namespace, table_name = (
                orm_table.metadata_location,
                orm_table.table_namespace,
                orm_table.table_name,
            )
            if not location or not namespace or not table_name:
                return super()._convert_orm_to_iceberg(orm_table)  # pyiceberg says what is missing
            with self._kept_lock:
                metadata = self._kept.get(location)
                if metadata is not None:
                    self._kept.move_to_end(location)
            if metadata is None:
                io = load_file_io(properties=self.properties, location=location)
                metadata = FromInputFile.table_metadata(io.new_input(location))
                self._keep(location, metadata)
            return _Table(
                identifier=Catalog.identifier_to_tuple(namespace) + (table_name,),
                metadata=metadata,
                metadata_location=location,
                io=self._load_file_io(metadata.properties, location),
                catalog=self,
            )

        def _write_metadata(self, metadata: TableMetadata, io: FileIO, metadata_path: str) -> None:  # type: ignore[override]
            SqlCatalog._write_metadata(metadata, io, metadata_path)
            self._keep(metadata_path, metadata)

        def create_table_transaction(self, *args: Any, **kwargs: Any) -> CreateTableTransaction:
            return _CreateTransaction(self._create_staged_table(*args, **kwargs))

    return _Catalog(name, engine, **properties)


class Lake:
    """The Iceberg side of Threshold. Thread-safe for reads; writers serialise per table through the catalog.

    Every location it stores is relative to the warehouse (`threshold.warehouse`), and it reads or writes
    only a warehouse stamped with this home's id (`threshold.home`).
    """

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self._catalog: SqlCatalog | None = None
        self._plans: dict[tuple[str, int | None], ReadPlan] = {}
        self._lock = threading.Lock()
        self._verified: set[bool] = set()
        self.files = storage.open_files(settings)
        """Where the files are kept (local folder or object store): every listing, removal, upload and fetch."""

    @property
    def root(self) -> Path:
        return self.settings.warehouse_dir

    @property
    def catalog(self) -> SqlCatalog:
        if self._catalog is None:
            with self._lock:
                if self._catalog is None:
                    self._verify(write=False)
                    self._catalog = _sql_catalog(
                        "threshold",
                        self.store.engine,
                        **warehouse.catalog_properties(self.files.uri, self.files.io_properties()),
                    )
        return self._catalog

    def _verify(self, *, write: bool) -> None:
        """Refuse a warehouse that is not this home's own (checked once per process and kind of use)."""
        if write in self._verified:
            return
        from threshold import home

        home.verify(self.settings, self.store, write=write)
        self._verified.add(write)

    @contextmanager
    def writing(self, identifier: str) -> Iterator[None]:
        """Around every write: this home's warehouse only; a locked store or a full disk said plainly."""
        self._verify(write=True)
        try:
            yield
        except OperationalError as e:
            if "locked" in str(e).lower():
                raise TransientError(
                    f"the metadata store stayed locked by another process for {self.settings.lock_timeout_seconds:g} s "
                    f"while writing {identifier} (THRESHOLD_LOCK_TIMEOUT_SECONDS); nothing was changed, try again"
                ) from e
            raise
        except OSError as e:
            if disk.is_full(e):
                raise disk.full_error(self.root, "the warehouse", need=0) from e
            if self.files.remote:  # the object store refused or did not answer (pyiceberg's own calls)
                raise self.files.failed(f"write {identifier}", e) from e
            raise

    def table_dir(self, identifier: str) -> Path:
        domain, name = identifier.split(".", 1)
        return self.root / domain / name

    def location(self, identifier: str) -> str:
        """The stored (relative) location of a table."""
        domain, name = identifier.split(".", 1)
        return warehouse.relative(f"{domain}/{name}")

    def stored(self, path: Path) -> str:
        """The stored form of a file in the warehouse."""
        try:
            inside = path.resolve().relative_to(self.root)
        except ValueError as e:
            raise InvalidInput(f"{path} is not in the warehouse {self.root}") from e
        return warehouse.relative(inside.as_posix())

    def local(self, location: str) -> Path:
        """The file a stored location names in this home's warehouse."""
        return warehouse.local_path(location, self.root)

    def load(self, identifier: str) -> Table:
        from pyiceberg.exceptions import NoSuchTableError

        try:
            return self.catalog.load_table(identifier)
        except NoSuchTableError as e:
            raise NotFound(f"no table {identifier} in the lake") from e

    def load_at(self, identifier: str, metadata_location: str) -> Table:
        """A table from the metadata file its catalog row points at (read in one query for many tables)."""
        from pyiceberg.io import load_file_io
        from pyiceberg.serializers import FromInputFile
        from pyiceberg.table import Table

        io = load_file_io(self.catalog.properties, metadata_location)
        metadata = FromInputFile.table_metadata(io.new_input(metadata_location))
        namespace, name = identifier.split(".", 1)
        return Table((namespace, name), metadata, metadata_location, io, self.catalog)

    def exists(self, identifier: str) -> bool:
        return bool(self.catalog.table_exists(identifier))

    def identifiers(self) -> list[str]:
        """Every table of the catalog, `domain.name`."""
        catalog = self.catalog
        return sorted(".".join(t) for ns in catalog.list_namespaces() for t in catalog.list_tables(ns))

    def create(self, identifier: str, schema: pa.Schema) -> Table:
        namespace = identifier.split(".", 1)[0]
        with self.writing(identifier):
            self.catalog.create_namespace_if_not_exists(namespace)
            return self.catalog.create_table(identifier, schema=schema, **self._new_table(identifier))

    def creating(self, identifier: str, schema: pa.Schema) -> tuple[Table, Transaction]:
        """The table to be, and the transaction that creates it: nothing is in the catalog until `commit` commits
        it, and its first snapshot is then written with it as one metadata file (`create` and a commit write two)."""
        namespace = identifier.split(".", 1)[0]
        with self.writing(identifier):
            self.catalog.create_namespace_if_not_exists(namespace)
            tx = self.catalog.create_table_transaction(identifier, schema=schema, **self._new_table(identifier))
        return tx._table, tx

    def _new_table(self, identifier: str) -> dict[str, Any]:
        return {
            "location": self.location(identifier),
            "properties": {"format-version": "2", "write.parquet.compression-codec": "snappy"},
        }

    def drop(self, identifier: str) -> None:
        """Remove a table from the catalog (its files stay until the clean-up removes them)."""
        with self.writing(identifier):
            if self.exists(identifier):
                self.catalog.drop_table(identifier)

    def reset_to(self, table: Table, published: int | None) -> Table:
        """Undo commits that were never published in the metadata store (a share killed half-way)."""
        current = table.current_snapshot()
        current_id = current.snapshot_id if current else None
        if current_id == published or published is None:
            return table
        from pyiceberg.exceptions import CommitFailedException

        try:
            with self.writing(_name(table)):
                table.manage_snapshots().set_current_snapshot(published).commit()
        except CommitFailedException as e:  # another writer undid it (or committed) at the same moment
            raise TransientError(f"{_name(table)} was changed by someone else at the same time; try again") from e
        return table.refresh()

    def commit(
        self,
        tx: Transaction,
        table: Table,
        files: Sequence[Path],
        *,
        replace: bool,
        properties: dict[str, str],
        remove: Sequence[str] = (),
        add_existing: Sequence[DataFile] = (),
    ) -> int:
        """Commit data files in `tx` as ONE snapshot: an append, or an overwrite of every current file
        (`replace`), or of the files `remove` names (compaction, repair). `add_existing`: files an earlier
        snapshot holds, taken back (a repair rolling back to it).

        Schema changes made earlier in `tx` land in the same atomic commit. Returns the new snapshot id.
        When the commit fails, the files it brought and the metadata it wrote are removed: the caller
        holds the dataset's writer lock, so whatever this attempt created and nothing references is its own.
        """
        from pyiceberg.exceptions import CommitFailedException
        from pyiceberg.io.pyarrow import parquet_file_to_data_file

        started = time.time()
        name = _name(table)
        try:
            with self.writing(name):
                self.files.put(files)  # the store holds every file before a snapshot names it
                metadata = tx.table_metadata
                data_files = [parquet_file_to_data_file(table.io, metadata, self.stored(p)) for p in files]
                data_files += list(add_existing)
                producer = tx.update_snapshot(snapshot_properties=properties)
                if replace or remove:
                    gone = set(remove)
                    with producer.overwrite() as ow:
                        if table.current_snapshot() is not None:
                            for task in table.scan().plan_files():
                                if replace or task.file.file_path in gone:
                                    ow.delete_data_file(task.file)
                        for df in data_files:
                            ow.append_data_file(df)
                else:
                    with producer.fast_append() as fa:
                        for df in data_files:
                            fa.append_data_file(df)
                committed = tx.commit_transaction()
        except CommitFailedException as e:
            self._discard_attempt(name, files, started)
            raise TransientError(f"{name} was changed by someone else at the same time; try again") from e
        except BaseException:
            self._discard_attempt(name, files, started)
            raise
        # The transaction's table holds what the catalog accepted: our snapshot, without loading the table again.
        snapshot = committed.current_snapshot()
        assert snapshot is not None
        return snapshot.snapshot_id

    def _discard_attempt(self, identifier: str, files: Sequence[Path], started: float) -> None:
        """Remove what a failed commit left: its data files and the manifests and metadata it wrote."""
        from pyiceberg.exceptions import NoSuchTableError

        from threshold.lakefiles import referenced_paths

        keep: set[Path] | None
        try:
            keep = referenced_paths(self, self.catalog.load_table(identifier))
        except NoSuchTableError:
            keep = set()
        except Exception:
            # The catalog cannot even be read now (e.g. the store is still locked): the files it wrote stay
            # for the clean-up, which removes what no snapshot references once the writer is gone.
            keep = None
        candidates = [*files]
        if keep is not None:
            for p in self.files.listing(self.table_dir(identifier) / "metadata"):
                st = self.files.stat(p)
                if st is not None and st[1] >= started - 1:
                    candidates.append(p)
        for path in candidates:
            if keep is not None and path.resolve() in keep:
                continue
            if keep is None and path not in files:
                continue
            try:
                self.files.remove(path)
            except ThresholdError:
                path.unlink(missing_ok=True)  # the sweep removes what the store still holds

    def plan(self, identifier: str, snapshot_id: int | None, *, table: Table | None = None) -> ReadPlan:
        """The files and schema of one snapshot; cached, since a published snapshot never changes.
        `table`: the table as its writer holds it, which has the snapshot (not loaded again)."""
        key = (identifier, snapshot_id)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        if table is None:
            table = self.load(identifier)
        if snapshot_id is None:
            schema = table.schema()
            files: tuple[str, ...] = ()
            size = 0
        else:
            snapshot = table.snapshot_by_id(snapshot_id)
            if snapshot is None:
                raise NotFound(f"{identifier} has no snapshot {snapshot_id}")
            schema = table.schemas()[snapshot.schema_id] if snapshot.schema_id is not None else table.schema()
            locations = self._data_files(identifier, table, snapshot)
            summary = snapshot.summary.additional_properties if snapshot.summary else {}
            size = int(summary.get("total-files-size", 0) or 0)
        fields = fields_of(schema)
        try:
            if snapshot_id is not None:  # on an object store: fetched into this machine's cache once
                paths = [self.local(location) for location in locations]
                with self.files.pin(paths):  # read here: kept from the cache's bound meanwhile
                    files = tuple(str(self.files.fetch(p)) for p in paths)
                    direct = _direct_types(files, fields)
            else:
                direct = _direct_types(files, fields)
        except (OSError, pa.ArrowException) as e:
            raise DataLost(
                f"{identifier} cannot be read: a data file of its snapshot {snapshot_id} is missing or damaged; "
                f"an owner of its domain can run `threshold repair {identifier}`"
            ) from e
        plan = ReadPlan(identifier, snapshot_id, files, fields, direct, size)
        with self._lock:
            if len(self._plans) > 4096:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def fetch(self, plans: Sequence[ReadPlan]) -> Pin:
        """Make the plans' files readable on this machine before the engine runs them, and keep them so until
        the returned pin is released (when the query's stream closes): with an object store, a file this
        machine's cache lost since a plan was made is fetched again, and the cache's bound never evicts a
        file a running query reads."""
        if not self.files.remote:
            return Pin(None, ())
        pin = self.files.pin(Path(f) for plan in plans for f in plan.files)
        try:
            for plan in plans:
                try:
                    for f in plan.files:
                        self.files.fetch(Path(f))
                except FileNotFoundError as e:
                    raise DataLost(
                        f"{plan.identifier} cannot be read: a data file of its snapshot {plan.snapshot_id} is "
                        f"missing from the object store; an owner of its domain can run "
                        f"`threshold repair {plan.identifier}`"
                    ) from e
        except BaseException:
            pin.release()
            raise
        return pin

    def _data_files(self, identifier: str, table: Table, snapshot: Snapshot) -> list[str]:
        """The data files a snapshot reads, in manifest order (what `scan().plan_files()` gives an
        unpartitioned table without deletes, reading each manifest with its schema resolved once)."""
        from pyiceberg.manifest import DataFileContent, ManifestEntryStatus

        from threshold.lakefiles import manifest_entries, manifest_list

        out = []
        for manifest in manifest_list(table.io, snapshot.manifest_list):
            for entry in manifest_entries(table.io, manifest):
                if entry.status == ManifestEntryStatus.DELETED:
                    continue
                if entry.data_file.content != DataFileContent.DATA:
                    raise InvalidInput(f"{identifier} has row-level deletes, which the gateway cannot read yet")
                out.append(entry.data_file.file_path)
        return out

    def forget(self, identifier: str) -> None:
        """Drop cached read plans of a table (after a repair made a snapshot's files readable again)."""
        with self._lock:
            for key in [k for k in self._plans if k[0] == identifier]:
                del self._plans[key]

    def snapshots(self, identifier: str) -> list[SnapshotInfo]:
        table = self.load(identifier)
        out = []
        for s in table.snapshots():
            summary = s.summary.additional_properties if s.summary else {}
            out.append(
                SnapshotInfo(
                    snapshot_id=s.snapshot_id,
                    parent_id=s.parent_snapshot_id,
                    at=datetime.fromtimestamp(s.timestamp_ms / 1000, tz=UTC),
                    operation=str(s.summary.operation.value) if s.summary else "",
                    added_rows=int(summary.get("added-records", 0)),
                    total_rows=int(summary.get("total-records", 0)),
                    properties={k: v for k, v in summary.items() if k.startswith("threshold.")},
                )
            )
        return out


def _name(table: Table) -> str:
    return ".".join(table.name())


def fields_of(schema: Schema) -> tuple[Field, ...]:
    return tuple(Field(f.field_id, f.name, duckdb_type(f.field_type), str(f.field_type)) for f in schema.fields)


_scratch_lock = threading.Lock()
_scratch: tuple[int, duckdb.DuckDBPyConnection] | None = None
"""(the process that opened it, this process's scratch DuckDB): a child after a fork opens its own."""


@contextmanager
def scratch() -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of this process's in-memory DuckDB for small questions about types and file footers.

    Opening a DuckDB database costs tens of milliseconds (80 ms on a loaded 2-core machine), and every
    share asked two such questions on a database of its own (its columns' Iceberg types, its Parquet
    file's DuckDB types), as did each snapshot's first read plan; a cursor of one database kept for the
    process costs a fraction of a millisecond. Users' SQL never runs here; a cursor's registered views
    are its own; a question that switches a setting off for the whole database opens its own database.
    """
    import duckdb

    global _scratch
    with _scratch_lock:
        if _scratch is None or _scratch[0] != os.getpid():
            _scratch = (os.getpid(), duckdb.connect(":memory:", config={"threads": 1}))
        cursor = _scratch[1].cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def _direct_types(files: tuple[str, ...], fields: tuple[Field, ...]) -> dict[str, str] | None:
    """{column: DuckDB type in the files} if every file holds every field under its current name, else None."""
    if not files:
        return None
    import pyarrow.parquet as pq

    wanted = {f.field_id: f.name for f in fields}
    for path in files:
        schema = pq.ParquetFile(path).schema_arrow
        ids = {
            int(fld.metadata[b"PARQUET:field_id"]): fld.name
            for fld in schema
            if fld.metadata and b"PARQUET:field_id" in fld.metadata
        }
        if any(ids.get(fid) != name for fid, name in wanted.items()):
            return None
    with scratch() as con:
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_quote_str(files[0])})").fetchall()
    types = {str(r[0]): str(r[1]) for r in described}
    return {f.name: types.get(f.name, "") for f in fields}
