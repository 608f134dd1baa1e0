"""CSV reader: decide encoding, dialect and types from the first megabyte, then let DuckDB stream the file.

DuckDB reads UTF-8 at full speed, so a UTF-8 file is read in place; any other encoding is
transcoded chunk by chunk into the staging folder first. Formats DuckDB's sniffer does not know
(decimal commas, thousands separators, a date order per column) are read as text and converted in
SQL, so the returned relation stays lazy. Errors that only show up while the relation runs (a
ragged row past the first megabyte) are DuckDB errors: `read_error` turns them into one line.
"""

from __future__ import annotations

import codecs
import csv as pycsv
import gzip
import io
import itertools
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from threshold.errors import InvalidInput, TooLarge
from threshold.limits.settings import LimitSettings
from threshold.sharing.readers.layout import Grid, Kind, LayoutOptions, Skipped, TableLayout, find_table
from threshold.sharing.readers.source import ReadOptions, SourceTable

SNIFF_BYTES = 1 << 20
"""Everything we decide ourselves is decided on this much of the (decompressed) file."""
CHUNK_BYTES = 4 << 20
"""Transcoding and scanning work in chunks of this size, so memory stays flat whatever the file size."""
DELIMITERS = (",", ";", "\t", "|")
SAMPLE_ROWS = 20480
"""Rows of the first megabyte whose values our own type checks look at (DuckDB's sniffer sample size)."""
PREAMBLE_LINES = 10
"""Title lines (fewer fields than the table) above it that are skipped rather than refused."""
WHOLE_FILE_ROWS = 100_000
"""A file read whole in the first megabyte is laid out (totals and notes at its bottom) up to this many records."""
DATE_SAMPLE = 2000
"""Values per column checked against each date format (strptime is slow; the regexes see them all)."""

_CP1252_UNDEFINED = re.compile(b"[\x81\x8d\x8f\x90\x9d]")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f]")

# Numbers: a grouped integer part must not start with 0 ("030 123" is a phone number, not a number).
_EU_GROUP = "[.\u00a0\u202f]"  # dot, no-break space, narrow no-break space
_EU_INT = r"[+-]?([1-9]\d{0,2}(" + _EU_GROUP + r"\d{3})+|\d+)"
_EN_INT = r"[+-]?([1-9]\d{0,2}(,\d{3})+|\d+)"
_NUMBER_FORMATS = {
    # style: (integer pattern, pattern with fraction, SQL turning a matching string into a plain number)
    "eu": (
        _EU_INT,
        _EU_INT + r"(,\d+)?",
        "replace(regexp_replace({v}, '" + _EU_GROUP + "', '', 'g'), ',', '.')",
    ),
    "en": (_EN_INT, _EN_INT + r"(\.\d+)?", "replace({v}, ',', '')"),
}
_THOUSANDS_ONLY = re.compile(r"[+-]?([1-9]\d{0,2}(\.\d{3})+|\d+)")
_DATE_SHAPE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}( \d{1,2}:\d{2}(:\d{2})?)?")
_DATE_FORMATS = ("%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%m-%d-%Y", "%Y/%m/%d", "%Y.%m.%d")
_TIME_FORMATS = {0: "", 1: " %H:%M", 2: " %H:%M:%S"}  # by the number of ':' in the value


@dataclass(frozen=True)
class _Head:
    data: bytes
    complete: bool
    """The whole (decompressed) file is in `data`."""
    gzip: bool


@dataclass(frozen=True)
class _Encoding:
    codec: str
    """Python codec that decodes the bytes after the BOM."""
    label: str
    bom: int = 0
    """Bytes to skip before decoding (a UTF-16 BOM; DuckDB skips a UTF-8 BOM itself)."""
    native: bool = False
    """DuckDB reads the file as it is."""


_UTF8 = _Encoding("utf-8-sig", "utf-8", native=True)

Record = tuple[int, list[str]]
"""(first line number of the record, its fields)."""


