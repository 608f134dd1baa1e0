"""The columns of a source table as the lake will store them: names, lake types and the SQL selecting each.

Standard library and DuckDB only (a share's conversion can start before the rest is imported: `sharing.early`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import duckdb

from threshold.errors import InvalidInput
from threshold.names import column_names
from threshold.sharing.readers.source import SourceTable
from threshold.sharing.types import lake_type

if TYPE_CHECKING:
    from threshold.sharing.choices import ColumnChoice

Choices = Mapping[str, "ColumnChoice"]


@dataclass
class Incoming:
    """The columns of one source table as they will be stored, after the person's choices."""

    labels: list[str]  # column names exactly as in the source (or as the person wrote them)
    names: list[str]  # normalised names in the lake
    types: list[str]  # lake types (DuckDB spelling)
    sources: list[str]  # names to select them by from the source view (DuckDB dedupes repeats)
    exprs: list[str]  # SQL giving each column's value from the source view (a checked cast when retyped)
    detected: list[str]  # lake types before the person's choices
    notes: list[str] = field(default_factory=list)


def incoming_columns(
    con: duckdb.DuckDBPyConnection, view: str, src: SourceTable, source_name: str, columns: Choices
) -> Incoming:
    """Names, types and select expressions of the table in `view`, with the person's column choices applied."""
    described = con.sql(f"DESCRIBE SELECT * FROM {view}").fetchall()
    if not described:
        raise InvalidInput(f"{source_name} has no columns")
    sources = [str(r[0]) for r in described]
    labels = [str(c) for c in src.relation.columns]
    if len(labels) != len(sources):
        labels = sources
    source_types = [str(r[1]) for r in described]
    types = [lake_type(t) for t in source_types]
    incoming = Incoming(labels, column_names(labels), types, sources, [quote_ident(c) for c in sources], list(types))
    if columns:
        from threshold.sharing import choices

        incoming.notes = choices.apply(
            columns, incoming.names, incoming.labels, incoming.types, incoming.exprs, source_types
        )
    return incoming


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
