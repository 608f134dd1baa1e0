"""The spreadsheet size check counts a sheet's cells however its writer spelled them."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from threshold.errors import TooLarge
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
