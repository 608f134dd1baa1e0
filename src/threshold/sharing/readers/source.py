"""What a reader gets (`ReadOptions`) and gives back (`SourceTable`), shared by every reader and the registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from threshold.limits.settings import LimitSettings


@dataclass(frozen=True)
class ReadOptions:
    sheet: str | None = None
    """Excel: the sheet to read; None = the first sheet; "*" = every sheet as its own dataset."""
    encoding: str | None = None
    """Text files: force an encoding instead of detecting it."""
    delimiter: str | None = None
    """CSV: force a delimiter instead of detecting it."""
    limits: LimitSettings = field(default_factory=LimitSettings)
    """File limits (spreadsheet size and cells, CSV line length and columns, JSON depth) of the platform."""


@dataclass
class SourceTable:
    """One table read from a source. `name_hint` names it when the source holds several (sheets)."""

    relation: duckdb.DuckDBPyRelation
    name_hint: str | None = None
    notes: list[str] = field(default_factory=list)
    """What the reader decided (encoding, delimiter, header...), shown to the person sharing."""


ReaderFn = Callable[[Path, duckdb.DuckDBPyConnection, Path, ReadOptions], list[SourceTable]]
"""(source path, unlocked share-side DuckDB connection, private staging folder, options) -> tables."""
