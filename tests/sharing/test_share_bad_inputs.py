"""A share that cannot be done says why in one line, and leaves the home exactly as it was.

"Nothing is lost" from the outside: after the failure the catalog lists the same datasets, the
metadata store holds the same rows, the lake the same tables and the staging folder nothing.
Each bad input is one row of `BAD_INPUTS`: what to share, how, and what the message must say.
The cases run one after the other in one org home per backend (`module_any_org`): each one checks that
its failure left the home exactly as it found it, which is also what makes the home safe to share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from openpyxl import Workbook

from threshold.catalog.service import describe
from threshold.errors import Conflict, InvalidInput, NotFound, ThresholdError, TooLarge
from threshold.gateway.service import query
from threshold.platform import Platform
from threshold.sharing.readers.csv import SNIFF_BYTES
from threshold.sharing.service import share

Maker = Callable[[Path], Any]
"""tmp_path -> what to share (a file path, usually)."""


def text(name: str, content: str, encoding: str = "utf-8") -> Maker:
    def make(tmp_path: Path) -> Path:
        path = tmp_path / name
        path.write_bytes(content.encode(encoding))
        return path

    return make


def raw(name: str, content: bytes) -> Maker:
    def make(tmp_path: Path) -> Path:
        path = tmp_path / name
        path.write_bytes(content)
        return path

    return make


def workbook(name: str, header: list[str]) -> Maker:
    def make(tmp_path: Path) -> Path:
        wb = Workbook()
        wb.active.title = "Q1"
        wb.active.append(header)
        wb.active.append(list(range(len(header))))
        wb.create_sheet("Q2 Sales").append(header)
        path = tmp_path / name
        wb.save(path)
        return path

    return make


def sparse_xlsx(name: str, dimension: str | None = None) -> Maker:
    """The issue's bomb: a tiny .xlsx whose only cells are A1 and ZZ200000 (a 140-million-cell grid);
    `dimension` rewrites its declared range (a file may lie about it)."""

    def make(tmp_path: Path) -> Path:
        wb = Workbook()
        ws = wb.active
        ws["A1"], ws["ZZ200000"] = "a", 1
        path = tmp_path / name
        wb.save(path)
        if dimension is not None:
            _rewrite(path, "xl/worksheets/sheet1.xml", lambda x: x.replace(b'ref="A1:ZZ200000"', dimension.encode()))
        return path

    return make


def _rewrite(path: Path, part: str, change: Callable[[bytes], bytes]) -> None:
    import zipfile

    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    parts[part] = change(parts[part])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)


def zip_bomb_xlsx(name: str) -> Maker:
    """A real workbook whose properties part unpacks 50 MB of the same byte: compressed ~1000 to 1."""

    def make(tmp_path: Path) -> Path:
        path = workbook(name, ["Plant", "Units"])(tmp_path)
        _rewrite(path, "docProps/app.xml", lambda x: x + b" " * (50 << 20))
        return path

    return make


def repeated_ods(name: str) -> Maker:
    """An OpenDocument sheet of 1 KB whose one row of values is repeated a million times, 1,000 cells wide."""

    def make(tmp_path: Path) -> Path:
        import zipfile

        ns = (
            'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
            'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
            'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
        )
        content = (
            f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} office:version="1.2">'
            '<office:body><office:spreadsheet><table:table table:name="Bomb">'
            '<table:table-row table:number-rows-repeated="1000000">'
            '<table:table-cell office:value-type="float" office:value="1" table:number-columns-repeated="1000">'
            "<text:p>1</text:p></table:table-cell></table:table-row>"
            "</table:table></office:spreadsheet></office:body></office:document-content>"
        )
        path = tmp_path / name
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
            z.writestr("content.xml", content)
        return path

    return make


def sparse_xls(name: str) -> Maker:
    """A legacy .xls with cells at A1 and IQ65000 only."""

    def make(tmp_path: Path) -> Path:
        import xlwt

        book = xlwt.Workbook()
        sheet = book.add_sheet("S")
        sheet.write(0, 0, "a")
        sheet.write(64999, 250, 1)
        path = tmp_path / name
        book.save(str(path))
        return path

    return make


def missing(name: str) -> Maker:
    return lambda tmp_path: tmp_path / name


@dataclass
class Bad:
    make: Maker
    message: str | tuple[str, ...]
    """Fragments the one-line message must contain."""
    error: type[ThresholdError] = InvalidInput
    options: dict[str, Any] = field(default_factory=dict)
    """Extra keyword arguments of `share` (name, domain, sheet, encoding...)."""
    settings: dict[str, Any] = field(default_factory=dict)
    """Settings of the home the share runs in (e.g. a tiny limits.upload_bytes)."""


OK_CSV = text("ok.csv", "a,b\n1,2\n")
LATE_ROWS = SNIFF_BYTES // len("1,2\n") + 1000
"""Rows of "1,2" before the bad line in the 'past the first megabyte' cases: beyond what the reader sniffs."""

BAD_INPUTS = {
    "empty file": Bad(raw("empty.csv", b""), "empty.csv is empty"),
    "only blank lines": Bad(text("blank.csv", "\n\n  \n"), "blank.csv is empty"),
    "binary bytes named .csv": Bad(
        raw("photo.csv", bytes(range(256)) * 64), "photo.csv does not look like a text file"
    ),
    "ragged row": Bad(
        text("ragged.csv", "a,b,c\n1,2,3\n4,5\n6,7,8\n"), "ragged.csv: line 3 has 2 fields where line 1 has 3"
    ),
    "ragged row past the first megabyte": Bad(
        text("late.csv", "a,b\n" + "1,2\n" * LATE_ROWS + "3\n"),
        f"late.csv: line {LATE_ROWS + 2} has 1 fields where",
    ),
    "text in a number column past the first megabyte": Bad(
        text("late_text.csv", "a,b\n" + "1,2\n" * LATE_ROWS + "3,many\n"),
        ("late_text.csv", f"line {LATE_ROWS + 2}", '"b"', "'many'"),
    ),
    "undecodable bytes with a forced encoding": Bad(
        text("latin.csv", "name,city\nJosé,Zürich\n", encoding="latin-1"),
        "latin.csv: the byte at offset 13 (line 2) is not valid utf-8",
        options={"encoding": "utf-8"},
    ),
    "unknown forced encoding": Bad(OK_CSV, "unknown encoding 'klingon'", options={"encoding": "klingon"}),
    "duplicate column names in a CSV header": Bad(
        text("dup.csv", "id,amount,id\n1,2,3\n"), "duplicate column name 'id' (columns 1 and 3)"
    ),
    "duplicate column names in a sheet header": Bad(
        workbook("dup.xlsx", ["Plant", "Units", "Plant"]), "duplicate column name 'Plant' (columns 1 and 3)"
    ),
    "missing sheet": Bad(
        workbook("report.xlsx", ["Plant", "Units"]),
        "report.xlsx has no sheet 'Q3'; its sheets are 'Q1', 'Q2 Sales'",
        options={"sheet": "Q3"},
    ),
    "not a spreadsheet": Bad(
        raw("fake.xlsx", b"PK\x03\x04 not really a zip"), "fake.xlsx is not a readable spreadsheet"
    ),
    "malformed JSON": Bad(text("orders.json", '[{"a": 1}, {"a": '), "cannot read orders.json as JSON"),
    "not JSON at all": Bad(text("orders.json", "a,b\n1,2\n"), "orders.json does not look like JSON"),
    "not a Parquet file": Bad(raw("orders.parquet", b"a,b\n1,2\n"), "orders.parquet is not a Parquet file"),
    "unknown file type": Bad(raw("notes.docx", b"hello"), "cannot share 'notes.docx': unknown file type '.docx'"),
    "file does not exist": Bad(missing("nowhere.csv"), "no file 'nowhere.csv'", error=NotFound),
    "file over the upload limit": Bad(
        text("big.csv", "a,b\n" + "1,2\n" * 100),
        ("big.csv is 404 B, over the share limit of 100 B", "THRESHOLD_LIMITS__UPLOAD_BYTES"),
        error=TooLarge,
        settings={"limits": {"upload_bytes": 100}},
    ),
    "dataset name with a statement": Bad(
        OK_CSV, "invalid dataset name 'x; drop table y'", options={"name": "x; drop table y"}
    ),
    "dataset name with a double quote": Bad(OK_CSV, "invalid dataset name 'a\"b'", options={"name": 'a"b'}),
    "dataset name with a quote and a comment": Bad(
        OK_CSV, 'invalid dataset name "Robert\'); --"', options={"name": "Robert'); --"}
    ),
    "dataset name that is an SQL keyword": Bad(OK_CSV, "invalid dataset name 'select'", options={"name": "select"}),
    "domain name with a statement": Bad(
        OK_CSV, "invalid domain name 'x; drop table y'", options={"domain": "x; drop table y"}
    ),
    "domain name with a quote and a comment": Bad(
        OK_CSV, 'invalid domain name "Robert\'); --"', options={"domain": "Robert'); --"}
    ),
    "frame without columns": Bad(lambda tmp_path: pa.table({}), "has no columns", options={"name": "nothing"}),
    # -- file limits: refused before the reader builds anything (issue 9) --------------------------------
    "xlsx with A1 and ZZ200000": Bad(
        sparse_xlsx("bomb.xlsx"),
        ("bomb.xlsx: sheet sheet1 declares a range that spans 200,000 rows x 702 columns", "SPREADSHEET_CELLS"),
        error=TooLarge,
    ),
    "xlsx whose declared range lies": Bad(
        sparse_xlsx("liar.xlsx", dimension='ref="A1"'),
        ("liar.xlsx: sheet sheet1 spans 200,000 rows x 702 columns", "THRESHOLD_LIMITS__SPREADSHEET_CELLS"),
        error=TooLarge,
    ),
    "xlsx over the cell limit": Bad(
        workbook("cells.xlsx", ["Plant", "Units", "Unit cost"]),
        ("cells.xlsx: sheet", "more than a sheet may", "limits.spreadsheet_cells = 5"),
        error=TooLarge,
        settings={"limits": {"spreadsheet_cells": 5}},
    ),
    "xlsx decompression bomb": Bad(
        zip_bomb_xlsx("zipbomb.xlsx"),
        ("zipbomb.xlsx: its part docProps/app.xml is compressed", "to 1, a decompression bomb"),
        error=TooLarge,
    ),
    "xlsx that unpacks past the size limit": Bad(
        zip_bomb_xlsx("huge.xlsx"),
        ("huge.xlsx unpacks to 50", "THRESHOLD_LIMITS__SPREADSHEET_BYTES"),
        error=TooLarge,
        settings={"limits": {"spreadsheet_bytes": 10 << 20}},
    ),
    "ods with a row repeated a million times": Bad(
        repeated_ods("repeat.ods"),
        ("repeat.ods: sheet Bomb spans 1,000,000 rows x 1,000 columns", "SPREADSHEET_CELLS"),
        error=TooLarge,
    ),
    "xls with two far-apart cells": Bad(
        sparse_xls("sparse.xls"),
        ("sparse.xls: sheet 1", "65,000 rows x 251 columns", "SPREADSHEET_CELLS"),
        error=TooLarge,
        settings={"limits": {"spreadsheet_cells": 1_000_000}},
    ),
    "csv with too many columns": Bad(
        text("wide.csv", ",".join(f"c{i}" for i in range(50)) + "\n" + ",".join("1" * 50) + "\n"),
        ("wide.csv has 50 columns, more than a CSV may have", "THRESHOLD_LIMITS__CSV_COLUMNS"),
        error=TooLarge,
        settings={"limits": {"csv_columns": 20}},
    ),
    "csv with a line over the limit": Bad(
        text("long.csv", "a,b\n1,2\n" + "x" * 5000 + ",3\n"),
        ("long.csv: a line is longer than 2,048 bytes", "THRESHOLD_LIMITS__CSV_LINE_BYTES"),
        error=TooLarge,
        settings={"limits": {"csv_line_bytes": 2048}},
    ),
    "csv with a long line past the first megabyte": Bad(
        text("late_long.csv", "a,b\n" + "x,y\n" * LATE_ROWS + "x" * 5000 + ",z\n"),
        ("late_long.csv: line", "is longer than 2,048 bytes", "THRESHOLD_LIMITS__CSV_LINE_BYTES"),
        error=TooLarge,
        settings={"limits": {"csv_line_bytes": 2048}},
    ),
    "json nested too deep": Bad(
        text("deep.json", '[{"a": ' + "[" * 100 + "]" * 100 + "}]"),
        ("deep.json nests arrays or objects more than 64 levels deep", "THRESHOLD_LIMITS__JSON_DEPTH"),
        error=TooLarge,
    ),
}


@pytest.fixture
def reopen(module_any_org) -> Iterator[Callable[[dict[str, Any]], Platform]]:
    """`reopen(settings)`: the module's org home opened again with other settings (closed afterwards)."""
    opened: list[Platform] = []

    def open_with(settings: dict[str, Any]) -> Platform:
        if not settings:
            return module_any_org.platform
        home = module_any_org.platform.settings
        opened.append(Platform.open(home.home_dir, database_url=home.database_url, **settings))
        return opened[-1]

    yield open_with
    for platform in opened:
        platform.close()


