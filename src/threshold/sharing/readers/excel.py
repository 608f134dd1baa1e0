"""Excel and OpenDocument spreadsheets (.xlsx, .xlsm, .xls, .ods), read with python-calamine and fastexcel.

A sheet is small enough to hold in memory (Excel stops at 1,048,576 rows): `_grid` reads its cells,
`layout.find_table` finds the table on it (title rows, header rows, merged cells, totals), and the
data rows become an Arrow table with one inferred type per column that DuckDB reads.

The direct path (`direct.py`) reads the common .xlsx sheet (its header in row 1, every column of one type
below it) straight into Arrow with fastexcel, without a Python object per cell; it hands every other sheet
back to the grid, which stays the reference for what a sheet gives.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook, SheetTypeEnum

from threshold.errors import InvalidInput
from threshold.sharing.readers.direct import DirectReader
from threshold.sharing.readers.layout import CellRange, Grid, Kind, TableLayout, find_table
from threshold.sharing.readers.sheet_size import check as measure_spreadsheet
from threshold.sharing.readers.source import ReadOptions, SourceTable

Cell = int | float | str | bool | time | date | datetime | timedelta
"""What calamine gives per cell; "" when empty."""

_INT64 = (-(2**63), 2**63 - 1)


def read_excel(path: Path, con: duckdb.DuckDBPyConnection, staging: Path, options: ReadOptions) -> list[SourceTable]:
    name = path.name
    # Before any grid is built: a tiny file can declare a huge sheet.
    ahead = options.ahead if options.ahead is not None and options.ahead.path == path else None
    plain = (ahead.result() if ahead is not None else measure_spreadsheet(path, options.limits)).plain_sheets
    try:
        with path.open("rb") as f, _collector_paused():
            # From the bytes, not the suffix: an .xls saved as .xlsx still opens.
            workbook = CalamineWorkbook.from_filelike(f)
            direct = DirectReader(path, plain, options, _cells_grid)
            return _read_sheets(name, workbook, con, options, direct)
    except CalamineError as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InvalidInput(f"{name} is not a readable spreadsheet ({reason})") from None


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a sheet becomes a grid: its million row lists (none in a cycle) would
    make every collection walk them again, ~a third of the reader's own time. Collection resumes after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_sheets(
    name: str, workbook: CalamineWorkbook, con: duckdb.DuckDBPyConnection, options: ReadOptions, direct: DirectReader
) -> list[SourceTable]:
    worksheets = [m.name for m in workbook.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
    wanted = options.sheet
    if wanted not in (None, "*"):
        if wanted not in workbook.sheet_names:
            listed = ", ".join(f"'{s}'" for s in workbook.sheet_names)
            raise InvalidInput(f"{name} has no sheet '{wanted}'; its sheets are {listed}")
        table = _sheet_table(con, workbook, wanted, options, direct, hint=None)
        if table is None:
            raise InvalidInput(f"sheet '{wanted}' of {name} is empty")
        table.other_sheets = [s for s in worksheets if s != wanted]
        return [table]

    tables = []
    for position, sheet_name in enumerate(worksheets):
        table = _sheet_table(con, workbook, sheet_name, options, direct, hint=sheet_name if wanted else None)
        if table is None:
            continue
        tables.append(table)
        if wanted is None:
            # The first sheet with data; the sheets after it are not read, and the person is told so.
            table.other_sheets = worksheets[position + 1 :]
            if table.other_sheets:
                listed = ", ".join(f"'{s}'" for s in table.other_sheets)
                table.notes.append(
                    f"only sheet '{sheet_name}' was read; the workbook also has {listed}: "
                    "choose a sheet by name, or every sheet ('*')"
                )
            break
    if not tables:
        raise InvalidInput(f"{name} has no data in any sheet")
    return tables


def _sheet_table(
    con: duckdb.DuckDBPyConnection,
    workbook: CalamineWorkbook,
    sheet_name: str,
    options: ReadOptions,
    direct: DirectReader,
    hint: str | None,
) -> SourceTable | None:
    """The table on one sheet, or None when the sheet (or the chosen range of it) holds nothing."""
    if (found := direct.read(sheet_name)) is not None:
        table, layout = found
        return _source_table(con, table, layout, sheet_name, options, hint)
    sheet = workbook.get_sheet_by_name(sheet_name)
    grid = _grid(sheet, options.cell_range)
    layout = find_table(grid, options.layout)
    if layout.last_col < layout.first_col:
        return None
    arrays = [_column(cells) for cells in _columns(grid.rows, layout.data_rows, layout.first_col, layout.last_col)]
    table = pa.Table.from_arrays(arrays, names=[f"c{k + 1}" for k in range(len(arrays))])
    return _source_table(con, table, layout, sheet.name, options, hint)


def _source_table(
    con: duckdb.DuckDBPyConnection,
    table: pa.Table,
    layout: TableLayout,
    sheet_name: str,
    options: ReadOptions,
    hint: str | None,
) -> SourceTable:
    notes = [f"sheet '{sheet_name}'"]
    if options.cell_range is not None:
        notes.append(f"range {options.cell_range}")
    notes.extend(layout.notes())
    internal = [f"c{k + 1}" for k in range(table.num_columns)]
    relation = con.from_arrow(table.rename_columns(internal))
    # Project to the header's own names (duplicates and all); the sharing service normalises them.
    select = ", ".join(f"{col} AS {_ident(n)}" for col, n in zip(internal, layout.names, strict=True))
    return SourceTable(
        relation=relation.project(select),
        name_hint=hint,
        notes=notes,
        sheet=sheet_name,
        header_rows=layout.header_numbers,
        skipped=layout.skipped,
        row_count=table.num_rows,
    )


def _grid(sheet: CalamineSheet, cell_range: CellRange | None) -> Grid:
    """The sheet's cells from A1 (or the range's first cell), with its merged blocks in grid coordinates.

    This is where a sheet becomes cells in memory: checks on a sheet's size belong before this call.
    """
    rows: list[list[Cell]] = list(sheet.to_python(skip_empty_area=False))
    top, left = 0, 0
    if cell_range is not None:
        top, left = cell_range.first_row - 1, cell_range.first_col
        bottom = cell_range.last_row if cell_range.last_row is not None else len(rows)
        right = cell_range.last_col + 1 if cell_range.last_col is not None else None
        rows = [list(row[left:right]) for row in rows[top:bottom]]
    merged = []
    for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or []:
        r0, r1, c0, c1 = r0 - top, r1 - top, c0 - left, c1 - left
        if r1 < 0 or c1 < 0 or r0 >= len(rows):
            continue
        if r0 >= 0 and c0 >= 0:  # a block cut by the range keeps its value only where it starts
            merged.append((r0, c0, r1, c1))
    return Grid(
        rows=rows,
        numbers=list(range(top + 1, top + 1 + len(rows))),
        kind=_kind,
        value=_value,
        text=_text,
        merged=merged,
        origin=top + 1,
        empty=_empty,
    )


def _cells_grid(rows: list[list[Any]], numbers: list[int]) -> Grid:
    """A grid of cells as fastexcel's Arrow columns give them back (float, str, bool, datetime, None)."""
    return Grid(rows=rows, numbers=numbers, kind=_kind, value=_value, text=_text, empty=_empty)