def read_csv(path: Path, con: duckdb.DuckDBPyConnection, staging: Path, options: ReadOptions) -> list[SourceTable]:
    name = path.name
    if options.cell_range is not None:
        raise InvalidInput(
            f"a range of cells applies to spreadsheets; {name} is a text file: choose its header line and lines to skip"
        )
    if options.sheet not in (None, "*"):
        raise InvalidInput(f"{name} is a text file: it has no sheets")
    head = _read_head(path)
    if not head.data.strip():
        raise InvalidInput(f"{name} is empty")
    encoding = _forced_encoding(name, head, options.encoding) if options.encoding else _detect_encoding(path, head)
    text = _decode_head(name, head, encoding)
    if "\x00" in text or len(_CONTROL.findall(text)) > max(8, len(text) // 100):
        raise InvalidInput(f"{name} does not look like a text file")
    notes = [f"encoding {encoding.label}"] + (["gzip-compressed"] if head.gzip else [])

    limits = options.limits
    _check_line_length(name, text, head.complete, limits)
    delimiter = _forced_delimiter(options.delimiter) or _delimiter(text, head.complete)
    skip, titles, records, seen_all = _table_records(name, text, delimiter, head.complete)
    if records and len(records[0][1]) > limits.csv_columns:
        raise _too_many_columns(name, len(records[0][1]), limits)
    notes.append(f"delimiter {delimiter!r}")
    layout = _find_table(records, options, delimiter, seen_all) if records else None
    if titles and layout is not None:  # title lines narrower than the table, and any the layout found below them
        found = [x for x in layout.skipped if x.reason == "title"]
        rows = tuple(titles) + tuple(n for x in found for n in x.rows)
        layout.skipped[:] = [Skipped(rows, "title"), *(x for x in layout.skipped if x.reason != "title")]
    elif skip:
        notes.append(f"skipped {skip} line(s) above the table")

    source = path
    params: dict[str, object] = {
        "delim": delimiter,
        "skip": skip,
        "encoding": "utf-8",
        "compression": "gzip" if head.gzip and encoding.native else "none",
        "strict_mode": True,
        "null_padding": False,
        "ignore_errors": False,
        "max_line_size": max(limits.csv_line_bytes, 1024),
        # DuckDB's buffers default to 16 lines of the longest allowed: with an 8 MiB line limit, 128 MiB each,
        # and the share's peak RSS tripled (1.4 GB against 0.47 GB on lineitem SF1). Two such lines suffice.
        "buffer_size": max(2 * max(limits.csv_line_bytes, 1024), 32 * 1024 * 1024),
    }
    row_count = None
    if layout is not None:
        kept = [records[i] for i in (layout.header_rows[-1:] + layout.data_rows)]
        top = kept[0][0] if kept else records[0][0]
        dropped = seen_all and _drops_inside(records, kept)
        if dropped:
            # The whole file is in `text`: write the table alone (last header line and data rows) for DuckDB.
            source = staging / "table.csv"
            source.write_text(_slice(text, records, kept), encoding="utf-8", newline="")
            params |= {"skip": 0, "compression": "none"}
        else:
            params["skip"] = top - 1
        row_count = len(layout.data_rows) if seen_all else None
        notes.extend(layout.notes())
        records = kept
    # Only now, with the first megabyte found sound, rewrite a non-UTF-8 file for DuckDB.
    if source == path and not encoding.native:
        source = staging / "transcoded.csv"
        _transcode(path, head, encoding, source)

    if layout is not None:
        header = bool(layout.header_rows)
        sniff = _sniff(con, name, source, {**params, "header": header})
    else:
        sniff = _sniff(con, name, source, params)
        header = bool(sniff["HasHeader"])
        notes.append("first row is the header" if header else "no header row: columns are named column_1, column_2...")
    if len(sniff["Columns"]) > limits.csv_columns:
        raise _too_many_columns(name, len(sniff["Columns"]), limits)
    types = [column["type"] for column in sniff["Columns"]]
    if records and len(records[0][1]) != len(types):
        records = []  # our parse disagrees with DuckDB's (quoting): trust DuckDB, skip our refinements
    if layout is not None and records and header:
        names = layout.names
    else:
        names = _names(records, header, [column["name"] for column in sniff["Columns"]])

    data = (records[1:] if header else records)[:SAMPLE_ROWS]
    samples = [[fields[i].strip() for _, fields in data if fields[i].strip()] for i in range(len(types))]
    columns = _unique(names)
    exprs, read_types = _refine_types(name, columns, types, samples, delimiter, sniff, notes)

    quote, escape = _quote(sniff, text)
    params |= {"auto_detect": False, "header": header, "quote": quote, "escape": escape}
    params["comment"] = _none_if_empty(sniff["Comment"]) or ""
    if sniff["DateFormat"]:
        params["dateformat"] = sniff["DateFormat"]
    if sniff["TimestampFormat"]:
        params["timestampformat"] = sniff["TimestampFormat"]
    typed = "{" + ", ".join(f"{_lit(c)}: {_lit(t)}" for c, t in zip(columns, read_types, strict=True)) + "}"
    args = ", ".join([_lit(str(source)), f"columns={typed}"] + [f"{k}={_lit(v)}" for k, v in params.items()])
    select = ", ".join(f"{expr} AS {_ident(n)}" for expr, n in zip(exprs, names, strict=True))
    # Rows with every field empty carry nothing (a line of bare delimiters): left out, like blank lines.
    blank = " AND ".join(f"{_ident(c)} IS NULL" for c in columns)
    try:
        relation = con.sql(f"SELECT {select} FROM read_csv({args}) WHERE NOT ({blank})")
    except duckdb.Error as error:
        raise read_error(name, error) from None
    return [
        SourceTable(
            relation=relation,
            notes=notes,
            header_rows=layout.header_numbers if layout else ([skip + 1] if header else []),
            skipped=layout.skipped if layout else [],
            row_count=row_count,
        )
    ]


def _find_table(records: list[Record], options: ReadOptions, delimiter: str, seen_all: bool) -> TableLayout:
    """The layout of the sampled records; totals are looked for only when the whole file was seen."""
    style = "eu" if delimiter == ";" else "en"
    grid = Grid(
        rows=[list(fields) for _, fields in records],
        numbers=[line for line, _ in records],
        kind=_kind,
        value=lambda cell: _number(cell, style),
        text=str,
        unit="line",
        empty=_blank,
    )
    layout_options = options.layout
    if not seen_all:
        layout_options = LayoutOptions(layout_options.header, layout_options.skip_rows, totals=False)
    layout = find_table(grid, layout_options)
    if layout.last_col < layout.first_col and options.header is None:
        raise InvalidInput("the file holds no table: every field is empty")
    return layout


def _drops_inside(records: list[Record], kept: list[Record]) -> bool:
    """Records below the first kept one that are left out (blank, totals, notes) or a header deeper than one line."""
    if not kept:
        return False
    first = kept[0][0]
    below = [r for r in records if r[0] >= first]
    return len(below) != len(kept)


def _slice(text: str, records: list[Record], kept: list[Record]) -> str:
    """The lines of the `kept` records, exactly as written (quoted newlines and all)."""
    starts = [m.start() for m in _LINE.finditer(text)]
    starts.append(len(text))
    following = {line: records[k + 1][0] if k + 1 < len(records) else None for k, (line, _) in enumerate(records)}
    out = []
    for line, _ in kept:
        end_line = following[line]
        end = starts[end_line - 1] if end_line is not None and end_line - 1 < len(starts) else len(text)
        chunk = text[starts[line - 1] : end]
        out.append(chunk if chunk.endswith(("\n", "\r")) else chunk + "\n")
    return "".join(out)


def _blank(cell: str) -> bool:
    return not cell.strip()


def _kind(cell: str) -> Kind:
    value = cell.strip()
    if not value:
        return "empty"
    if any(re.fullmatch(fmt[1], value) for fmt in _NUMBER_FORMATS.values()):
        return "number"
    if _DATE_SHAPE.fullmatch(value):
        return "date"
    if value.lower() in ("true", "false"):
        return "bool"
    return "text"


def _number(cell: str, style: str) -> float | None:
    """A field as a number, reading its separators in the file's likely style."""
    value = cell.strip()
    for candidate in (style, "en" if style == "eu" else "eu"):
        _, pattern, _ = _NUMBER_FORMATS[candidate]
        if re.fullmatch(pattern, value):
            if candidate == "eu":
                value = re.sub(_EU_GROUP, "", value).replace(",", ".")
            else:
                value = value.replace(",", "")
            try:
                return float(value)
            except ValueError:
                return None
    return None


def _check_line_length(name: str, text: str, complete: bool, limits: LimitSettings) -> None:
    """A line of the first megabyte longer than the limit (DuckDB checks the rest as it reads)."""
    most = limits.csv_line_bytes
    longest = max((len(m.group()) for m in _LINE.finditer(text)), default=0)
    if longest > most or (not complete and "\n" not in text and "\r" not in text and len(text) > most):
        raise TooLarge(
            f"{name}: a line is longer than {most:,} bytes, the longest a CSV may have "
            f"({limits.setting('csv_line_bytes')})"
        )


def _too_many_columns(name: str, n: int, limits: LimitSettings) -> TooLarge:
    return TooLarge(f"{name} has {n:,} columns, more than a CSV may have ({limits.setting('csv_columns')})")


def read_error(name: str, error: duckdb.Error) -> InvalidInput | TooLarge:
    """One actionable line for a DuckDB error raised while reading (or later running) a CSV relation."""
    text = str(error)
    at = f"line {m.group(1)}" if (m := re.search(r"CSV Error on Line: (\d+)", text)) else "a line"
    if m := re.search(r"Maximum line size of (\d+) bytes exceeded", text):
        return TooLarge(
            f"{name}: {at} is longer than {int(m.group(1)):,} bytes, the longest line a CSV may have "
            "(limits.csv_line_bytes, THRESHOLD_LIMITS__CSV_LINE_BYTES)"
        )
    if m := re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text):
        return InvalidInput(
            f"{name}: {at} has {m.group(2)} fields where the header has {m.group(1)}; "
            "every row must have the same number of fields"
        )
    if "Invalid unicode" in text:
        return InvalidInput(f"{name}: {at} is not valid UTF-8; save the file as UTF-8 or choose its encoding")
    if m := re.search(r'converting column "(.*?)"\. Could not convert string "(.*?)" to \'(\w+)\'', text):
        return InvalidInput(
            f"{name}: {at}, column \"{m.group(1)}\": '{m.group(2)}' is not {m.group(3)} like the values above it"
        )
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    first = re.sub(r"^[A-Za-z ]*Error: ", "", first)
    return InvalidInput(first if first.startswith(f"{name}:") else f"cannot read {name}: {first}")


