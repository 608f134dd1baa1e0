"""The CSV reader: what it detects (encoding, dialect, header, types) and how it refuses bad files.

Most behaviour is a table of cases: a file's content, the options, and the columns, types and rows
the relation must give. Add a row to `CASES` or `BAD_FILES` to pin a new behaviour.
"""

from __future__ import annotations

import codecs
import gzip
import io
import tracemalloc
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from threshold.errors import InvalidInput
from threshold.sharing.readers import ReadOptions, SourceTable, read
from threshold.sharing.readers.csv import SNIFF_BYTES, encoding_past_head, read_csv, read_error


@dataclass
class Case:
    content: str | bytes
    columns: list[str]
    types: list[str]
    rows: list[tuple[object, ...]]
    options: ReadOptions = field(default_factory=ReadOptions)
    note: str | None = None
    """A note the reader must give (substring of one of its notes)."""
    file: str = "data.csv"


def _cp1252(text: str) -> bytes:
    return text.encode("cp1252")


CASES = {
    "comma, DuckDB infers every type": Case(
        "id,price,day,at,ok,name\n1,1.5,2026-01-02,2026-01-02 03:04:05,true,Anna\n"
        "2,-2.25,2026-12-31,2026-12-31 23:59:59,false,Bob\n",
        ["id", "price", "day", "at", "ok", "name"],
        ["BIGINT", "DOUBLE", "DATE", "TIMESTAMP", "BOOLEAN", "VARCHAR"],
        [
            (1, 1.5, date(2026, 1, 2), datetime(2026, 1, 2, 3, 4, 5), True, "Anna"),
            (2, -2.25, date(2026, 12, 31), datetime(2026, 12, 31, 23, 59, 59), False, "Bob"),
        ],
        note="delimiter ','",
    ),
    "semicolon with decimal commas": Case(
        "Artikel;Preis;Menge\nÄpfel;1,5;3\nBirnen;-0,25;4\nKiwi;1.234,56;5\n",
        ["Artikel", "Preis", "Menge"],
        ["VARCHAR", "DOUBLE", "BIGINT"],
        [("Äpfel", 1.5, 3), ("Birnen", -0.25, 4), ("Kiwi", 1234.56, 5)],
        note="column 'Preis': decimal comma",
    ),
    "dotted thousands become whole numbers": Case(
        "Ort;Einwohner\nBerlin;3.850.809\nBonn;336.465\nUlm;128\n",
        ["Ort", "Einwohner"],
        ["VARCHAR", "BIGINT"],
        [("Berlin", 3850809), ("Bonn", 336465), ("Ulm", 128)],
    ),
    "in a decimal-comma file 2.500 is two thousand five hundred": Case(
        "Ort;Einwohner;Fläche\nBonn;336.465;141,06\nUlm;128.928;118,69\n",
        ["Ort", "Einwohner", "Fläche"],
        ["VARCHAR", "BIGINT", "DOUBLE"],
        [("Bonn", 336465, 141.06), ("Ulm", 128928, 118.69)],
        note="'.' is a thousands separator",
    ),
    "english thousands separators": Case(
        'item,amount,count\nA,"1,234,567.89","1,234"\nB,"2,000.5","12,000"\nC,3.25,7\n',
        ["item", "amount", "count"],
        ["VARCHAR", "DOUBLE", "BIGINT"],
        [("A", 1234567.89, 1234), ("B", 2000.5, 12000), ("C", 3.25, 7)],
        note="thousands separators",
    ),
    "european dates and timestamps": Case(
        "Datum;Stichtag;Zeit\n31.12.2026;31/12/2026;31.12.2026 14:30\n01.02.2026;15/01/2026;01.02.2026 08:05\n",
        ["Datum", "Stichtag", "Zeit"],
        ["DATE", "DATE", "TIMESTAMP"],
        [
            (date(2026, 12, 31), date(2026, 12, 31), datetime(2026, 12, 31, 14, 30)),
            (date(2026, 2, 1), date(2026, 1, 15), datetime(2026, 2, 1, 8, 5)),
        ],
    ),
    "a second date order in the same file": Case(
        "eu,us\n31/12/2026,12/31/2026\n01/01/2026,01/15/2026\n",
        ["eu", "us"],
        ["DATE", "DATE"],
        [(date(2026, 12, 31), date(2026, 12, 31)), (date(2026, 1, 1), date(2026, 1, 15))],
        note="column 'us': date as %m/%d/%Y",
    ),
    "ambiguous day/month dates stay text": Case(
        "when\n01/02/2026\n03/04/2026\n",
        ["when"],
        ["VARCHAR"],
        [("01/02/2026",), ("03/04/2026",)],
        note="kept as text",
    ),
    "tab": Case("a\tb\n1\tx y\n", ["a", "b"], ["BIGINT", "VARCHAR"], [(1, "x y")], note="delimiter '\\t'"),
    "pipe": Case("a|b\n1|2\n", ["a", "b"], ["BIGINT", "BIGINT"], [(1, 2)]),
    "header names kept exactly": Case(
        "Kunde Nr,Kunde Nr, Straße ,,Größe (cm)\n1,2,x,y,3\n",
        ["Kunde Nr", "Kunde Nr", " Straße ", "column_4", "Größe (cm)"],
        ["BIGINT", "BIGINT", "VARCHAR", "VARCHAR", "BIGINT"],
        [(1, 2, "x", "y", 3)],
    ),
    "names that differ only in case": Case(
        "a,A,a\n1,2,3\n", ["a", "A", "a"], ["BIGINT", "BIGINT", "BIGINT"], [(1, 2, 3)]
    ),
    "no header row": Case(
        "1,2.5,2026-01-01\n2,3.5,2026-01-02\n",
        ["column_1", "column_2", "column_3"],
        ["BIGINT", "DOUBLE", "DATE"],
        [(1, 2.5, date(2026, 1, 1)), (2, 3.5, date(2026, 1, 2))],
        note="no header row",
    ),
    "no header row, decimal commas": Case(
        "1,5;2,5\n3,5;4,5\n", ["column_1", "column_2"], ["DOUBLE", "DOUBLE"], [(1.5, 2.5), (3.5, 4.5)]
    ),
    "header only gives zero rows": Case("a,b\n", ["a", "b"], ["VARCHAR", "VARCHAR"], []),
    "quoted delimiters, quotes and newlines": Case(
        'name,comment\n"Doe, Jane","said ""hi""\nand left"\nBob,plain\n',
        ["name", "comment"],
        ["VARCHAR", "VARCHAR"],
        [("Doe, Jane", 'said "hi"\nand left'), ("Bob", "plain")],
    ),
    "windows line ends": Case(b"a,b\r\n1,x\r\n2,y\r\n", ["a", "b"], ["BIGINT", "VARCHAR"], [(1, "x"), (2, "y")]),
    "old Mac line ends": Case(b'a,b\r1,"x\ry"\r2,z\r', ["a", "b"], ["BIGINT", "VARCHAR"], [(1, "x\ry"), (2, "z")]),
    "title lines above the table": Case(
        "Export vom 01.02.2026\n\nA;B\n1;2\n",
        ["A", "B"],
        ["BIGINT", "BIGINT"],
        [(1, 2)],
        note="left out line 1, above the table (title)",
    ),
    "a German export: title lines as wide as the table, a Summe row": Case(
        "Werksbericht;;\nStand 30.11.2026;;\n;;\nWerk;Tag;Menge\nBerlin;30.01.2026;1.234,5\nLyon;31.01.2026;10,5\n"
        "Summe;;1.245\n",
        ["Werk", "Tag", "Menge"],
        ["VARCHAR", "DATE", "DOUBLE"],
        [("Berlin", date(2026, 1, 30), 1234.5), ("Lyon", date(2026, 1, 31), 10.5)],
        note="left out line 7, a total: 'Summe', the sum of the rows above",
    ),
    "a title line narrower than the table": Case(
        "Report;November 2026\nPlant;Units;Hours;Day;Shift\nBerlin;3;1,5;2026-01-03;early\n",
        ["Plant", "Units", "Hours", "Day", "Shift"],
        ["VARCHAR", "BIGINT", "DOUBLE", "DATE", "VARCHAR"],
        [("Berlin", 3, 1.5, date(2026, 1, 3), "early")],
        note="left out line 1, above the table (title)",
    ),
    "a line of bare delimiters inside the table is left out": Case(
        "a,b\n1,x\n,\n2,y\n", ["a", "b"], ["BIGINT", "VARCHAR"], [(1, "x"), (2, "y")], note="left out line 3, blank"
    ),
    "detected delimiter": Case("a;b,c\nx;y,z\n", ["a;b", "c"], ["VARCHAR", "VARCHAR"], [("x;y", "z")]),
    "forced delimiter": Case(
        "a;b,c\nx;y,z\n", ["a", "b,c"], ["VARCHAR", "VARCHAR"], [("x", "y,z")], ReadOptions(delimiter=";")
    ),
    "forced tab by name": Case(
        "a\tb,c\n1\t2\n", ["a", "b,c"], ["BIGINT", "BIGINT"], [(1, 2)], ReadOptions(delimiter="tab")
    ),
    "forced delimiter of two characters": Case(
        "a||b\n1||x\n", ["a", "b"], ["BIGINT", "VARCHAR"], [(1, "x")], ReadOptions(delimiter="||")
    ),
    "utf-8 with BOM": Case(
        "\ufeffname,city\nJörg,Köln\n".encode(), ["name", "city"], ["VARCHAR", "VARCHAR"], [("Jörg", "Köln")]
    ),
    "utf-16 little-endian with BOM": Case(
        codecs.BOM_UTF16_LE + "name;Preis\nJörg;1,5\n".encode("utf-16-le"),
        ["name", "Preis"],
        ["VARCHAR", "DOUBLE"],
        [("Jörg", 1.5)],
        note="encoding utf-16",
    ),
    "utf-16 big-endian with BOM": Case(
        codecs.BOM_UTF16_BE + "name,n\nJörg,1\n".encode("utf-16-be"),
        ["name", "n"],
        ["VARCHAR", "BIGINT"],
        [("Jörg", 1)],
    ),
    "utf-16 without BOM": Case(
        "name;n\nJörg;1,5\n".encode("utf-16-le"), ["name", "n"], ["VARCHAR", "DOUBLE"], [("Jörg", 1.5)]
    ),
    "cp1252 with euro sign and umlauts": Case(
        _cp1252("Name;Betrag\nMüller;5 €\nGroß;„10“\n"),
        ["Name", "Betrag"],
        ["VARCHAR", "VARCHAR"],
        [("Müller", "5 €"), ("Groß", "„10“")],
        note="encoding cp1252",
    ),
    "forced encoding": Case(
        b"name\nM\x81ller\n",
        ["name"],
        ["VARCHAR"],
        [("Müller",)],
        ReadOptions(encoding="cp437"),
        "encoding cp437",
    ),
    "gzip": Case(
        gzip.compress(b"a;b\n1,5;x\n"),
        ["a", "b"],
        ["DOUBLE", "VARCHAR"],
        [(1.5, "x")],
        note="gzip",
        file="d.csv.gz",
    ),
    "gzip in cp1252": Case(
        gzip.compress(_cp1252("a;b\n1;Straße\n")),
        ["a", "b"],
        ["BIGINT", "VARCHAR"],
        [(1, "Straße")],
        file="d.csv.gz",
    ),
}


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def _read(tmp_path: Path, path: Path, options: ReadOptions | None = None) -> SourceTable:
    staging = tmp_path / "staging"
    staging.mkdir(exist_ok=True)
    [table] = read_csv(path, duckdb.connect(), staging, options or ReadOptions())
    return table


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_reads_case(tmp_path: Path, case: Case) -> None:
    table = _read(tmp_path, _write(tmp_path, case.file, case.content), case.options)
    assert table.relation.columns == case.columns
    assert [str(t) for t in table.relation.types] == case.types
    assert table.relation.fetchall() == case.rows
    if case.note:
        assert any(case.note in note for note in table.notes), table.notes


