"""What a reader gets (`ReadOptions`) and gives back (`SourceTable`), shared by every reader and the registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from threshold.errors import InvalidInput
from threshold.limits.settings import LimitSettings
from threshold.sharing.readers.layout import CellRange, HeaderRows, LayoutOptions, Skipped

if TYPE_CHECKING:
    from threshold.sharing.readers.sheet_size import Ahead


@dataclass(frozen=True)
class ReadOptions:
    sheet: str | None = None
    """Spreadsheets: the sheet to read; None = the first sheet with data; "*" = every sheet as its own dataset."""
    encoding: str | None = None
    """Text files: force an encoding instead of detecting it."""
    delimiter: str | None = None
    """CSV: force a delimiter instead of detecting it."""
    limits: LimitSettings = field(default_factory=LimitSettings)
    """File limits (spreadsheet size and cells, CSV line length and columns, JSON depth) of the platform."""
    header: HeaderRows | None = None
    """Spreadsheets and CSV: the header rows (as the sheet or file numbers them); None = detect them."""
    skip_rows: int = 0
    """Spreadsheets and CSV: leave out this many rows (lines) at the top before looking for the header."""
    cell_range: CellRange | None = None
    """Spreadsheets: read only this block of the sheet (A5:H200)."""
    totals: bool = True
    """Spreadsheets and CSV: leave out totals, subtotals and notes below the table (False keeps every row)."""
    ahead: Ahead | None = None
    """Spreadsheets: the size check of this file, started while the share prepared (`readers.check_ahead`)."""

    def __post_init__(self) -> None:
        if self.skip_rows < 0:
            raise InvalidInput("skip rows must be 0 or more")

    @property
    def layout(self) -> LayoutOptions:
        return LayoutOptions(header=self.header, skip_rows=self.skip_rows, totals=self.totals)


@dataclass
class SourceTable:
    """One table read from a source. `name_hint` names it when the source holds several (sheets)."""

    relation: duckdb.DuckDBPyRelation
    name_hint: str | None = None
    notes: list[str] = field(default_factory=list)
    """What the reader decided (encoding, delimiter, header...), shown to the person sharing."""
    sheet: str | None = None
    """The sheet it came from (spreadsheets)."""
    header_rows: list[int] = field(default_factory=list)
    """The header rows as the source numbers them (sheet rows, file lines); empty when there is none."""
    skipped: list[Skipped] = field(default_factory=list)
    """Rows left out of the table (titles, totals, notes...) and why."""
    row_count: int | None = None
    """Data rows, when the reader knows without reading the whole source."""
    other_sheets: list[str] = field(default_factory=list)
    """Spreadsheets: sheets of the workbook that were not read (a sheet was chosen, or the first one taken)."""


ReaderFn = Callable[[Path, duckdb.DuckDBPyConnection, Path, ReadOptions], list[SourceTable]]
"""(source path, unlocked share-side DuckDB connection, private staging folder, options) -> tables."""
