"""The direct path for .xlsx sheets: fastexcel reads the data rows into Arrow without a Python object per cell.

The grid (excel.py) is the reference for what a sheet gives; this path is taken only where it gives the same,
and that is checked rather than assumed. A sheet goes back to the grid unless:

- the size check saw it start at A1 with a value and merge no cells (`sheet_size.Measured.plain_sheets`);
- no range, header rows or rows to skip were chosen;
- fastexcel reads the rows below row 1 with every column of one type and no cell it could not convert
  (strict: a column mixing numbers and text, "n/a" among numbers, durations, times of day all go back);
- row 1 is text only (a name that reads as a number, date or truth value might have been one);
- `layout.find_table` on a small grid (row 1, the first data rows, one row standing for the middle with its
  column sums, the last rows) keeps row 1 as the only header and every row it saw but blank, totals or note
  rows; the middle holds no blank row and no row a subtotal could start.

Then the rows the layout left out are filtered away and each column gets the type the rule table
(`excel._TYPES`) gives, computed on the whole Arrow column at once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from threshold.sharing.readers.layout import HEADER_SEARCH_ROWS, Grid, TableLayout, _total_label, find_table
from threshold.sharing.readers.source import ReadOptions

HEAD_ROWS = 120
"""Data rows read as cells at the top: more than the header search and body windows of the layout look at."""
TAIL_ROWS = 40
"""Data rows read as cells at the bottom: where totals, subtotals and notes are looked for."""

logging.getLogger("fastexcel").setLevel(logging.ERROR)
"""fastexcel logs its type guesses ("falling back to string" for an empty column) as warnings on stderr: this path
decides the types itself, and a share's output is its notes."""

_INT64 = (-(2.0**63), 2.0**63)
_EARLIEST = pa.scalar(datetime(1900, 1, 2), pa.timestamp("ms"))
"""Serial numbers below 1 are times of day (the grid gives `time`); those columns go back to the grid."""
_LOOKS_TYPED = re.compile(r"\s*(?:[-+]?[\d.]|true\s*$|false\s*$|nan\s*$|inf)", re.IGNORECASE)
"""A header name fastexcel may have made from a number, date or truth value."""
_TOTALISH = r"(?i)(sum|total|gesamt|ergebnis|[^\x00-\x7f])"
"""Labels worth asking `layout`'s totals words about (anything not ASCII too: folding may turn it into one)."""


GridOf = Callable[[list[list[Any]], list[int]], Grid]
"""(rows of cells, their sheet row numbers) -> the grid the layout reads, with the reader's own cell kinds."""


class DirectReader:
    def __init__(self, path: Path, plain: set[str], options: ReadOptions, grid_of: GridOf) -> None:
        chosen = options.header is not None or options.skip_rows or options.cell_range is not None
        self.path, self.plain, self.options, self.grid_of = path, set() if chosen else plain, options, grid_of
        self._reader: Any = None

    def read(self, sheet_name: str) -> tuple[pa.Table, TableLayout] | None:
        """The sheet's table and layout, or None: read it through the grid."""
        if sheet_name not in self.plain:
            return None
        import fastexcel

        try:
            if self._reader is None:
                self._reader = fastexcel.read_excel(str(self.path))
            sheet = self._reader.load_sheet(
                sheet_name, header_row=0, schema_sample_rows=None, dtype_coercion="strict", whitespace_as_null=True
            )
            header = [c.name if c.column_name_from == "looked_up" else "" for c in sheet.selected_columns]
            batch, errors = sheet.to_arrow_with_errors()
        except fastexcel.FastExcelError:
            return None
        if errors is not None:
            return None  # cells its types do not hold (texts fastexcel takes for missing numbers, "n/a")
        return _table(pa.Table.from_batches([batch]), header, self.options, self.grid_of)