def _columns(rows: list[list[Cell]], data: list[int], first: int, last: int) -> list[Any]:
    """The data rows' cells column by column, from `first` to `last` (one transpose when the rows are even)."""
    picked = [rows[i] for i in data]
    if len({len(row) for row in picked}) <= 1 and (not picked or len(picked[0]) > last):
        return list(zip(*picked, strict=True))[first : last + 1] if picked else [[] for _ in range(first, last + 1)]
    return [[row[j] for row in picked] for j in range(first, last + 1)]


_KIND_OF_TYPE: dict[type, Kind] = {
    bool: "bool",
    int: "number",
    float: "number",
    date: "date",
    datetime: "date",
    time: "date",
    timedelta: "date",
}


def _kind(cell: Cell | None) -> Kind:
    if type(cell) is str:  # the common cells first, by their exact type (a grid asks for every cell's kind)
        return "text" if cell.strip() else "empty"  # type: ignore[union-attr]
    if (kind := _KIND_OF_TYPE.get(type(cell))) is not None:
        return kind
    if cell is None:
        return "empty"
    if isinstance(cell, str):
        return "text" if cell.strip() else "empty"
    if isinstance(cell, bool):
        return "bool"
    if isinstance(cell, int | float):
        return "number"
    return "date"  # date, datetime, time, duration