# -- bytes: head, encoding, transcoding ---------------------------------------------------------


def _open(path: Path, compressed: bool) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if compressed else path.open("rb")


def _read_head(path: Path) -> _Head:
    with path.open("rb") as f:
        compressed = f.read(2) == b"\x1f\x8b"
    try:
        with _open(path, compressed) as f:
            data = f.read(SNIFF_BYTES + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise InvalidInput(f"{path.name} is not a readable gzip file ({error})") from None
    return _Head(data[:SNIFF_BYTES], len(data) <= SNIFF_BYTES, compressed)


def _detect_encoding(path: Path, head: _Head) -> _Encoding:
    data = head.data
    if data.startswith(codecs.BOM_UTF8):
        return _Encoding("utf-8-sig", "utf-8 (with BOM)", native=True)
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return _Encoding(codec, "utf-16", bom=2)
    if b"\x00" in data[:4096]:
        # UTF-16 without a BOM: every other byte of ASCII text is NUL.
        sample = data[:4096]
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) > len(odd) * 0.3 and even.count(0) < len(even) * 0.05:
            return _Encoding("utf-16-le", "utf-16")
        if even.count(0) > len(even) * 0.3 and odd.count(0) < len(odd) * 0.05:
            return _Encoding("utf-16-be", "utf-16")
        raise InvalidInput(f"{path.name} does not look like a text file")
    if _is_utf8(data, head.complete):
        # An ASCII start is read as UTF-8 without looking further: a later byte that is not UTF-8 makes
        # DuckDB fail the conversion, and only then does the share look for the encoding (`encoding_past_head`).
        return _UTF8
    return _single_byte(data)


