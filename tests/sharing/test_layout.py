"""Spreadsheets as people make them: title rows, headers two rows deep, merged cells, totals and notes.

A table of cases, each a sheet made in code with the columns, types, rows and notes it must give.
Every case runs on each format it names (.xlsx, .xls, .ods, .csv): the spreadsheet readers and the
CSV reader share one layout finder (`threshold.sharing.readers.layout`). Add a case to pin a behaviour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pytest

from threshold.errors import InvalidInput
from threshold.sharing.readers import ReadOptions, read
from threshold.sharing.readers.layout import CellRange, HeaderRows
from workbooks import WRITERS, Rows

ALL = ("xlsx", "xls", "ods", "csv")
SPREADSHEETS = ("xlsx", "xls", "ods")
MERGING = ("xlsx", "xls")
"""Formats whose merged cells python-calamine reports (an .ods file's are not, a CSV file has none)."""

KPI_HEADER = ["Plant", "Day", "Scrap Rate", "Energy kWh"]
KPI_ROWS: Rows = [
    ["Berlin", date(2026, 1, 3), 0.12, 1520.5],
    ["Lyon", date(2026, 1, 4), 0.08, 980.25],
    ["Porto", date(2026, 1, 5), 0.05, 700.75],
]
KPI_TYPES = ["VARCHAR", "DATE", "DOUBLE", "DOUBLE"]
KPI_DATA = [tuple(r) for r in KPI_ROWS]


@dataclass
class Case:
    rows: Rows
    columns: list[str]
    types: list[str]
    data: list[tuple[object, ...]]
    header: list[int]
    """The header rows as the source numbers them (sheet rows; CSV lines, here the same)."""
    notes: list[str] = field(default_factory=list)
    """Notes the reader must give (each the whole text of one note)."""
    formats: tuple[str, ...] = ALL
    merged: list[str] = field(default_factory=list)
    options: ReadOptions = field(default_factory=ReadOptions)


CASES = {
    "the header in the first row": Case(
        [KPI_HEADER, *KPI_ROWS], KPI_HEADER, KPI_TYPES, KPI_DATA, [1], ["first row is the header"]
    ),
    "two title rows and a blank row above the header": Case(
        [["Plant KPI report, November 2026"], ["exported 2026-12-01 from SAP"], [], KPI_HEADER, *KPI_ROWS],
        KPI_HEADER,
        KPI_TYPES,
        KPI_DATA,
        [4],
        ["row 4 is the header", "left out rows 1–2, above the table (titles)"],
        formats=SPREADSHEETS,
    ),
    "title lines as wide as the table in a CSV export": Case(
        [["Plant KPI report", None, None, None], [None, None, None, None], KPI_HEADER, *KPI_ROWS],
        KPI_HEADER,
        KPI_TYPES,
        KPI_DATA,
        [3],
        ["line 3 is the header", "left out line 1, above the table (title)"],
        formats=("csv",),
    ),
    "a title merged across the table": Case(
        [["Plant KPI report"], KPI_HEADER, *KPI_ROWS],
        KPI_HEADER,
        KPI_TYPES,
        KPI_DATA,
        [2],
        ["row 2 is the header", "left out row 1, above the table (title)"],
        formats=MERGING,
        merged=["A1:D1"],
    ),
    "a total row whose numbers are the sums": Case(
        [KPI_HEADER, *KPI_ROWS, ["Total", None, 0.25, 3201.5]],
        KPI_HEADER,
        KPI_TYPES,
        KPI_DATA,
        [1],
        ["first row is the header", "left out row 5, a total: 'Total', the sum of the rows above"],
    ),
    "a German Summe row of averages is still a total": Case(
        [KPI_HEADER, *KPI_ROWS, ["Summe:", None, 0.0833, 1067.17]],
        KPI_HEADER,
        KPI_TYPES,
        KPI_DATA,
        [1],
        ["first row is the header", "left out row 5, a total: 'Summe:'"],
    ),
    "an unlabelled row of sums": Case(
        [["Plant", "Units", "Hours"], ["Berlin", 3, 10.5], ["Lyon", 4, 2.0], [None, 7, 12.5]],
        ["Plant", "Units", "Hours"],
        ["VARCHAR", "BIGINT", "DOUBLE"],
        [("Berlin", 3, 10.5), ("Lyon", 4, 2.0)],
        [1],
        ["first row is the header", "left out row 4, a total: no label, every number is the sum of the rows above"],
    ),
    "a last row that only looks like a total stays data": Case(
        [["Film", "Copies"], ["Alien", 3], ["Total Recall", 4]],
        ["Film", "Copies"],
        ["VARCHAR", "BIGINT"],
        [("Alien", 3), ("Total Recall", 4)],
        [1],
        ["first row is the header"],
    ),
    "a last row equal to the one above is not a sum": Case(
        [["Plant", "Units"], ["Berlin", 3], [None, 3]],
        ["Plant", "Units"],
        ["VARCHAR", "BIGINT"],
        [("Berlin", 3), (None, 3)],
        [1],
    ),
    "subtotals per group and a grand total": Case(
        [
            ["Plant", "Line", "Units"],
            ["Berlin", "A", 10],
            ["Berlin", "B", 5],
            ["Berlin Total", None, 15],
            ["Lyon", "A", 7],
            ["Lyon", "B", 1],
            ["Lyon Total", None, 8],
            ["Grand Total", None, 23],
        ],
        ["Plant", "Line", "Units"],
        ["VARCHAR", "VARCHAR", "BIGINT"],
        [("Berlin", "A", 10), ("Berlin", "B", 5), ("Lyon", "A", 7), ("Lyon", "B", 1)],
        [1],
        [
            "first row is the header",
            "left out rows 4, 7, subtotals: labelled like 'Berlin Total', each the sum of the rows above it",
            "left out row 8, a total: 'Grand Total', the sum of the rows above",
        ],
    ),
    "a unit row under the names": Case(
        [["Plant", "Energy", "Scrap"], [None, "kWh", "%"], ["Berlin", 1520.5, 0.12], ["Lyon", 980, 0.08]],
        ["Plant", "Energy kWh", "Scrap %"],
        ["VARCHAR", "DOUBLE", "DOUBLE"],
        [("Berlin", 1520.5, 0.12), ("Lyon", 980.0, 0.08)],
        [1, 2],
        ["rows 1–2 are the header (their names joined)"],
    ),
    "group labels over their columns": Case(
        [
            [None, "Energy", None, "Water", None],
            ["Plant", "kWh", "EUR", "m3", "EUR"],
            ["Berlin", 1520, 300.5, 12, 40.25],
            ["Lyon", 980, 190.0, 8, 20.5],
        ],
        ["Plant", "Energy kWh", "Energy EUR", "Water m3", "Water EUR"],
        ["VARCHAR", "BIGINT", "DOUBLE", "BIGINT", "DOUBLE"],
        [("Berlin", 1520, 300.5, 12, 40.25), ("Lyon", 980, 190.0, 8, 20.5)],
        [1, 2],
        ["rows 1–2 are the header (their names joined)"],
    ),
    "merged group labels": Case(
        [
            ["Plant", "Energy", None, "Water", None],
            [None, "kWh", "EUR", "m3", "EUR"],
            ["Berlin", 1520, 300.5, 12, 40.25],
            ["Lyon", 980, 190.0, 8, 20.5],
        ],
        ["Plant", "Energy kWh", "Energy EUR", "Water m3", "Water EUR"],
        ["VARCHAR", "BIGINT", "DOUBLE", "BIGINT", "DOUBLE"],
        [("Berlin", 1520, 300.5, 12, 40.25), ("Lyon", 980, 190.0, 8, 20.5)],
        [1, 2],
        formats=MERGING,
        merged=["A1:A2", "B1:C1", "D1:E1"],
    ),
    "a merged header cell over two columns names both": Case(
        [["Plant", "Shift", None, "Units"], ["Berlin", "early", "late", 3]],
        ["Plant", "Shift", "Shift 2", "Units"],
        ["VARCHAR", "VARCHAR", "VARCHAR", "BIGINT"],
        [("Berlin", "early", "late", 3)],
        [1],
        formats=MERGING,
        merged=["B1:C1"],
    ),
    "a vertically merged value fills its rows": Case(
        [["Plant", "Line", "Units"], ["Berlin", "A", 10], [None, "B", 5], ["Lyon", "A", 7]],
        ["Plant", "Line", "Units"],
        ["VARCHAR", "VARCHAR", "BIGINT"],
        [("Berlin", "A", 10), ("Berlin", "B", 5), ("Lyon", "A", 7)],
        [1],
        formats=MERGING,
        merged=["A2:A3"],
    ),
    "a note below the table": Case(
        [KPI_HEADER, *KPI_ROWS, [], ["Source: SAP export, figures preliminary"]],
        KPI_HEADER,
        KPI_TYPES,
        KPI_DATA,
        [1],
        ["first row is the header", "left out row 6, a note below the table"],
    ),
    "blank rows inside the table are left out": Case(
        [KPI_HEADER, KPI_ROWS[0], [], KPI_ROWS[1], KPI_ROWS[2]],
        KPI_HEADER,
        KPI_TYPES,
        KPI_DATA,
        [1],
        ["first row is the header", "left out row 3, blank"],
        formats=SPREADSHEETS,
    ),
    "a row of spaces inside the table is blank": Case(
        [KPI_HEADER, KPI_ROWS[0], ["  ", " ", None, "   "], KPI_ROWS[1], KPI_ROWS[2]],
        KPI_HEADER,
        KPI_TYPES,
        KPI_DATA,
        [1],
        ["first row is the header", "left out row 3, blank"],
        formats=("xlsx",),
    ),
    "a column filled only in the last row is read": Case(
        [["id", "amount"], [1, 2], [3, 4], [5, 6, "late"]],
        ["id", "amount", "column_3"],
        ["BIGINT", "BIGINT", "VARCHAR"],
        [(1, 2, None), (3, 4, None), (5, 6, "late")],
        [1],
        ["first row is the header"],
        formats=SPREADSHEETS,
    ),
    "a header naming only some columns": Case(
        [["id", None, None, None, "name"], [1, 2, 3, 4, "a"], [2, 3, 4, 5, "b"]],
        ["id", "column_2", "column_3", "column_4", "name"],
        ["BIGINT", "BIGINT", "BIGINT", "BIGINT", "VARCHAR"],
        [(1, 2, 3, 4, "a"), (2, 3, 4, 5, "b")],
        [1],
        ["first row is the header"],
    ),
    "a first data row of missing values is data, not units": Case(
        [["id", "amount"], ["n/a", "n/a"], [1, 2.5], [3, 4.5]],
        ["id", "amount"],
        ["VARCHAR", "VARCHAR"],
        [("n/a", "n/a"), ("1", "2.5"), ("3", "4.5")],
        [1],
        ["first row is the header"],
        formats=SPREADSHEETS,
    ),
    "a first row with numbers is data": Case(
        [["Berlin", 3, 1.5], ["Lyon", 4, 2.5]],
        ["column_1", "column_2", "column_3"],
        ["VARCHAR", "BIGINT", "DOUBLE"],
        [("Berlin", 3, 1.5), ("Lyon", 4, 2.5)],
        [],
        ["no header row: columns are named column_1, column_2..."],
    ),
    "the header row chosen": Case(
        [["Report", "KPI", "November"], ["Plant", "Day", "Units"], ["Berlin", date(2026, 1, 3), 3]],
        ["Plant", "Day", "Units"],
        ["VARCHAR", "DATE", "BIGINT"],
        [("Berlin", date(2026, 1, 3), 3)],
        [2],
        ["row 2 is the header", "left out row 1, above the table (title)"],
        formats=SPREADSHEETS,
        options=ReadOptions(header=HeaderRows(2, 2)),
    ),
    "header rows chosen two deep": Case(
        [["Plant", "Energy"], ["", "kWh"], ["Berlin", "n/a"], ["Lyon", "980"]],
        ["Plant", "Energy kWh"],
        ["VARCHAR", "VARCHAR"],
        [("Berlin", "n/a"), ("Lyon", "980")],
        [1, 2],
        ["rows 1–2 are the header (their names joined)"],
        options=ReadOptions(header=HeaderRows(1, 2)),
    ),
    "no header row, as chosen": Case(
        [["Plant", "Units"], ["Berlin", 3]],
        ["column_1", "column_2"],
        ["VARCHAR", "VARCHAR"],
        [("Plant", "Units"), ("Berlin", "3")],
        [],
        ["no header row: columns are named column_1, column_2..."],
        options=ReadOptions(header=HeaderRows(0, 0)),
    ),
    "rows skipped as asked": Case(
        [["Plant", "Units"], ["Berlin", 3], ["Plant", "Hours"], ["Lyon", 2.5]],
        ["Plant", "Hours"],
        ["VARCHAR", "DOUBLE"],
        [("Lyon", 2.5)],
        [3],
        ["row 3 is the header", "left out rows 1–2, skipped as asked: the first 2"],
        formats=SPREADSHEETS,
        options=ReadOptions(skip_rows=2),
    ),
    "a range of cells": Case(
        [["ignore me", None, None, None], [None, "Plant", "Units", "x"], [None, "Berlin", 3, "y"], [None, "Total", 3]],
        ["Plant", "Units"],
        ["VARCHAR", "BIGINT"],
        [("Berlin", 3)],
        [2],
        ["range B2:C4", "row 2 is the header", "left out row 4, a total: 'Total'"],
        formats=SPREADSHEETS,
        options=ReadOptions(cell_range=CellRange.parse("B2:C4")),
    ),
    "totals kept when asked": Case(
        [KPI_HEADER, *KPI_ROWS, ["Total", None, 0.25, 3201.5]],
        KPI_HEADER,
        KPI_TYPES,
        [*KPI_DATA, ("Total", None, 0.25, 3201.5)],
        [1],
        ["first row is the header"],
        options=ReadOptions(totals=False),
    ),
}


def _cases() -> list[object]:
    return [pytest.param(case, fmt, id=f"{name} [{fmt}]") for name, case in CASES.items() for fmt in case.formats]


@pytest.mark.parametrize(("case", "fmt"), _cases())
def test_finds_the_table(tmp_path: Path, case: Case, fmt: str) -> None:
    path = WRITERS[fmt](tmp_path / f"report.{fmt}", {"KPIs": case.rows}, {"KPIs": case.merged})
    staging = tmp_path / "staging"
    staging.mkdir()
    [table] = read(path, duckdb.connect(), staging, case.options)

    assert table.relation.columns == case.columns
    assert [str(t) for t in table.relation.types] == case.types
    assert table.relation.fetchall() == case.data
    assert table.header_rows == case.header
    for note in case.notes:
        if fmt == "csv":  # a text file numbers lines, not rows
            note = re.sub(r"\brow(s?) (\d)", r"line\1 \2", note)
        assert note in table.notes, table.notes
    said = " ".join(table.notes)
    if not any("left out" in n for n in case.notes):
        assert "left out" not in said, table.notes  # nothing is left out that the case does not expect


BAD_OPTIONS = {
    "a header row outside the sheet": (ReadOptions(header=HeaderRows(40, 40)), "header row 40 is outside the table"),
    "an empty header row": (ReadOptions(header=HeaderRows(2, 2), skip_rows=0), "header row 2 is empty"),
    "a header row among the skipped": (ReadOptions(header=HeaderRows(1, 1), skip_rows=2), "header row 1 is among"),
    "a sheet that is not there": (ReadOptions(sheet="Nope"), "report.xlsx has no sheet 'Nope'"),
}


@pytest.mark.parametrize(("options", "message"), BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_refuses_options_that_do_not_fit(tmp_path: Path, options: ReadOptions, message: str) -> None:
    path = WRITERS["xlsx"](tmp_path / "report.xlsx", {"KPIs": [["Plant KPIs"], [], KPI_HEADER, *KPI_ROWS]})
    with pytest.raises(InvalidInput, match=message):
        read(path, duckdb.connect(), tmp_path, options)


PARSED = {
    "3": HeaderRows(3, 3),
    "3-4": HeaderRows(3, 4),
    " 3:4 ": HeaderRows(3, 4),
    "0": HeaderRows(0, 0),
    "none": HeaderRows(0, 0),
}


@pytest.mark.parametrize(("text", "parsed"), PARSED.items(), ids=PARSED.keys())
def test_parses_header_rows(text: str, parsed: HeaderRows) -> None:
    assert HeaderRows.parse(text) == parsed


@pytest.mark.parametrize("text", ["x", "4-3", "-1", "1-20", "3;4"])
def test_refuses_header_rows_that_are_no_rows(text: str) -> None:
    with pytest.raises(InvalidInput, match="header row"):
        HeaderRows.parse(text)


RANGES = {
    "A5:H200": CellRange(5, 0, 200, 7),
    "$b$3:$AA$10": CellRange(3, 1, 10, 26),
    "C4:F": CellRange(4, 2, None, 5),
    "D7": CellRange(7, 3, None, None),
}


@pytest.mark.parametrize(("text", "parsed"), RANGES.items(), ids=RANGES.keys())
def test_parses_ranges(text: str, parsed: CellRange) -> None:
    assert CellRange.parse(text) == parsed


@pytest.mark.parametrize("text", ["5:H", "A5:B2", "H1:A9", "Sheet1!A1:B2", "A1:B2:C3"])
def test_refuses_ranges_that_are_no_blocks(text: str) -> None:
    with pytest.raises(InvalidInput, match="range"):
        CellRange.parse(text)


def test_a_csv_file_has_no_range_or_sheets(tmp_path: Path) -> None:
    path = WRITERS["csv"](tmp_path / "report.csv", {"S": [KPI_HEADER, *KPI_ROWS]})
    for options, message in (
        (ReadOptions(cell_range=CellRange.parse("A1:B2")), "a range of cells applies to spreadsheets"),
        (ReadOptions(sheet="KPIs"), "report.csv is a text file: it has no sheets"),
    ):
        with pytest.raises(InvalidInput, match=message):
            read(path, duckdb.connect(), tmp_path, options)