def _table(
    body: pa.Table, header: list[str], options: ReadOptions, grid_of: GridOf
) -> tuple[pa.Table, TableLayout] | None:
    named = [name for name in header if name]
    renamed = any((m := re.fullmatch(r"(.*)_\d+", name)) and m.group(1) in named for name in named)
    if renamed or len(set(named)) < len(named) or any(_LOOKS_TYPED.match(name) for name in named):
        return None  # a repeated name (fastexcel numbers the copies its own way), or a cell that may be typed
    columns = body.columns
    for column in columns:
        if pa.types.is_duration(column.type) or not (
            pa.types.is_string(column.type)
            or pa.types.is_large_string(column.type)
            or pa.types.is_boolean(column.type)
            or pa.types.is_floating(column.type)
            or pa.types.is_integer(column.type)
            or pa.types.is_timestamp(column.type)
            or pa.types.is_null(column.type)
        ):
            return None
        if pa.types.is_timestamp(column.type) and column.null_count < len(column):
            if pc.less(pc.min(column.cast(pa.timestamp("ms"))), _EARLIEST).as_py():
                return None
    n = body.num_rows
    head = min(n, HEAD_ROWS)
    tail = max(head, n - TAIL_ROWS)
    cells = [_rows(body, 0, head)]
    if tail > head:
        middle = body.slice(head, tail - head)
        if (row := _middle_row(middle)) is None:
            return None
        cells.append([row])
    cells.append(_rows(body, tail, n))
    grid_rows = [list(header), *(row for part in cells for row in part)]
    # Grid row -> body row (the middle's one row stands for all of them: -1).
    body_of = [-1, *range(head), *([-1] if tail > head else []), *range(tail, n)]
    if (
        tail > head
        and sum(1 for row in grid_rows[1 : head + 1] if any(c is not None for c in row)) < HEADER_SEARCH_ROWS
    ):
        return None  # blank rows at the top: the header search would look into the middle
    layout = find_table(grid_of(grid_rows, [1, *(b + 2 if b >= 0 else head + 2 for b in body_of[1:])]), options.layout)
    if layout.header_rows != [0] or (tail > head and (head + 1) not in layout.data_rows):
        return None
    if layout.last_col < layout.first_col:
        return None
    kept = set(layout.data_rows)
    dropped = [body_of[i] for i in range(1, len(grid_rows)) if i not in kept]
    if any(b < 0 for b in dropped):
        return None
    picked = body.select(list(range(layout.first_col, layout.last_col + 1)))
    if dropped:
        keep = [True] * n
        for b in dropped:
            keep[b] = False
        picked = picked.filter(pa.array(keep, pa.bool_()))
    arrays = []
    for column in picked.columns:
        if (array := _typed(column)) is None:
            return None
        arrays.append(array)
    names = [f"c{k + 1}" for k in range(len(arrays))]
    # The layout's numbers for the middle row are never shown: it is data, and data rows are not listed.
    return pa.Table.from_arrays(arrays, names=names), layout


def _rows(body: pa.Table, start: int, stop: int) -> list[list[Any]]:
    if stop <= start:
        return []
    part = body.slice(start, stop - start)
    return [list(row) for row in zip(*(column.to_pylist() for column in part.columns), strict=True)]


def _middle_row(middle: pa.Table) -> list[Any] | None:
    """One row that stands for the middle rows in the layout: the column sums of numbers, a value of the others.
    None when a middle row is blank, or may be a subtotal (its label, the first cell, could be a totals word)."""
    columns = middle.columns
    filled = pc.is_valid(columns[0])
    for column in columns[1:]:
        filled = pc.or_(filled, pc.is_valid(column))
    if not pc.all(filled).as_py():
        return None
    first = columns[0]
    if first.null_count:
        return None  # a row whose label is a later cell: let the grid judge it
    if pa.types.is_string(first.type) or pa.types.is_large_string(first.type):
        maybe = pc.filter(first, pc.match_substring_regex(first, _TOTALISH))
        if any(_total_label(label) for label in pc.unique(maybe).to_pylist()):
            return None
    row: list[Any] = []
    for column in columns:
        if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
            total = pc.sum(column.cast(pa.float64())).as_py()
            row.append(total)
        else:
            values = column.drop_null()
            row.append(values[0].as_py() if len(values) else None)
    return row


def _typed(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """The column as the rule table types it (`excel._TYPES`), or None when only the grid can say."""
    if column.null_count == len(column):
        return pa.chunked_array([pa.nulls(len(column), pa.string())])
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return column.cast(pa.string())
    if pa.types.is_boolean(kind):
        return column
    if pa.types.is_integer(kind):
        return column.cast(pa.int64())
    if pa.types.is_floating(kind):
        low, high = pc.min_max(column).values()
        whole = pc.all(pc.equal(pc.floor(column), column)).as_py()
        if whole and _INT64[0] <= low.as_py() and high.as_py() < _INT64[1]:
            return column.cast(pa.int64())
        return column.cast(pa.float64())
    if pa.types.is_timestamp(kind):
        stamps = column.cast(pa.timestamp("us"))
        days = pc.cast(stamps, pa.date32(), safe=False)
        if pc.all(pc.equal(days.cast(pa.timestamp("us")), stamps)).as_py():
            return days
        return stamps
    return None