def _is_utf8(data: bytes, final: bool) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=final)
    except UnicodeDecodeError:
        return False
    return True


def _single_byte(data: bytes) -> _Encoding:
    # CP-1252 is Latin-1 plus printable characters (€, „, “) at 0x80-0x9F, except five unused bytes.
    if _CP1252_UNDEFINED.search(data):
        return _Encoding("latin-1", "latin-1")
    return _Encoding("cp1252", "cp1252")


def encoding_past_head(path: Path) -> str | None:
    """The encoding of a file whose first megabyte was plain ASCII, from its first non-ASCII bytes further on:
    "cp1252" or "latin-1", or None when they are UTF-8 (or there are none). Called only after DuckDB found a
    byte that is not UTF-8, so a UTF-8 file (nearly every one) is never scanned twice."""
    head = _read_head(path)
    if not head.data.isascii():
        return None  # UTF-8 text in the first megabyte: a bad byte later is an error, not another encoding
    with _open(path, head.gzip) as f:
        f.read(SNIFF_BYTES)
        while chunk := f.read(CHUNK_BYTES):
            if chunk.isascii():
                continue
            found = re.search(b"[\x80-\xff]", chunk)
            start = found.start() if found else 0
            window = chunk[start : start + 256]
            return None if _is_utf8(window, final=False) else _single_byte(window).label
    return None


