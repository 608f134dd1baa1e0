"""The spreadsheet reader: .xlsx/.xlsm (openpyxl), .xls (xlwt) and .ods files made here (tests/workbooks.py), read back.

Type inference is a table: the cells of one column and the type and values they must give.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from threshold.errors import InvalidInput
from threshold.sharing.readers import ReadOptions, SourceTable
from threshold.sharing.readers.excel import read_excel
from workbooks import Rows, ods, xls, xlsx


def _read(path: Path, sheet: str | None = None) -> list[SourceTable]:
    return read_excel(path, duckdb.connect(), path.parent, ReadOptions(sheet=sheet))


COLUMN_TYPES = {
    "whole numbers": ([1, 2.0, -3], "BIGINT", [1, 2, -3]),
    "numbers with fractions": ([1, 2.5, None], "DOUBLE", [1.0, 2.5, None]),
    "booleans": ([True, False, None], "BOOLEAN", [True, False, None]),
    "dates": ([date(2026, 1, 2), date(2026, 12, 31)], "DATE", [date(2026, 1, 2), date(2026, 12, 31)]),
    "date-times": (
        [datetime(2026, 1, 2, 3, 4, 5), datetime(2026, 1, 2, 23, 0)],
        "TIMESTAMP",
        [datetime(2026, 1, 2, 3, 4, 5), datetime(2026, 1, 2, 23, 0)],
    ),
    "times": ([time(10, 30), time(23, 59, 1)], "TIME", [time(10, 30), time(23, 59, 1)]),
    "text": (["a", "Grüße", None], "VARCHAR", ["a", "Grüße", None]),
    "durations become text (Iceberg has no interval)": (
        [timedelta(hours=36), timedelta(minutes=5)],
        "VARCHAR",
        ["1 day, 12:00:00", "0:05:00"],
    ),
    "mixed values become text": ([1, "x", 2.5, True], "VARCHAR", ["1", "x", "2.5", "TRUE"]),
    "only empty cells": ([None, None], "VARCHAR", [None, None]),
}


@pytest.mark.parametrize(("cells", "sql_type", "values"), COLUMN_TYPES.values(), ids=COLUMN_TYPES.keys())
def test_infers_column_type(tmp_path: Path, cells: list[object], sql_type: str, values: list[object]) -> None:
    rows: Rows = [["key", "value"], *([i, cell] for i, cell in enumerate(cells))]
    [table] = _read(xlsx(tmp_path / "t.xlsx", {"S": rows}))
    assert [str(t) for t in table.relation.types] == ["BIGINT", sql_type]
    assert [value for _, value in table.relation.order("key").fetchall()] == values


WRITERS = {"xlsx": xlsx, "xlsm": xlsx, "xls": xls, "ods": ods}


@pytest.mark.parametrize("suffix", WRITERS)
def test_reads_every_format(tmp_path: Path, suffix: str) -> None:
    rows: Rows = [
        ["Name", "Anzahl", "Preis", "Seit"],
        ["Hund", 4, 1.5, date(2020, 5, 1)],
        ["Huhn", 2, 0.25, None],
    ]
    [table] = _read(WRITERS[suffix](tmp_path / f"t.{suffix}", {"Tiere": rows}))
    assert table.relation.columns == ["Name", "Anzahl", "Preis", "Seit"]
    assert [str(t) for t in table.relation.types] == ["VARCHAR", "BIGINT", "DOUBLE", "DATE"]
    assert table.relation.fetchall() == [("Hund", 4, 1.5, date(2020, 5, 1)), ("Huhn", 2, 0.25, None)]
    assert table.notes == ["sheet 'Tiere'", "first row is the header"]


def test_skips_empty_rows_and_columns_around_the_table_and_blank_rows_inside(tmp_path: Path) -> None:
    rows: Rows = [
        [],
        [None, None, None],
        [None, "id", None, "name"],
        [None, 1, None, "a"],
        [None, None, None, None],
        [None, 2, None, "b"],
        [None, None, None, "   "],
    ]
    [table] = _read(xlsx(tmp_path / "t.xlsx", {"S": rows}))
    assert table.relation.columns == ["id", "column_2", "name"]
    assert table.relation.fetchall() == [(1, None, "a"), (2, None, "b")]
    assert "left out row 5, blank" in table.notes


def test_header_names_are_kept_exactly(tmp_path: Path) -> None:
    rows: Rows = [["Kunde Nr", "Kunde Nr", " Größe (cm) ", None], [1, 2, 3, 4]]
    [table] = _read(xlsx(tmp_path / "t.xlsx", {"S": rows}))
    assert table.relation.columns == ["Kunde Nr", "Kunde Nr", " Größe (cm) ", "column_4"]
    assert table.relation.fetchall() == [(1, 2, 3, 4)]


def test_a_first_row_with_numbers_is_data(tmp_path: Path) -> None:
    [table] = _read(xlsx(tmp_path / "t.xlsx", {"S": [[1, "a"], [2, "b"]]}))
    assert table.relation.columns == ["column_1", "column_2"]
    assert table.relation.fetchall() == [(1, "a"), (2, "b")]
    assert "no header row" in table.notes[1]


def test_a_header_alone_gives_zero_rows(tmp_path: Path) -> None:
    [table] = _read(xlsx(tmp_path / "t.xlsx", {"S": [["a", "b"]]}))
    assert table.relation.columns == ["a", "b"]
    assert table.relation.fetchall() == []


SHEETS: dict[str, Rows] = {
    "Leer": [],
    "Umsatz": [["Monat", "Betrag"], ["Jan", 10]],
    "Kosten": [["Posten"], ["Miete"]],
}


@pytest.mark.parametrize(
    ("sheet", "expected"),
    [
        pytest.param(None, [(None, [("Jan", 10)])], id="the first sheet with data"),
        pytest.param("Kosten", [(None, [("Miete",)])], id="a sheet by name"),
        pytest.param("*", [("Umsatz", [("Jan", 10)]), ("Kosten", [("Miete",)])], id="every sheet with data"),
    ],
)
def test_chooses_sheets(tmp_path: Path, sheet: str | None, expected: list[tuple[str | None, list[object]]]) -> None:
    tables = _read(xlsx(tmp_path / "t.xlsx", SHEETS), sheet)
    assert [(t.name_hint, t.relation.fetchall()) for t in tables] == expected


BAD_FILES = {
    "a sheet that does not exist": (
        lambda p: xlsx(p, SHEETS),
        "Gewinn",
        "t.xlsx has no sheet 'Gewinn'; its sheets are 'Leer', 'Umsatz', 'Kosten'",
    ),
    "an empty sheet asked for by name": (
        lambda p: xlsx(p, SHEETS),
        "Leer",
        "sheet 'Leer' of t.xlsx is empty",
    ),
    "a workbook without data": (
        lambda p: xlsx(p, {"A": [], "B": [[None]]}),
        None,
        "t.xlsx has no data in any sheet",
    ),
    "text named .xlsx": (lambda p: p.write_text("a,b\n1,2\n"), None, "t.xlsx is not a readable spreadsheet"),
    "a truncated workbook": (
        lambda p: p.write_bytes(xlsx(p, SHEETS).read_bytes()[:300]),
        None,
        "t.xlsx is not a readable spreadsheet",
    ),
}


@pytest.mark.parametrize(("make", "sheet", "message"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_refuses_bad_workbook(tmp_path: Path, make: Callable[[Path], object], sheet: str | None, message: str) -> None:
    path = tmp_path / "t.xlsx"
    make(path)
    with pytest.raises(InvalidInput) as refused:
        _read(path, sheet)
    assert str(refused.value).startswith(message)
    assert str(tmp_path) not in str(refused.value)


def test_reads_an_xls_file_namedxlsx(tmp_path: Path) -> None:
    legacy = xls(tmp_path / "t.xls", {"S": [["a"], [1]]})
    path = tmp_path / "t.xlsx"
    path.write_bytes(legacy.read_bytes())
    [table] = _read(path)
    assert table.relation.fetchall() == [(1,)]


COLUMN_CASES = [
    [1, 2, "", 3],
    [1.0, 2.0, " ", None],
    [1, 2.5, ""],
    [1.5, float("nan"), 2.0],
    [2**63, 1],
    [True, False, ""],
    [True, 1],
    ["a", "", "b"],
    [date(2026, 1, 1), "", date(2026, 1, 2)],
    [date(2026, 1, 1), datetime(2026, 1, 2, 3, 4)],
    [time(1, 2), ""],
    [timedelta(hours=1), 1],
    ["", " ", None],
]


@pytest.mark.parametrize("cells", COLUMN_CASES)
def test_a_column_gets_the_type_the_rule_table_gives(cells: list[Any]) -> None:
    """The fast paths for uniform columns build the very array the rules (`_TYPES`, tried in order) build."""
    from threshold.sharing.readers import excel

    values = [None if excel._empty(c) else c for c in cells]
    present = [v for v in values if v is not None]
    expected = next(
        (
            pa.array([None if v is None else convert(v) for v in values], type=arrow_type)
            for test, arrow_type, convert in excel._TYPES
            if present and all(test(v) for v in present)
        ),
        pa.array([None if v is None else excel._text(v) for v in values], type=pa.string()),
    )
    got = excel._column(tuple(cells))
    assert got.type == expected.type
    assert got.to_pylist() == expected.to_pylist() or str(got) == str(expected)  # nan != nan


# -- the direct path (fastexcel into Arrow) gives what the grid gives ------------------------------------------


def _long(rows: int, label: Callable[[int], object] = lambda i: f"item {i}") -> Rows:
    return [
        ["name", "count", "price", "day"],
        *([label(i), i, i + 0.5, date(2026, 1, 1 + i % 28)] for i in range(rows)),
    ]


DIRECT_CASES: dict[str, tuple[Rows, bool]] = {
    "a plain table": (_long(300), True),
    "a totals row at the bottom": (
        [*_long(300), ["Total", sum(range(300)), sum(i + 0.5 for i in range(300)), None]],
        True,
    ),
    "notes below the table": ([*_long(300), [], ["Source: an export"]], True),
    "a blank row in the middle": ([*_long(150), [], *_long(150)[1:]], False),
    "a subtotal in the middle": (
        [*_long(150), ["Total Berlin", sum(range(150)), None, None], *_long(150)[1:]],
        False,
    ),
    "a short table": (_long(5), True),
    "whole numbers as floats, fractions, booleans and text": (
        [["a", "b", "c", "d"], *([float(i), i / 4, i % 2 == 0, f" x{i} "] for i in range(200))],
        True,
    ),
    "a header that is a number": ([[2024, "b"], *([i, "x"] for i in range(10))], False),
    "a title above the header": ([["Report"], *_long(20)], False),
    "n/a among numbers": ([["a", "b"], ["n/a", 1], *([i, i] for i in range(10))], False),
    "a time of day": ([["a", "t"], *([i, time(10, i)] for i in range(10))], False),
    "a column mixing numbers and text": ([["a", "b"], *([i, i if i % 2 else "x"] for i in range(10))], False),
    "an empty column inside": ([["a", "", "c"], *([i, None, str(i)] for i in range(10))], True),
    "date-times": ([["a", "at"], *([i, datetime(2026, 1, 2, 3, i)] for i in range(10))], True),
}


@pytest.mark.parametrize(("rows", "direct"), DIRECT_CASES.values(), ids=DIRECT_CASES.keys())
def test_the_direct_path_gives_what_the_grid_gives(tmp_path: Path, rows: Rows, direct: bool) -> None:
    from threshold.sharing.readers.direct import DirectReader
    from threshold.sharing.readers.excel import _cells_grid
    from threshold.sharing.readers.layout import CellRange

    path = xlsx(tmp_path / "t.xlsx", {"S": rows})
    taken = DirectReader(path, {"S"}, ReadOptions(), _cells_grid).read("S") is not None
    assert taken is direct
    [fast] = _read(path)
    con = duckdb.connect()
    [grid] = read_excel(path, con, tmp_path, ReadOptions(cell_range=CellRange.parse("A1")))  # a range: the grid
    assert fast.relation.columns == grid.relation.columns
    assert [str(t) for t in fast.relation.types] == [str(t) for t in grid.relation.types]
    assert fast.relation.fetchall() == grid.relation.fetchall()
    assert (fast.skipped, fast.header_rows, fast.row_count) == (grid.skipped, grid.header_rows, grid.row_count)
    assert fast.notes == [n for n in grid.notes if n != "range A1"]


def test_the_size_check_names_the_sheets_the_direct_path_may_take(tmp_path: Path) -> None:
    from threshold.limits.settings import LimitSettings
    from threshold.sharing.readers.sheet_size import check

    path = xlsx(
        tmp_path / "t.xlsx",
        {"Plain": [["a"], [1]], "Later": [[None], [None, "a"], [None, 1]], "Merged": [["a", "b"], [1, 2]]},
        {"Merged": ["A1:B1"]},
    )
    assert check(path, LimitSettings()).plain_sheets == {"Plain"}
    assert check(xls(tmp_path / "t.xls", {"S": [["a"], [1]]}), LimitSettings()).plain_sheets == set()


def test_the_direct_path_logs_no_type_guesses(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """fastexcel's own type guesses ("falling back to string" for an empty column) are not a share's output: a CLI
    share would print them on stderr."""
    caplog.set_level(logging.WARNING)
    path = xlsx(tmp_path / "t.xlsx", {"S": [["a", "", "c"], *([i, None, str(i)] for i in range(10))]})
    [table] = _read(path)
    assert [str(t) for t in table.relation.types] == ["BIGINT", "VARCHAR", "VARCHAR"]
    assert [r.getMessage() for r in caplog.records if r.name.startswith("fastexcel")] == []
