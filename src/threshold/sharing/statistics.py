"""Personal columns are written without column statistics: Iceberg manifests then hold no min/max (nor
null or value counts) of personal values, so none survives in metadata after its rows are deleted.

The table property `write.metadata.metrics.column.<name> = none` is set in the share's own transaction,
before its files are committed, for columns tagged personal (or special-category) on the dataset and
columns the detectors find personal in the first rows of the file being shared; compliance sets it too
when a tag is added later (later writes: manifests already written keep their statistics until the
snapshots holding them expire).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select

from threshold.access.policy import tag_matches
from threshold.errors import NotFound
from threshold.lake import _quote_ident, _quote_str
from threshold.locks import dataset_lock
from threshold.platform import Platform
from threshold.sharing.detection import detect_column
from threshold.store.models import Tag

NO_METRICS = "write.metadata.metrics.column.{}"
PERSONAL = ("personal", "special")
"""Tags (and their children) whose columns are written without statistics."""
SAMPLE_ROWS = 2000
"""Rows of the file being shared that the detectors look at before the commit."""


def is_personal(tag: str) -> bool:
    return tag_matches(tag, PERSONAL)


def missing(properties: dict[str, str], columns: Iterable[str]) -> dict[str, str]:
    """The properties that turn statistics off for `columns`, less those already set."""
    return {
        NO_METRICS.format(c): "none" for c in sorted(set(columns)) if properties.get(NO_METRICS.format(c)) != "none"
    }


def tagged_personal(platform: Platform, dataset_id: int | None) -> set[str]:
    if dataset_id is None:
        return set()
    with platform.store.session() as s:
        rows = s.execute(select(Tag.column_name, Tag.tag).where(Tag.dataset_id == dataset_id)).all()
    return {str(c) for c, t in rows if c is not None and is_personal(t)}


def withhold(
    tx: Any,
    platform: Platform,
    con: duckdb.DuckDBPyConnection,
    staged: Path,
    labels: dict[str, str],
    dataset_id: int | None,
) -> list[str]:
    """Inside the share's transaction `tx`: no statistics for the personal columns; returns them."""
    present = {f.name for f in tx.table_metadata.schema().fields}
    columns = tagged_personal(platform, dataset_id)
    names = [n for n in labels if n in present and n not in columns]
    if names:
        table, types = _first_rows(con, staged, names)
        for n in names:
            values = [v for v in table.column(n).to_pylist() if v is not None]
            if any(is_personal(d.tag) for d in detect_column(labels[n], values, types[n])):
                columns.add(n)
    columns &= present
    props = missing(dict(tx.table_metadata.properties), columns)
    if props:
        tx.set_properties(props)
    return sorted(columns)


_READ_ALIKE = {
    pa.string(): "VARCHAR",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float32(): "FLOAT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.timestamp("us"): "TIMESTAMP",
}
"""Arrow types of a Parquet file's columns that DuckDB reads as the type named here, giving the same Arrow values."""


_ARROW_GROUP_ROWS = 8 * SAMPLE_ROWS
"""The largest first row group `_first_rows` reads with pyarrow."""


def _first_rows(con: duckdb.DuckDBPyConnection, staged: Path, names: list[str]) -> tuple[pa.Table, dict[str, str]]:
    """The first `SAMPLE_ROWS` rows of the columns `names` of the Parquet file `staged`, and their DuckDB types.

    Read by pyarrow when every column is of a `_READ_ALIKE` type (the file's footer says so): a tenth of what the
    DuckDB statement costs, which was a twentieth of a small share; else by DuckDB."""
    file = pq.ParquetFile(staged)
    schema = file.schema_arrow
    meta = file.metadata
    # pyarrow decodes a whole row group: past a few samples' worth, DuckDB's LIMIT reads less (a big share's
    # first row group of 122,880 rows took pyarrow ~0.2 s against DuckDB's ~0.14 s).
    whole = meta.num_row_groups > 0 and meta.row_group(0).num_rows > _ARROW_GROUP_ROWS
    types: dict[str, str] = {}
    for n in names:
        i = schema.get_field_index(n)
        known = _READ_ALIKE.get(schema.field(i).type) if i >= 0 and not whole else None
        if known is None:
            picked = ", ".join(_quote_ident(n) for n in names)
            rel = con.sql(f"SELECT {picked} FROM read_parquet({_quote_str(str(staged))}) LIMIT {SAMPLE_ROWS}")
            return rel.to_arrow_table(), dict(zip(rel.columns, (str(t) for t in rel.types), strict=True))
        types[n] = known
    batches, rows = [], 0
    for batch in file.iter_batches(batch_size=SAMPLE_ROWS, columns=names, use_threads=False):
        batches.append(batch)
        rows += batch.num_rows
        if rows >= SAMPLE_ROWS:
            break
    if not batches:
        return pa.schema([schema.field(n) for n in names]).empty_table(), types
    return pa.Table.from_batches(batches).slice(0, SAMPLE_ROWS), types


def withhold_later(platform: Platform, identifier: str, columns: Iterable[str], *, locked: bool = False) -> list[str]:
    """Turn statistics off for `columns` of a table on its own (a tag added after the share): later writes.
    `locked`: the caller holds the dataset's writer lock (a share, after its publication)."""
    wanted = set(columns)
    if not wanted or (not locked and not platform.lake.exists(identifier)):
        return []
    with nullcontext() if locked else dataset_lock(platform, identifier):
        try:
            table = platform.lake.load(identifier)
        except NotFound:
            return []  # (locked: not asked before, a load costs what asking does)
        present = {f.name for f in table.schema().fields}
        props = missing(dict(table.properties), wanted & present)
        if props:
            with platform.lake.writing(identifier):
                table.transaction().set_properties(props).commit_transaction()
    return sorted(props)