@pytest.mark.parametrize("case", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_fails_with_one_clear_line_and_loses_nothing(
    module_any_org, reopen, tmp_path: Path, case: Bad, state_of
) -> None:
    source = case.make(tmp_path)
    platform = reopen(case.settings)
    before = state_of(platform)

    with pytest.raises(ThresholdError) as error:
        share(platform, source, **({"domain": "manufacturing", "user": module_any_org.admin} | case.options))

    message = str(error.value)
    assert type(error.value) is case.error, f"{type(error.value).__name__}: {message}"
    fragments = (case.message,) if isinstance(case.message, str) else case.message
    assert all(f in message for f in fragments), message
    assert "\n" not in message and len(message) < 400
    assert state_of(platform) == before


# -- a failing append leaves the dataset as it was ------------------------------------------------------

KPIS = "manufacturing.plant_kpis"
HEADER = "Plant,Operator Name,E-Mail,Scrap Rate,Energy kWh,Day\n"
GOOD_ROW = "Porto,Rui Costa,rui.costa@example.pt,0.07,650.0,2026-01-07\n"

BAD_APPENDS = {
    "new column without evolve": (
        Conflict,
        "new columns shift",
        "Plant,Operator Name,E-Mail,Scrap Rate,Energy kWh,Day,Shift\n" + GOOD_ROW.strip() + ",late\n",
    ),
    "type that does not fit": (
        Conflict,
        "day is VARCHAR in the file but DATE",
        HEADER + GOOD_ROW.replace("2026-01-07", "soon"),
    ),
    "ragged row": (InvalidInput, "line 3 has 5 fields", HEADER + GOOD_ROW + "Lyon,A B,a@b.fr,0.1,1.0\n"),
    "bad value past the first megabyte": (
        InvalidInput,
        "Energy kWh.*'lots'",
        HEADER + GOOD_ROW * (SNIFF_BYTES // len(GOOD_ROW) + 100) + GOOD_ROW.replace("650.0", "lots"),
    ),
}


def _dataset_state(platform: Platform, user: Any) -> dict[str, Any]:
    table = platform.lake.load(KPIS)
    snapshot = table.current_snapshot()
    return {
        "record": describe(platform, KPIS),
        "rows": query(platform, f"SELECT * FROM {KPIS} ORDER BY day, plant", user=user).table.to_pylist(),
        "lake snapshot": snapshot.snapshot_id if snapshot else None,
        "lake schema": [(f.field_id, f.name, str(f.field_type)) for f in table.schema().fields],
    }


@pytest.mark.parametrize(("error", "fragment", "content"), BAD_APPENDS.values(), ids=BAD_APPENDS.keys())
def test_failing_append_leaves_the_dataset_exactly_as_it_was(
    module_any_org, tmp_path: Path, state_of, error: type[ThresholdError], fragment: str, content: str
) -> None:
    platform = module_any_org.platform
    bad = tmp_path / "more.csv"
    bad.write_text(content, encoding="utf-8")
    before, dataset_before = state_of(platform), _dataset_state(platform, module_any_org.anna)

    with pytest.raises(error, match=fragment):
        share(platform, bad, domain="manufacturing", name="plant_kpis", mode="append", user=module_any_org.anna)

    assert state_of(platform) == before
    assert _dataset_state(platform, module_any_org.anna) == dataset_before
    assert dataset_before["record"].rows == 5
