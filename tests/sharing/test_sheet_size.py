"""The spreadsheet size check counts a sheet's cells however its writer spelled them."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from threshold.errors import InvalidInput, TooLarge
from threshold.limits.settings import LimitSettings
from threshold.sharing.readers.sheet_size import check

SHEET = '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"{ns}><sheetData>{rows}</sheetData></worksheet>'
CELLS = {
    "plain": ("", '<c t="n"><v>1</v></c>'),
    "no attributes": ("", "<c><v>1</v></c>"),
    "empty element": ("", "<c/>"),
    "attribute on the next line": ("", '<c\nt="n"><v>1</v></c>'),
    "namespace prefix": (
        ' xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"',
        "<x:c><x:v>1</x:v></x:c>",
    ),
}
"""Six cells of a row without positions (`r`): only their count can refuse them."""


def _workbook(path: Path, ns: str, cell: str) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("xl/worksheets/sheet1.xml", SHEET.format(ns=ns, rows=f"<row>{cell * 6}</row>"))
    return path


@pytest.mark.parametrize("spelling", list(CELLS))
def test_cells_are_counted_however_they_are_written(tmp_path: Path, spelling: str) -> None:
    path = _workbook(tmp_path / "cells.xlsx", *CELLS[spelling])
    check(path, LimitSettings(spreadsheet_cells=6))  # six cells: within the limit
    with pytest.raises(TooLarge, match="sheet sheet1 holds more than 5 cells"):
        check(path, LimitSettings(spreadsheet_cells=5))


ROWS: dict[str, list[tuple[int | str, str]]] = {
    "in order": [(r, c) for r in range(1, 400) for c in "ABCH"],
    "a far row early": [(5, "A"), (1_048_000, "B"), *((r, c) for r in range(6, 300) for c in "AB")],
    "a far column early": [(5, "A"), (6, "ZZ"), *((r, c) for r in range(7, 300) for c in "AB")],
    "a larger row with the same digits": [(9, "A"), (9_999, "A"), *((r, c) for r in range(1_000, 1_200) for c in "AB")],
    "leading zeros last": [("300", "A"), *((f"0{r}", "A") for r in range(100, 299))],
    "wide rows": [(r, c) for r in range(1, 100) for c in ("A", "AB", "XFD")],
    "column Z last": [(r, c) for r in range(1, 100) for c in "AZ"],
}


@pytest.mark.parametrize("cells", ROWS.values(), ids=ROWS.keys())
def test_the_farthest_cell_is_found_wherever_it_is(cells: list[tuple[int | str, str]]) -> None:
    from threshold.sharing.readers import sheet_size

    body = "".join(f'<c r="{c}{r}"><v>1</v></c>' for r, c in cells).encode()
    extent = sheet_size._Extent("t.xlsx", "sheet1", LimitSettings(spreadsheet_cells=10**12))
    sheet_size._add_refs(extent, body)
    assert (extent.rows, extent.cols) == (
        max(int(r) for r, _ in cells),
        max(sheet_size._column(c.encode()) for _, c in cells),
    )


BLOCKS: dict[str, tuple[str, int, int, bool]] = {
    # body of one block -> cells counted at least, farthest row, farthest column, merges cells
    "in order": ("".join(f'<c r="{c}{r}"><v>1</v></c>' for r in range(1, 500) for c in "AB"), 998, 499, False),
    "a far row in the middle": (
        '<c r="A1"><v>1</v></c><c r="B7000000"><v>1</v></c>' + '<c r="B9"><v>1</v></c>' * 50,
        52,
        7_000_000,
        False,
    ),
    "a namespace-prefixed cell": (
        '<c r="A1"><v>1</v></c><x:c r="A2"><x:v>1</x:v></x:c><c r="A3"><v>1</v></c>',
        3,
        3,
        False,
    ),
    "merged cells": ('<c r="A1"><v>1</v></c><c r="B2"><v>1</v></c><mergeCell ref="A1:B1"/>', 2, 2, True),
}


@pytest.mark.parametrize("block", BLOCKS.values(), ids=BLOCKS.keys())
def test_a_block_is_measured_the_same_on_the_fast_path_and_off_it(block: tuple[str, int, int, bool]) -> None:
    """The usual block takes one search; a far position, a prefixed cell or a merged cell sends it to the
    position-by-position reading, which must see them."""
    from threshold.sharing.readers import sheet_size

    body, cells, rows, merges = block
    extent = sheet_size._Extent("t.xlsx", "sheet1", LimitSettings(spreadsheet_cells=10**12))
    assert sheet_size._measure(extent, body.encode()) is merges
    assert extent.cells >= cells
    assert extent.rows == rows
    assert extent.cols == (2 if body.count('r="B') else 1)


def test_a_check_ahead_gives_what_the_check_gives_refusals_included(tmp_path: Path) -> None:
    """The share starts the check on its own thread; the reader gets its answer, or its refusal, from it."""
    import threading

    from threshold.sharing.readers.sheet_size import Ahead, Stopped

    path = _workbook(tmp_path / "cells.xlsx", *CELLS["plain"])
    assert Ahead(path, LimitSettings(spreadsheet_cells=6)).result() == check(path, LimitSettings(spreadsheet_cells=6))
    refused = Ahead(path, LimitSettings(spreadsheet_cells=5))
    with pytest.raises(TooLarge, match="sheet sheet1 holds more than 5 cells"):
        refused.result()
    stop = threading.Event()
    stop.set()  # what `Ahead.cancel` sets: a share that failed before reading stops the check
    with pytest.raises(Stopped):
        check(path, LimitSettings(), stop)


def test_a_share_starts_the_check_ahead_for_spreadsheets_only(tmp_path: Path) -> None:
    from threshold.sharing import readers

    book = _workbook(tmp_path / "cells.xlsx", *CELLS["plain"])
    text = tmp_path / "t.csv"
    text.write_text("a\n1\n")
    options = readers.ReadOptions()
    ahead = readers.check_ahead(str(book), options).ahead
    assert ahead is not None and ahead.result().plain_sheets == set()  # no sheet names in this bare workbook
    assert readers.check_ahead(text, options).ahead is None
    assert readers.check_ahead(tmp_path / "missing.xlsx", options).ahead is None
    assert readers.check_ahead(object(), options).ahead is None


def _central_patch(path: Path, offset: int, value: int) -> None:
    """Rewrite one 4-byte field of the sheet's central directory entry (16: CRC, 20: compressed, 24: size)."""
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02")  # the workbook has one part
    data[entry + offset : entry + offset + 4] = value.to_bytes(4, "little")
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("stored", [False, True], ids=["deflated", "stored"])
def test_the_check_inflates_a_part_to_the_bytes_zipfile_gives(tmp_path: Path, stored: bool) -> None:
    from threshold.sharing.readers import sheet_size

    body = "".join(f'<row r="{r}"><c r="A{r}"><v>{r * 7919 % 1000}</v></c></row>' for r in range(1, 40_000))
    path = tmp_path / "sheet.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", SHEET.format(ns="", rows=body))
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
        parts = list(sheet_size._inflated(archive, info, 64 * 1024))
        assert b"".join(parts) == archive.read(info)
        assert max(len(p) for p in parts) <= 64 * 1024 and len(parts) > 2


@pytest.mark.parametrize(
    ("field", "change", "why"),
    [(16, 1, "CRC"), (24, -100, "more than its header says"), (20, -200, "ends before its compressed data")],
    ids=["bad CRC", "larger than its header says", "compressed data cut short"],
)
def test_a_part_that_is_not_what_its_header_says_is_refused(tmp_path: Path, field: int, change: int, why: str) -> None:
    path = tmp_path / "liar.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", SHEET.format(ns="", rows=f"<row>{'<c><v>1</v></c>' * 3000}</row>"))
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
        was = {16: info.CRC, 20: info.compress_size, 24: info.file_size}[field]
    _central_patch(path, field, (was + change) % 2**32)
    with pytest.raises(InvalidInput, match=f"liar.xlsx is not a readable spreadsheet .*{why}"):
        check(path, LimitSettings())