def test_registry_routes_csv_gz_and_tsv(tmp_path: Path) -> None:
    con, staging = duckdb.connect(), tmp_path
    for name, content in (("a.csv.gz", gzip.compress(b"x,y\n1,2\n")), ("a.tsv", b"x\ty\n1\t2\n")):
        [table] = read(_write(tmp_path, name, content), con, staging, ReadOptions())
        assert table.relation.fetchall() == [(1, 2)]


def test_an_ascii_megabyte_is_read_as_utf8_without_scanning_the_rest(tmp_path: Path) -> None:
    """The encoding is decided on the first megabyte; what lies past it is looked at only when DuckDB
    reports a byte that is not UTF-8 (the share then falls back, see test_share's late cp1252 case)."""
    ascii_rows = "".join(f"{i},plain\n" for i in range(SNIFF_BYTES // 8))
    path = _write(tmp_path, "data.csv", _cp1252("id,name\n" + ascii_rows + "999999,Müller\n"))
    table = _read(tmp_path, path)
    assert "encoding utf-8" in table.notes
    assert encoding_past_head(path) == "cp1252"
    with pytest.raises(duckdb.Error, match="Invalid unicode"):
        table.relation.order("id DESC").limit(1).fetchall()


def test_encoding_past_head_is_none_for_utf8_or_a_non_ascii_start(tmp_path: Path) -> None:
    ascii_rows = "".join(f"{i},plain\n" for i in range(SNIFF_BYTES // 8))
    late_utf8 = _write(tmp_path, "a.csv", ("id,name\n" + ascii_rows + "1,Müller\n").encode())
    utf8_start = _write(tmp_path, "b.csv", ("id,name\n1,Jürgen\n" + ascii_rows).encode() + _cp1252("2,Müller\n"))
    assert encoding_past_head(late_utf8) is None
    assert encoding_past_head(utf8_start) is None


def _xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


BAD_FILES = {
    "empty file": (b"", ReadOptions(), "data.csv is empty"),
    "only blank lines": (b"\n \r\n\n", ReadOptions(), "data.csv is empty"),
    "binary bytes": (bytes(range(256)) * 64, ReadOptions(), "data.csv does not look like a text file"),
    "a zip named .csv": (_xlsx_bytes(), ReadOptions(), "data.csv does not look like a text file"),
    "a row with an extra field": (
        b"a,b\n1,2\n3,4,5\n6,7\n",
        ReadOptions(),
        "data.csv: line 3 has 3 fields where line 1 has 2",
    ),
    "a row with a missing field": (
        b"a;b;c\n1;2;3\n4;5\n",
        ReadOptions(),
        "data.csv: line 3 has 2 fields where line 1 has 3",
    ),
    "line numbers count quoted newlines": (
        b'a,b\n"x\ny",1\n2,3,4\n',
        ReadOptions(),
        "data.csv: line 4 has 3 fields where line 1 has 2",
    ),
    "bytes that are not the chosen encoding": (
        b"a,b\n1,M\xfcller\n",
        ReadOptions(encoding="utf-8"),
        "data.csv: the byte at offset 7 (line 2) is not valid utf-8",
    ),
    "unknown encoding": (
        b"a\n1\n",
        ReadOptions(encoding="klingon"),
        "unknown encoding 'klingon' for data.csv",
    ),
    "a broken gzip file": (b"\x1f\x8b\x08\x00garbage", ReadOptions(), "data.csv is not a readable gzip file"),
}


@pytest.mark.parametrize(("content", "options", "message"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_refuses_bad_file(tmp_path: Path, content: bytes, options: ReadOptions, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        _read(tmp_path, _write(tmp_path, "data.csv", content), options)
    assert str(refused.value).startswith(message)
    assert str(tmp_path) not in str(refused.value)
    assert "\n" not in str(refused.value)


ROWS_PAST_THE_WINDOW = SNIFF_BYTES // 4 + 10
"""Enough rows of at least four bytes to push whatever follows them past the sniffed megabyte."""
LATE_LINE = ROWS_PAST_THE_WINDOW + 2
"""The line after the header and those rows."""

LATE_ERRORS = {
    "a ragged row": (
        "a,b\n",
        "1,2\n",
        b"3,4,5\n",
        f"data.csv: line {LATE_LINE} has 3 fields where the header has 2",
    ),
    "invalid utf-8": ("a,b\n", "1,é\n", b"2,\xff\n", f"data.csv: line {LATE_LINE} is not valid UTF-8"),
    "text in a decimal-comma column": (
        "a;b\n",
        "1,5;x\n",
        b"abc;y\n",
        "data.csv: column \"a\" has the value 'abc' that is not a number",
    ),
    "text in a whole-number column": (
        "a,b\n",
        "1,x\n",
        b"oops,y\n",
        f"data.csv: line {LATE_LINE}, column \"a\": 'oops' is not BIGINT",
    ),
}


@pytest.mark.parametrize(("header", "row", "late", "message"), LATE_ERRORS.values(), ids=LATE_ERRORS.keys())
def test_errors_past_the_sniff_window_surface_when_the_relation_runs(
    tmp_path: Path, header: str, row: str, late: bytes, message: str
) -> None:
    content = (header + row * ROWS_PAST_THE_WINDOW).encode() + late
    table = _read(tmp_path, _write(tmp_path, "data.csv", content))  # lazy: the bad line is not read yet
    with pytest.raises(duckdb.Error) as failed:
        table.relation.to_parquet(str(tmp_path / "out.parquet"))
    explained = str(read_error("data.csv", failed.value))
    assert explained.startswith(message)
    assert "\n" not in explained


def test_undecodable_byte_past_the_sniff_window_names_offset_and_line(tmp_path: Path) -> None:
    head = ("a,b\n" + "1,ä\n" * ROWS_PAST_THE_WINDOW).encode("cp1252")
    path = _write(tmp_path, "data.csv", head + b"2,\x81\n")
    with pytest.raises(InvalidInput) as refused:
        _read(tmp_path, path, ReadOptions(encoding="cp1252"))
    line = head.count(b"\n") + 1
    assert str(refused.value).startswith(
        f"data.csv: the byte at offset {len(head) + 2} (line {line}) is not valid cp1252"
    )


def test_a_large_export_loses_its_title_lines_and_keeps_every_row(tmp_path: Path) -> None:
    rows = "".join(f"M{i % 7},{i},2026-01-{i % 28 + 1:02d}\n" for i in range(ROWS_PAST_THE_WINDOW // 4))
    path = _write(tmp_path, "big.csv", "Machine hours export,,\n,,\nMachine,Hours,Day\n" + rows + ",,\nTotal,1,\n")
    table = _read(tmp_path, path)
    assert table.relation.columns == ["Machine", "Hours", "Day"]
    assert [str(t) for t in table.relation.types] == ["VARCHAR", "BIGINT", "DATE"]
    # Past the first megabyte the bottom is not looked at: a total there stays a row, never dropped unseen.
    assert table.relation.count("*").fetchall() == [(ROWS_PAST_THE_WINDOW // 4 + 1,)]
    assert "line 3 is the header" in table.notes and "left out line 1, above the table (title)" in table.notes


def test_streams_a_large_file(tmp_path: Path) -> None:
    path, written = tmp_path / "big.csv", 0
    block = "".join(f"{i},name {i},{i}.25,2026-01-{i % 28 + 1:02d}\n" for i in range(100_000))
    with path.open("w") as f:
        f.write("id,name,amount,day\n")
        while f.tell() < 60_000_000:
            f.write(block)
            written += 100_000
    tracemalloc.start()
    try:
        table = _read(tmp_path, path)
        table.relation.to_parquet(str(tmp_path / "big.parquet"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000, f"peak Python allocation {peak / 1e6:.1f} MB"
    [(rows, last_day)] = duckdb.sql(f"SELECT count(*), max(day) FROM '{tmp_path / 'big.parquet'}'").fetchall()
    assert (rows, last_day) == (written, date(2026, 1, 28))
