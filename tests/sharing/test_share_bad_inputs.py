"""A share that cannot be done says why in one line, and leaves the home exactly as it was.

"Nothing is lost" from the outside: after the failure the catalog lists the same datasets, the
metadata store holds the same rows, the lake the same tables and the staging folder nothing.
Each bad input is one row of `BAD_INPUTS`: what to share, how, and what the message must say.
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
from threshold.errors import Conflict, InvalidInput, NotFound, ThresholdError
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
    """Settings of the home the share runs in (e.g. a tiny max_share_bytes)."""


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
    "file over max_share_bytes": Bad(
        text("big.csv", "a,b\n" + "1,2\n" * 100),
        "big.csv is 404 B, over the share limit of 100 B",
        settings={"max_share_bytes": 100},
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
}


@pytest.fixture
def reopen(any_org) -> Iterator[Callable[[dict[str, Any]], Platform]]:
    """`reopen(settings)`: the org's home opened again with other settings (closed afterwards)."""
    opened: list[Platform] = []

    def open_with(settings: dict[str, Any]) -> Platform:
        if not settings:
            return any_org.platform
        home = any_org.platform.settings
        opened.append(Platform.open(home.home_dir, database_url=home.database_url, **settings))
        return opened[-1]

    yield open_with
    for platform in opened:
        platform.close()


@pytest.mark.parametrize("case", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_fails_with_one_clear_line_and_loses_nothing(
    any_org, reopen, tmp_path: Path, case: Bad, state_of
) -> None:
    source = case.make(tmp_path)
    platform = reopen(case.settings)
    before = state_of(platform)

    with pytest.raises(ThresholdError) as error:
        share(platform, source, **({"domain": "manufacturing", "user": any_org.admin} | case.options))

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
    any_org, tmp_path: Path, state_of, error: type[ThresholdError], fragment: str, content: str
) -> None:
    platform = any_org.platform
    bad = tmp_path / "more.csv"
    bad.write_text(content, encoding="utf-8")
    before, dataset_before = state_of(platform), _dataset_state(platform, any_org.anna)

    with pytest.raises(error, match=fragment):
        share(platform, bad, domain="manufacturing", name="plant_kpis", mode="append", user=any_org.anna)

    assert state_of(platform) == before
    assert _dataset_state(platform, any_org.anna) == dataset_before
    assert dataset_before["record"]["rows"] == 5