def _forced_encoding(name: str, head: _Head, wanted: str) -> _Encoding:
    try:
        codec = codecs.lookup(wanted).name
    except LookupError:
        raise InvalidInput(f"unknown encoding '{wanted}' for {name}; try utf-8, cp1252, latin-1 or utf-16") from None
    if codec in ("utf-8", "utf-8-sig"):
        return _Encoding("utf-8-sig", wanted, native=True)
    if codec == "utf-16":
        if head.data.startswith(codecs.BOM_UTF16_BE):
            return _Encoding("utf-16-be", wanted, bom=2)
        return _Encoding("utf-16-le", wanted, bom=2 if head.data.startswith(codecs.BOM_UTF16_LE) else 0)
    return _Encoding(codec, wanted)


def _undecodable(name: str, encoding: _Encoding, offset: int, line: int) -> InvalidInput:
    return InvalidInput(
        f"{name}: the byte at offset {offset} (line {line}) is not valid {encoding.label}; "
        "save the file as UTF-8 or choose its encoding"
    )


def _decode_head(name: str, head: _Head, encoding: _Encoding) -> str:
    decoder = codecs.getincrementaldecoder(encoding.codec)()
    try:
        return str(decoder.decode(head.data[encoding.bom :], final=head.complete))
    except UnicodeDecodeError as error:
        line = _lines_in(error.object[: error.start], encoding) + 1
        raise _undecodable(name, encoding, encoding.bom + error.start, line) from None


def _lines_in(data: bytes, encoding: _Encoding) -> int:
    return data.decode(encoding.codec, errors="replace").count("\n")


