"""Excel and OpenDocument spreadsheets (.xlsx, .xlsm, .xls, .ods), read with python-calamine.

A sheet is small enough to hold in memory (Excel stops at 1,048,576 rows), so each sheet becomes
an Arrow table with one inferred type per column and DuckDB reads that.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook, SheetTypeEnum

from threshold.errors import InvalidInput
from threshold.sharing.readers.sheet_size import check as measure_spreadsheet
from threshold.sharing.readers.source import ReadOptions, SourceTable

Cell = int | float | str | bool | time | date | datetime | timedelta
"""What calamine gives per cell; "" when empty."""

_INT64 = (-(2**63), 2**63 - 1)


def read_excel(path: Path, con: duckdb.DuckDBPyConnection, staging: Path, options: ReadOptions) -> list[SourceTable]:
    name = path.name
    measure_spreadsheet(path, options.limits)  # before any grid is built: a tiny file can declare a huge sheet
    try:
        with path.open("rb") as f:
            # From the bytes, not the suffix: an .xls saved as .xlsx still opens.
            workbook = CalamineWorkbook.from_filelike(f)
            return _read_sheets(name, workbook, con, options.sheet)
    except CalamineError as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InvalidInput(f"{name} is not a readable spreadsheet ({reason})") from None


def _read_sheets(
    name: str, workbook: CalamineWorkbook, con: duckdb.DuckDBPyConnection, wanted: str | None
) -> list[SourceTable]:
    worksheets = [m.name for m in workbook.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
    if wanted not in (None, "*"):
        if wanted not in workbook.sheet_names:
            listed = ", ".join(f"'{s}'" for s in workbook.sheet_names)
            raise InvalidInput(f"{name} has no sheet '{wanted}'; its sheets are {listed}")
        rows = _trim(_rows(workbook.get_sheet_by_name(wanted)))
        if not rows:
            raise InvalidInput(f"sheet '{wanted}' of {name} is empty")
        return [_table(con, wanted, rows, hint=None)]

    tables = []
    for sheet_name in worksheets:
        rows = _trim(_rows(workbook.get_sheet_by_name(sheet_name)))
        if rows:
            tables.append(_table(con, sheet_name, rows, hint=sheet_name if wanted == "*" else None))
            if wanted is None:
                break
    if not tables:
        raise InvalidInput(f"{name} has no data in any sheet")
    return tables


def _rows(sheet: CalamineSheet) -> list[list[Cell]]:
    return list(sheet.to_python(skip_empty_area=False))


def _empty(cell: Cell) -> bool:
    return isinstance(cell, str) and not cell.strip()


def _trim(rows: list[list[Cell]]) -> list[list[Cell]]:
    """Drop empty rows and columns around the data (not empty ones inside it)."""
    filled = [i for i, row in enumerate(rows) if not all(_empty(c) for c in row)]
    if not filled:
        return []
    rows = rows[filled[0] : filled[-1] + 1]
    width = max(len(row) for row in rows)
    rows = [list(row) + [""] * (width - len(row)) for row in rows]
    used = [j for j in range(width) if not all(_empty(row[j]) for row in rows)]
    return [row[used[0] : used[-1] + 1] for row in rows]


def _table(con: duckdb.DuckDBPyConnection, sheet: str, rows: list[list[Cell]], hint: str | None) -> SourceTable:
    notes = [f"sheet '{sheet}'"]
    first = rows[0]
    if all(isinstance(c, str) for c in first if not _empty(c)):
        names = [str(c) if not _empty(c) else f"column_{j + 1}" for j, c in enumerate(first)]
        rows = rows[1:]
        notes.append("first row is the header")
    else:
        names = [f"column_{j + 1}" for j in range(len(first))]
        notes.append("no header row: columns are named column_1, column_2...")

    arrays = [_column([row[j] for row in rows]) for j in range(len(names))]
    internal = [f"c{j + 1}" for j in range(len(names))]
    relation = con.from_arrow(pa.Table.from_arrays(arrays, names=internal))
    # Project to the header's own names (duplicates and all); the sharing service normalises them.
    select = ", ".join(f"{col} AS {_ident(n)}" for col, n in zip(internal, names, strict=True))
    return SourceTable(relation=relation.project(select), name_hint=hint, notes=notes)


def _column(cells: list[Cell]) -> pa.Array:
    """One Arrow array with the narrowest type that holds every value; text when they disagree."""
    values = [None if _empty(c) else c for c in cells]
    present = [v for v in values if v is not None]
    for test, arrow_type, convert in _TYPES:
        if present and all(test(v) for v in present):
            return pa.array([None if v is None else convert(v) for v in values], type=arrow_type)
    return pa.array([None if v is None else _text(v) for v in values], type=pa.string())


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


def _text(v: Cell) -> str:
    """A value in a mixed column, written the way the spreadsheet shows it."""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, date | time):
        return v.isoformat(sep=" ") if isinstance(v, datetime) else v.isoformat()
    return str(v)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
