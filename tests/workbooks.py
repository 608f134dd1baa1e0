"""Spreadsheets and CSV files made in code for the tests: the same rows written as .xlsx/.xlsm (openpyxl),
.xls (xlwt), .ods (zipped XML: no library writes one) and .csv, merged cells included where the format has them.

`Rows` are lists of cell values; None is an empty cell. `merged` lists blocks in A1 notation per sheet.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import xlwt

Rows = list[list[object]]


def _block(a1: str) -> tuple[int, int, int, int]:
    """'B3:E3' -> (first row, first col, last row, last col), 0-based."""
    from threshold.sharing.readers.layout import CellRange

    parsed = CellRange.parse(a1)
    assert parsed is not None and parsed.last_row is not None and parsed.last_col is not None
    return parsed.first_row - 1, parsed.first_col, parsed.last_row - 1, parsed.last_col


def xlsx(path: Path, sheets: dict[str, Rows], merged: dict[str, list[str]] | None = None) -> Path:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    sheet.cell(row=r, column=c, value=value)
        for block in (merged or {}).get(name, []):
            sheet.merge_cells(block)
    workbook.save(path)
    return path


def xls(path: Path, sheets: dict[str, Rows], merged: dict[str, list[str]] | None = None) -> Path:
    workbook = xlwt.Workbook()
    as_date = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for name, rows in sheets.items():
        sheet = workbook.add_sheet(name)
        blocks = [_block(b) for b in (merged or {}).get(name, [])]
        covered = {(r, c) for r0, c0, r1, c1 in blocks for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
        for r0, c0, r1, c1 in blocks:
            value = rows[r0][c0] if r0 < len(rows) and c0 < len(rows[r0]) else None
            sheet.write_merge(r0, r1, c0, c1, "" if value is None else value)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None and (r, c) not in covered:
                    sheet.write(r, c, value, as_date) if isinstance(value, date) else sheet.write(r, c, value)
    workbook.save(str(path))
    return path


def ods(path: Path, sheets: dict[str, Rows], merged: dict[str, list[str]] | None = None) -> Path:
    """A minimal OpenDocument spreadsheet (merged blocks are not written: calamine does not report them)."""

    def cell(value: object) -> str:
        if value is None:
            return "<table:table-cell/>"
        if isinstance(value, date):
            return f'<table:table-cell office:value-type="date" office:date-value="{value.isoformat()}"/>'
        if isinstance(value, int | float):
            return f'<table:table-cell office:value-type="float" office:value="{value}"/>'
        text = f"<text:p>{escape(str(value))}</text:p>"
        return f'<table:table-cell office:value-type="string">{text}</table:table-cell>'

    tables = "".join(
        f'<table:table table:name="{escape(name)}">'
        + "".join("<table:table-row>" + "".join(cell(v) for v in row) + "</table:table-row>" for row in rows)
        + "</table:table>"
        for name, rows in sheets.items()
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content'
        ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f"<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest'
        ' xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/"'
        ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return path


def csv_text(rows: Rows, delimiter: str = ",") -> str:
    """The rows as a CSV export writes them: every line as wide as the widest row, dates in ISO form."""
    width = max((len(r) for r in rows), default=0)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    for row in rows:
        cells = [*row, *([None] * (width - len(row)))]
        writer.writerow(["" if v is None else v.isoformat() if isinstance(v, date | datetime) else v for v in cells])
    return out.getvalue()


def csv_file(path: Path, sheets: dict[str, Rows], merged: dict[str, list[str]] | None = None) -> Path:
    """The first sheet's rows as a CSV file (a text file has one table and no merged cells)."""
    [rows] = list(sheets.values())[:1]
    path.write_text(csv_text(rows), encoding="utf-8")
    return path


WRITERS = {"xlsx": xlsx, "xlsm": xlsx, "xls": xls, "ods": ods, "csv": csv_file}