def _transcode(path: Path, head: _Head, encoding: _Encoding, target: Path) -> None:
    """Rewrite the file as UTF-8, a few megabytes at a time, failing on the first undecodable byte."""
    decoder = codecs.getincrementaldecoder(encoding.codec)()
    fed, lines = encoding.bom, 0
    with _open(path, head.gzip) as src, target.open("w", encoding="utf-8", newline="") as out:
        src.read(encoding.bom)
        while True:
            chunk = src.read(CHUNK_BYTES)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                buffered = len(error.object) - len(chunk)  # bytes held back from the previous chunk
                line = lines + _lines_in(error.object[: error.start], encoding) + 1
                raise _undecodable(path.name, encoding, fed - buffered + error.start, line) from None
            out.write(text)
            fed, lines = fed + len(chunk), lines + text.count("\n")
            if not chunk:
                return


# -- dialect ----------------------------------------------------------------------------------


def _forced_delimiter(delimiter: str | None) -> str | None:
    if delimiter is None:
        return None
    return {"tab": "\t", "\\t": "\t"}.get(delimiter.lower(), delimiter)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _parse(text: str, delimiter: str, complete: bool) -> Iterator[Record]:
    """The records of the sniffed text, without blank lines (DuckDB skips them too)."""
    # Lines one at a time (\n, \r\n or \r), not io.StringIO: that would copy the text at 4 bytes a character.
    lines = (m.group() for m in _LINE.finditer(text))
    reader = pycsv.reader(lines, delimiter=delimiter, quotechar='"', strict=False)
    line, previous = 0, None
    try:
        for fields in reader:
            if fields:
                if previous:
                    yield previous
                previous = (line + 1, fields)
            line = reader.line_num
    except pycsv.Error:
        return  # an oversized field: decide on the records before it
    if previous and complete:
        yield previous  # when the text was cut, the last record may be cut anywhere


def _delimiter(text: str, complete: bool) -> str:
    """The delimiter that gives the most rows the same number (> 1) of fields.

    On a tie, the one whose fields more often read as numbers or dates wins: "1,5;2,5" is two decimals.
    """
    # (share, cells, mode) of the best so far: how many cells look like data is counted only for a tie on share.
    best: tuple[float, list[str], int, str] | None = None
    for delimiter in DELIMITERS:
        widths: list[int] = []
        cells: list[str] = []
        for _, fields in itertools.islice(_parse(text, delimiter, complete), 1000):
            widths.append(len(fields))
            if len(widths) <= 200:
                cells.extend(fields)
        mode = max(set(widths), key=widths.count) if widths else 0
        if mode <= 1:
            continue
        share = widths.count(mode) / len(widths)
        if best is None or share > best[0] or (share == best[0] and (_typed(cells), mode) > (_typed(best[1]), best[2])):
            best = (share, cells, mode, delimiter)
    return best[3] if best else ","  # one column: the delimiter does not matter


def _typed(cells: list[str]) -> float:
    """The share of `cells` that read as numbers or dates."""
    return sum(_looks_like_data(cell) for cell in cells) / len(cells)


def _table_records(name: str, text: str, delimiter: str, complete: bool) -> tuple[int, list[int], list[Record], bool]:
    """Lines to skip above the table, the title lines among them (narrower than the table), its records
    (header included), and whether those are all the file's records.

    Refuses a record whose number of fields differs from the first one's, naming its line.
    """
    if len(delimiter) != 1:
        return 0, [], [], False  # Python's csv splits on one character only: DuckDB alone reads this file
    records = _parse(text, delimiter, complete)
    top = list(itertools.islice(records, PREAMBLE_LINES + 1))
    skip = 0
    widest = max((len(fields) for _, fields in top), default=0)
    # A line is a title when it has one field, or fewer than half the table's ("Report;November 2026").
    wide = next((i for i, (_, fields) in enumerate(top) if len(fields) > 1 and len(fields) * 2 > widest), 0)
    if widest == 1:
        wide = 0
    titles = [line for line, _ in top[:wide]]
    if wide:
        skip, top = top[wide][0] - 1, top[wide:]
    keep = WHOLE_FILE_ROWS if complete else SAMPLE_ROWS
    kept: list[Record] = []
    for line, fields in itertools.chain(top, records):
        if kept and len(fields) != len(kept[0][1]):
            first_line, first = kept[0]
            raise InvalidInput(
                f"{name}: line {line} has {len(fields)} fields where line {first_line} has {len(first)}; "
                "every row must have the same number of fields"
            )
        if len(kept) <= keep:
            kept.append((line, fields))
    return skip, titles, kept, complete and len(kept) <= keep