def _value(cell: Cell | None) -> float | None:
    return float(cell) if isinstance(cell, int | float) and not isinstance(cell, bool) else None


def _empty(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _column(cells: list[Cell] | tuple[Cell, ...]) -> pa.Array:
    """One Arrow array with the narrowest type that holds every value; text when they disagree."""
    values = [None if _empty(c) else c for c in cells] if str in set(map(type, cells)) else list(cells)
    present = [v for v in values if v is not None]
    if (array := _uniform(values, present)) is not None:
        return array
    for test, arrow_type, convert in _TYPES:
        if present and all(test(v) for v in present):
            return pa.array([None if v is None else convert(v) for v in values], type=arrow_type)
    return pa.array([None if v is None else _text(v) for v in values], type=pa.string())


def _uniform(values: list[Any], present: list[Any]) -> pa.Array | None:
    """The common columns (every value of one type, or whole numbers) without a Python test per value; the
    same array as `_TYPES` gives. None: let `_TYPES` decide."""
    types = set(map(type, present))
    if not present or len(types) > 2:
        return None
    if types == {str}:
        return pa.array(values, type=pa.string())
    if types == {bool}:
        return pa.array(values, type=pa.bool_())
    if types == {date}:
        return pa.array(values, type=pa.date32())
    if types <= {int, float}:
        floats = [v for v in present if type(v) is float] if float in types else []
        whole = all(map(float.is_integer, floats)) and _INT64[0] <= min(present) and max(present) <= _INT64[1]
        if whole:
            return pa.array(values if types == {int} else [None if v is None else int(v) for v in values], pa.int64())
        if types == {float}:
            return pa.array(values, type=pa.float64())
    return None


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_whole(v: Any) -> bool:
    return _is_number(v) and float(v).is_integer() and _INT64[0] <= v <= _INT64[1]


def _is_date(v: Any) -> bool:
    return isinstance(v, date) and not isinstance(v, datetime)


def _to_datetime(v: date) -> datetime:
    return v if isinstance(v, datetime) else datetime.combine(v, time())


_TYPES: list[tuple[Callable[[Any], bool], pa.DataType, Callable[[Any], object]]] = [
    (lambda v: isinstance(v, bool), pa.bool_(), bool),
    (_is_whole, pa.int64(), int),
    (_is_number, pa.float64(), float),
    (_is_date, pa.date32(), lambda v: v),
    (lambda v: isinstance(v, date), pa.timestamp("us"), _to_datetime),
    (lambda v: isinstance(v, time), pa.time64("us"), lambda v: v),
    (lambda v: isinstance(v, str), pa.string(), lambda v: v),
]
"""Tried in order; durations (timedelta) fall through to text, as Iceberg has no interval type."""


def _text(v: Cell | None) -> str:
    """A value in a mixed column, written the way the spreadsheet shows it."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, date | time):
        return v.isoformat(sep=" ") if isinstance(v, datetime) else v.isoformat()
    return str(v)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