def _sniff(con: duckdb.DuckDBPyConnection, name: str, source: Path, params: dict[str, object]) -> dict[str, Any]:
    args = ", ".join([_lit(str(source))] + [f"{k}={_lit(v)}" for k, v in params.items()])
    try:
        relation = con.sql(f"SELECT * FROM sniff_csv({args})")
        [row] = relation.fetchall()
    except duckdb.Error as error:
        raise read_error(name, error) from None
    return dict(zip(relation.columns, row, strict=True))


def _quote(sniff: dict[str, Any], text: str) -> tuple[str, str]:
    quote, escape = _none_if_empty(sniff["Quote"]), _none_if_empty(sniff["Escape"])
    if quote is None and '"' not in text:
        return '"', '"'  # no quotes in the sample: still honour "..." fields further on
    return quote or "", escape or ""


def _none_if_empty(value: object) -> str | None:
    return None if value in (None, "", "(empty)") else str(value)


def _unique(names: list[str]) -> list[str]:
    """Names DuckDB can read the columns under (it folds case); errors then name the header's column."""
    seen: set[str] = set()
    unique = []
    for name in names:
        candidate, n = name, 1
        while candidate.lower() in seen:
            n += 1
            candidate = f"{name} ({n})"
        seen.add(candidate.lower())
        unique.append(candidate)
    return unique


def _names(records: list[Record], header: bool, duck_names: list[str]) -> list[str]:
    if not header:
        return [f"column_{i + 1}" for i in range(len(duck_names))]
    if not records:
        return duck_names
    return [cell if cell.strip() else f"column_{i + 1}" for i, cell in enumerate(records[0][1])]


# -- types ------------------------------------------------------------------------------------


def _looks_like_data(cell: str) -> bool:
    value = cell.strip()
    return bool(value) and (
        any(re.fullmatch(fmt[1], value) for fmt in _NUMBER_FORMATS.values()) or bool(_DATE_SHAPE.fullmatch(value))
    )


def _number_styles(values: list[str]) -> set[str]:
    """The number styles every value fits, if at least one value carries a separator."""
    if not values or not any("," in v or "." in v or "\u00a0" in v or "\u202f" in v for v in values):
        return set()
    return {style for style, fmt in _NUMBER_FORMATS.items() if all(re.fullmatch(fmt[1], v) for v in values)}


def _date_formats(values: list[str]) -> list[str]:
    sample = values[:DATE_SAMPLE]
    if not sample or not all(_DATE_SHAPE.fullmatch(v) for v in sample):
        return []
    times = {v.count(":") for v in sample}
    if len(times) != 1:
        return []
    suffix = _TIME_FORMATS[times.pop()]
    return [fmt + suffix for fmt in _DATE_FORMATS if _all_parse(sample, fmt + suffix)]


def _all_parse(values: list[str], fmt: str) -> bool:
    try:
        for value in values:
            datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def _refine_types(
    name: str,
    names: list[str],
    types: list[str],
    samples: list[list[str]],
    delimiter: str,
    sniff: dict[str, Any],
    notes: list[str],
) -> tuple[list[str], list[str]]:
    """SQL expressions over the columns as read, and the types to read them as, after our own checks.

    `names` are the (unique) names the columns are read under.
    """
    exprs = [_ident(n) for n in names]
    read_types = list(types)
    styles = [_number_styles(values) if t == "VARCHAR" else set() for t, values in zip(types, samples, strict=True)]
    decided = {next(iter(s)) for s in styles if len(s) == 1}
    preferred = "eu" if "eu" in decided or ("en" not in decided and delimiter == ";") else "en"

    def convert(i: int, sql_type: str, expr: str, check: str, what: str) -> None:
        col = _ident(names[i])
        v = f"trim({col})"
        message = _lit(f"{name}: column {col} has the value '") + f" || {v} || " + _lit(f"' {what}")
        exprs[i] = (
            f"CASE WHEN {col} IS NULL OR {v} = '' THEN NULL WHEN {check.replace('{v}', v)} "
            f"THEN CAST({expr.replace('{v}', v)} AS {sql_type}) ELSE error({message}) END"
        )
        read_types[i] = "VARCHAR"

    for i, style_set in enumerate(styles):
        if style_set:
            style = preferred if preferred in style_set else next(iter(style_set))
            integer, fraction, plain = _NUMBER_FORMATS[style]
            whole = all(re.fullmatch(integer, v) for v in samples[i])
            pattern = integer if whole else fraction
            check = "regexp_full_match({v}, " + _lit(pattern) + ")"
            convert(
                i,
                "BIGINT" if whole else "DOUBLE",
                plain,
                check,
                "that is not a number like the ones above it",
            )
            notes.append(f"column {names[i]!r}: {'decimal comma' if style == 'eu' else 'thousands separators'}")
        elif types[i] == "VARCHAR" and (formats := _date_formats(samples[i])):
            if len(formats) > 1:
                notes.append(f"column {names[i]!r}: dates could be day/month or month/day; kept as text")
                continue
            sql_type = "TIMESTAMP" if ":" in formats[0] else "DATE"
            check = "try_strptime({v}, " + _lit(formats[0]) + ") IS NOT NULL"
            convert(
                i,
                sql_type,
                "strptime({v}, " + _lit(formats[0]) + ")",
                check,
                f"that is not a date ({formats[0]})",
            )
            notes.append(f"column {names[i]!r}: {sql_type.lower()} as {formats[0]}")
        elif types[i] == "DOUBLE" and "eu" in decided and _thousands_only(samples[i]):
            # In a decimal-comma file "2.500" is two thousand five hundred, not two and a half.
            check = "regexp_full_match({v}, " + _lit(_THOUSANDS_ONLY.pattern) + ")"
            convert(i, "BIGINT", "replace({v}, '.', '')", check, "that is not a whole number")
            notes.append(f"column {names[i]!r}: '.' is a thousands separator")

    for kind, fmt in (("DATE", sniff["DateFormat"]), ("TIMESTAMP", sniff["TimestampFormat"])):
        ambiguous = [i for i, t in enumerate(read_types) if t == kind and _day_month_ambiguous(fmt, samples[i])]
        if ambiguous and len(ambiguous) == read_types.count(kind):
            for i in ambiguous:
                read_types[i] = "VARCHAR"
                notes.append(f"column {names[i]!r}: dates could be day/month or month/day; kept as text")
    return exprs, read_types


def _thousands_only(values: list[str]) -> bool:
    return any("." in v for v in values) and all(_THOUSANDS_ONLY.fullmatch(v) for v in values)


def _day_month_ambiguous(fmt: object, values: list[str]) -> bool:
    """DuckDB picked a day/month order, but every value also reads the other way round."""
    if not isinstance(fmt, str) or "%d" not in fmt or "%m" not in fmt or fmt.startswith("%Y"):
        return False
    swapped = fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")
    return _all_parse(values[:DATE_SAMPLE], swapped)


# -- SQL text ---------------------------------------------------------------------------------


def _lit(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
