"""How big a spreadsheet really is, measured before any cell grid is built.

A spreadsheet reader builds each sheet as a grid from A1 to its last used cell: a 1.5 KB .xlsx holding
only A1 and ZZ200000 becomes 140 million cells (gigabytes). So before the reader runs, the file is
measured by streaming through it with little memory:

- .xlsx/.xlsm/.ods (zip): the decompressed size of all parts, each part's compression ratio (a zip
  bomb), each sheet's declared dimension, its real extent (from the cells' own positions) and its cells;
- .xls (an OLE compound file): the workbook stream's size, each sheet's DIMENSIONS record and the
  positions of its cell records.

Every refusal is a `TooLarge` naming the limit's setting. What the pass saw on the way (`Measured`: which
.xlsx sheets start at A1 and have no merged cells) lets the reader take its direct path.
"""

from __future__ import annotations

import functools
import re
import struct
import threading
import zipfile
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from xml.etree.ElementTree import XMLPullParser

from threshold.errors import InvalidInput, TooLarge
from threshold.limits.allowance import human_size
from threshold.limits.settings import LimitSettings

try:  # ISA-L's inflate, ~3x zlib's on a sheet's XML (the check inflates every sheet once before the reader)
    from isal import isal_zlib as _zlib
except ImportError:  # pragma: no cover - the dependency is declared; zlib gives the same bytes
    import zlib as _zlib  # type: ignore[no-redef]
_InflateError = cast(type[Exception], _zlib.error)

CHUNK = 1 << 20
REFS_AT_ONCE = 8 << 20
"""Cell positions are read over this much of a sheet at once (a search per block, see `_add_refs`)."""
# A cell's position, its `r` attribute: rows and columns found apart (two passes that make no tuple per cell).
# Any `r="A1"`-shaped attribute counts, not only a <c> element's: more can only make the sheet seem larger.
_REF_ROW = re.compile(rb"r=\"[A-Z]{1,3}([0-9]{1,7})\"")
_REF_COL = re.compile(rb"r=\"([A-Z]{1,3})[0-9]")
# Cells, counted in two passes: `<c` (a literal prefix the regex engine finds fast) and, only in a chunk that has
# ":c" at all, the namespace-prefixed `<x:c` of other writers (one pass with the optional prefix cost twice as much).
_CELL = re.compile(rb"<c[\s/>]")
_CELL_PREFIXED = re.compile(rb"<\w+:c[\s/>]")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*?\sref=\"([A-Z]{0,3})([0-9]{0,7})(?::([A-Z]{1,3})([0-9]{1,7}))?\"")
_ODS = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
# The sheet's first cell is A1 and holds a value (a reader's grid then starts at A1, whatever comes after).
_FIRST_CELL = re.compile(rb"<c\s[^>]*?\br=\"([A-Z]{1,3}[0-9]{1,7})\"[^>]*>(\s*<(?:v|is)[\s>])?")
_MERGED = b"<mergeCell "
_ODD = r"<\w+:c[\t\n\v\f\r />]|<mergeCell "
"""What sends a block to the slow path besides a far position: a namespace-prefixed cell, a merged cell."""
_SHEET_ENTRY = re.compile(rb"<sheet\b[^>]*>")
_ATTRIBUTE = re.compile(rb"([\w:]+)=\"([^\"]*)\"")


@dataclass
class Measured:
    """What the size check saw while measuring (nothing is promised for what it did not read)."""

    plain_sheets: set[str] = field(default_factory=set)
    """Names of .xlsx worksheets whose first cell is A1 with a value and that have no merged cells."""


def check(path: Path, limits: LimitSettings, stop: threading.Event | None = None) -> Measured:
    """Refuse a spreadsheet whose grid, cells or decompressed size would pass the limits (`stop`: give up on
    a zip's next block, `Stopped`)."""
    with path.open("rb") as f:
        magic = f.read(8)
    measured = Measured()
    if magic.startswith(b"PK\x03\x04"):
        _check_zip(path, limits, measured, stop)
    elif magic == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        _check_xls(path, limits)
    return measured


class Stopped(Exception):
    """A check ahead was called off (its share failed before reading)."""


class Ahead:
    """The check of one spreadsheet, started on its own thread while a share does the rest of its preparation
    (its imports and checks hold the GIL; the check mostly inflates and searches, which release it).

    The reader waits for `result()` before it builds anything, so every bound holds as before; a share that
    fails earlier calls `cancel()` and the thread stops at its next block."""

    def __init__(self, path: Path, limits: LimitSettings) -> None:
        self.path, self.limits = path, limits
        self._stop = threading.Event()
        self._future: Future[Measured] = Future()
        threading.Thread(target=self._run, name="share-sheet-size", daemon=True).start()

    def _run(self) -> None:
        try:
            self._future.set_result(check(self.path, self.limits, self._stop))
        except BaseException as e:  # handed to whoever waits for the result
            self._future.set_exception(e)

    def result(self) -> Measured:
        return self._future.result()

    def cancel(self) -> None:
        self._stop.set()


class _Extent:
    """The grid a reader would build for one sheet: rows x columns from A1 to the last cell, and its cells."""

    def __init__(self, name: str, where: str, limits: LimitSettings) -> None:
        self.name, self.where, self.limits = name, where, limits
        self.rows = self.cols = self.cells = 0

    def add(self, row: int, col: int, count: int = 1) -> None:
        self.rows, self.cols = max(self.rows, row), max(self.cols, col)
        self.cells += count
        self.check()

    def check(self) -> None:
        most = self.limits.spreadsheet_cells
        if self.rows * self.cols > most:
            raise TooLarge(
                f"{self.name}: {self.where} spans {self.rows:,} rows x {self.cols:,} columns "
                f"({self.rows * self.cols:,} cells), more than a sheet may ({self.limits.setting('spreadsheet_cells')})"
            )
        if self.cells > most:
            raise TooLarge(
                f"{self.name}: {self.where} holds more than {most:,} cells ({self.limits.setting('spreadsheet_cells')})"
            )


def _column(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


# -- zip: .xlsx, .xlsm, .ods ---------------------------------------------------------------------


def _check_zip(path: Path, limits: LimitSettings, measured: Measured, stop: threading.Event | None) -> None:
    name = path.name
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise InvalidInput(f"{name} is not a readable spreadsheet ({e})") from None
    with archive:
        infos = archive.infolist()
        total = sum(i.file_size for i in infos)
        if total > limits.spreadsheet_bytes:
            raise TooLarge(
                f"{name} unpacks to {human_size(total)}, more than a spreadsheet may "
                f"({limits.setting('spreadsheet_bytes')})"
            )
        for info in infos:
            if info.compress_size and info.file_size > CHUNK:
                ratio = info.file_size / info.compress_size
                if ratio > limits.spreadsheet_ratio:
                    raise TooLarge(
                        f"{name}: its part {info.filename[:80]} is compressed {ratio:,.0f} to 1, a decompression "
                        f"bomb rather than a spreadsheet ({limits.setting('spreadsheet_ratio')})"
                    )
        budget = [limits.spreadsheet_bytes]  # what the parts really unpack to, whatever their headers say
        names = _sheet_names(archive)
        for info in infos:
            if re.fullmatch(r"xl/worksheets/[^/]+\.xml", info.filename):
                plain = _check_xlsx_sheet(archive, info, name, limits, budget, stop)
                if plain and info.filename in names:
                    measured.plain_sheets.add(names[info.filename])
            elif info.filename == "content.xml":
                _check_ods(archive, info, name, limits, budget, stop)


def _sheet_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part -> the sheet's name, from xl/workbook.xml and its relationships (small parts; a name the
    reader would not find again only leaves a sheet off the direct path)."""
    try:
        book = archive.read("xl/workbook.xml") if archive.getinfo("xl/workbook.xml").file_size < CHUNK else b""
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except (KeyError, zipfile.BadZipFile, OSError, EOFError):
        return {}
    targets = {}
    for entry in re.findall(rb"<Relationship\b[^>]*>", rels[:CHUNK]):
        attrs = dict(_ATTRIBUTE.findall(entry))
        target = attrs.get(b"Target", b"").decode(errors="replace").lstrip("/")
        targets[attrs.get(b"Id", b"")] = target if target.startswith("xl/") else f"xl/{target}"
    names = {}
    for entry in _SHEET_ENTRY.findall(book):
        attrs = {k.split(b":")[-1]: v for k, v in _ATTRIBUTE.findall(entry)}
        part = targets.get(attrs.get(b"id", b""))
        if part and b"&" not in attrs.get(b"name", b"&"):  # names with XML escapes: the reader's own path
            names[part] = attrs[b"name"].decode(errors="replace")
    return names


def _chunks(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    name: str,
    limits: LimitSettings,
    budget: list[int],
    stop: threading.Event | None,
    size: int = CHUNK,
) -> Iterator[bytes]:
    try:
        for chunk in _inflated(archive, info, size):
            if stop is not None and stop.is_set():
                raise Stopped(name)
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise TooLarge(
                    f"{name} unpacks to more than {human_size(limits.spreadsheet_bytes)} "
                    f"({limits.setting('spreadsheet_bytes')})"
                )
            yield chunk
    except (zipfile.BadZipFile, OSError, EOFError, _InflateError) as e:  # zlib errors are BadZipFile/OSError here
        raise InvalidInput(f"{name} is not a readable spreadsheet ({e})") from None


def _inflated(archive: zipfile.ZipFile, info: zipfile.ZipInfo, size: int) -> Iterator[bytes]:
    """A part's bytes, at most `size` at a time, as `archive.open` gives them (never more than its header says,
    its CRC checked at the end), inflated by `_zlib`; parts not deflated or encrypted go through `zipfile`."""
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 1 or not archive.filename:
        with archive.open(info) as part:
            while chunk := part.read(size):
                yield chunk
        return
    with open(archive.filename, "rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"no local header for {info.filename[:80]}")
        name_length, extra_length = struct.unpack_from("<HH", local, 26)
        f.seek(info.header_offset + 30 + name_length + extra_length)
        inflater = _zlib.decompressobj(-15)
        left, given, crc, pending = info.compress_size, 0, 0, b""
        while not inflater.eof:
            if not pending and left > 0:
                pending = f.read(min(left, CHUNK))
                left = left - len(pending) if pending else 0  # a file shorter than its header says ends here
            out = inflater.decompress(pending, size)
            pending = inflater.unconsumed_tail
            if not out and not pending and left <= 0:
                raise EOFError(f"{info.filename[:80]} ends before its compressed data does")
            given += len(out)
            if given > info.file_size:
                raise zipfile.BadZipFile(f"{info.filename[:80]} unpacks to more than its header says")
            crc = _zlib.crc32(out, crc)
            if out:
                yield out
        if given != info.file_size or crc != info.CRC:
            raise zipfile.BadZipFile(f"Bad CRC-32 or size for file {info.filename[:80]!r}")


def _check_xlsx_sheet(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    name: str,
    limits: LimitSettings,
    budget: list[int],
    stop: threading.Event | None,
) -> bool:
    """Measure one sheet; True when its first cell is A1 with a value and it merges no cells."""
    sheet = info.filename.rsplit("/", 1)[-1].removesuffix(".xml")
    extent = _Extent(name, f"sheet {sheet}", limits)
    tail = b""
    first = True
    starts_at_a1: bool | None = None
    merged = False
    for chunk in _chunks(archive, info, name, limits, budget, stop, REFS_AT_ONCE):
        data = tail + chunk
        if first:
            first = False
            if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:4096]:
                raise InvalidInput(f"{name}: {sheet} declares XML entities, which a spreadsheet never needs")
            if m := _DIMENSION.search(data):
                declared = _Extent(name, f"sheet {sheet} declares a range that", limits)
                last_col, last_row = (m.group(3), m.group(4)) if m.group(3) else (m.group(1), m.group(2))
                declared.add(int(last_row or 1), _column(last_col or b"A"), 0)
        # Cells may straddle two chunks: scan up to the last '<' and carry the rest over.
        cut = data.rfind(b"<")
        cut = cut if cut > len(data) - 4096 else len(data)
        body, tail = data[:cut], data[cut:]
        if starts_at_a1 is None and (cell := _FIRST_CELL.search(body)):
            starts_at_a1 = cell.group(1) == b"A1" and cell.group(2) is not None
        merged = _measure(extent, body) or merged
    merged = _measure(extent, tail) or merged
    return bool(starts_at_a1) and not merged


def _measure(extent: _Extent, body: bytes) -> bool:
    """Count the cells of `body` and widen the extent to its farthest cell; True when it merges cells.

    The usual block (cells in order, none namespace-prefixed, no merged cells) costs a count and one RE2 search;
    any other block is measured by `_cells` and `_add_refs`."""
    if (last := _last_position(body)) is not None and _find(body, f"{_beyond(*last)}|{_ODD}") < 0:
        extent.cells += body.count(b"<c")
        extent.check()
        extent.add(int(last[0]), _column(last[1]), 0)
        return False
    extent.cells += _cells(body)
    extent.check()
    _add_refs(extent, body)
    return _MERGED in body


def _find(body: bytes, pattern: str) -> int:
    """Where RE2 (Arrow's compute functions) first matches `pattern` in `body`, -1 nowhere: several times faster
    than Python's `re` over megabytes, and the bytes are not copied."""
    import pyarrow as pa
    import pyarrow.compute as pc

    offsets = pa.py_buffer(struct.pack("<qq", 0, len(body)))
    array = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(body)])
    return cast(int, pc.find_substring_regex(array, pattern)[0].as_py())


def _cells(body: bytes) -> int:
    """At least the cells of `body`: every `<c` counts (a few `<col`, `<cfRule` too: more can only refuse sooner),
    and the namespace-prefixed spelling only in a chunk that has ":c" at all."""
    return body.count(b"<c") + (len(_CELL_PREFIXED.findall(body)) if b":c" in body else 0)


def _add_refs(extent: _Extent, body: bytes) -> None:
    """Widen the extent to the farthest cell positions in `body`, the largest row and column.

    A sheet's writer puts its cells in order, so the last positions of the chunk are usually the farthest: they
    are taken when one search finds no position beyond them anywhere in the chunk (no list of every position).
    Otherwise, and always when the last positions are two letters wide or more (or written with leading zeros),
    every position is read."""
    if (last := _last_position(body)) is not None and _find(body, _beyond(*last)) < 0:
        extent.add(int(last[0]), _column(last[1]), 0)
        return
    numbers, letters = set(_REF_ROW.findall(body)), set(_REF_COL.findall(body))
    if numbers and letters:
        extent.add(max(map(int, numbers)), max(map(_column, letters)), 0)


def _last_position(body: bytes) -> tuple[bytes, bytes] | None:
    """The largest row and column among the last positions of `body`, when the search for any beyond them can
    be one pattern: one column letter, a row without leading zeros."""
    last_rows, last_cols = _REF_ROW.findall(body[-_LOOK_BACK:]), _REF_COL.findall(body[-_LOOK_BACK:])
    if not (last_rows and last_cols):
        return None
    row, col = max(last_rows, key=lambda r: (len(r.lstrip(b"0")), r.lstrip(b"0"))), max(last_cols, key=_column)
    return (row, col) if len(col) == 1 and row[:1] != b"0" else None


_LOOK_BACK = 4096


@functools.lru_cache(maxsize=64)
def _beyond(row: bytes, col: bytes) -> str:
    """The pattern of a position (`r` attribute) in a row after `row` (no leading zero) or a column after the one
    letter `col`: a number with more digits (leading zeros too: more is only slower), or as many with a larger
    digit where the first differs."""
    digits = row.decode()
    larger = [f"{digits[:i]}[{int(d) + 1}-9][0-9]{{{len(digits) - i - 1}}}" for i, d in enumerate(digits) if d != "9"]
    rows = "|".join([f"[0-9]{{{len(digits) + 1},}}", *larger])
    later = chr(col[0] + 1)
    cols = "[A-Z]{2,}" + (f"|[{later}-Z]" if col != b"Z" else "")
    return f'r="(?:[A-Z]+(?:{rows})"|(?:{cols})[0-9])'


def _check_ods(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    name: str,
    limits: LimitSettings,
    budget: list[int],
    stop: threading.Event | None,
) -> None:
    """OpenDocument repeats rows and cells by attribute: count them as the reader expands them."""
    parser: Any = XMLPullParser(events=("start", "end"))
    row_tag, cell_tags = f"{_ODS}table-row", (f"{_ODS}table-cell", f"{_ODS}covered-table-cell")
    extent: _Extent | None = None
    row = 0
    row_repeat = 1
    col = 0
    row_last_col = 0
    row_cells = 0
    first = True
    for chunk in _chunks(archive, info, name, limits, budget, stop):
        if first:
            first = False
            if b"<!DOCTYPE" in chunk[:4096] or b"<!ENTITY" in chunk[:4096]:
                raise InvalidInput(f"{name}: content.xml declares XML entities, which a spreadsheet never needs")
        parser.feed(chunk)
        for event, elem in cast(Iterator[tuple[str, Any]], parser.read_events()):
            tag = elem.tag
            if event == "start" and tag == f"{_ODS}table":
                extent, row = _Extent(name, f"sheet {elem.get(f'{_ODS}name', '?')[:60]}", limits), 0
            elif event == "start" and tag == row_tag:
                row_repeat = _repeat(elem.get(f"{_ODS}number-rows-repeated"))
                col = row_last_col = row_cells = 0
            elif event == "end" and tag in cell_tags:
                repeat = _repeat(elem.get(f"{_ODS}number-columns-repeated"))
                col += repeat
                if elem.get("{urn:oasis:names:tc:opendocument:xmlns:office:1.0}value-type") or len(elem):
                    row_last_col, row_cells = col, row_cells + repeat
                elem.clear()
            elif event == "end" and tag == row_tag:
                if extent is not None and row_cells:
                    extent.add(row + row_repeat, row_last_col, row_cells * row_repeat)
                row += row_repeat
                elem.clear()
    parser.close()


def _repeat(value: str | None) -> int:
    try:
        return max(1, int(value)) if value else 1
    except ValueError:
        return 1


# -- .xls: OLE compound file, BIFF8 records -------------------------------------------------------

_CELL_RECORDS = {0x0203, 0x00FD, 0x027E, 0x0201, 0x0006, 0x0205, 0x0204, 0x00D6}
_MULTI_RECORDS = {0x00BD, 0x00BE}  # MULRK, MULBLANK: one row, a run of columns
_BOF, _DIMENSIONS = 0x0809, 0x0200


def _check_xls(path: Path, limits: LimitSettings) -> None:
    name = path.name
    try:
        stream = _CompoundFile(path).stream(("Workbook", "Book"))
    except (ValueError, struct.error, IndexError, OSError) as e:
        raise InvalidInput(f"{name} is not a readable spreadsheet ({e})") from None
    if stream is None:
        raise InvalidInput(f"{name} is not a readable spreadsheet (no workbook stream)")
    size, chunks = stream
    if size > limits.spreadsheet_bytes:
        raise TooLarge(f"{name}: its workbook is {human_size(size)} ({limits.setting('spreadsheet_bytes')})")
    buf = bytearray()
    sheets = 0
    extent: _Extent | None = None
    for chunk in chunks:
        buf += chunk
        at = 0
        while at + 4 <= len(buf):
            kind, length = struct.unpack_from("<HH", buf, at)
            if at + 4 + length > len(buf):
                break
            body = bytes(buf[at + 4 : at + 4 + length])
            at += 4 + length
            if kind == _BOF:
                sheets += 1
                extent = _Extent(name, f"sheet {sheets - 1}", limits) if sheets > 1 else None
            elif extent is None:
                continue
            elif kind == _DIMENSIONS and length >= 12:
                (last_row,) = struct.unpack_from("<I", body, 4)
                (last_col,) = struct.unpack_from("<H", body, 10)
                _Extent(name, f"sheet {sheets - 1} declares a range that", limits).add(last_row, last_col, 0)
            elif kind in _CELL_RECORDS and length >= 4:
                r, c = struct.unpack_from("<HH", body, 0)
                extent.add(r + 1, c + 1)
            elif kind in _MULTI_RECORDS and length >= 6:
                r, first = struct.unpack_from("<HH", body, 0)
                (last,) = struct.unpack_from("<H", body, length - 2)
                extent.add(r + 1, last + 1, max(0, last - first + 1))
        del buf[:at]


class _CompoundFile:
    """Just enough of [MS-CFB] to stream one named stream of an .xls file, sector by sector."""

    def __init__(self, path: Path) -> None:
        self.f = path.open("rb")
        header = self.f.read(512)
        if len(header) < 512:
            raise ValueError("too short")
        self.sector = 1 << struct.unpack_from("<H", header, 0x1E)[0]
        self.mini = 1 << struct.unpack_from("<H", header, 0x20)[0]
        fat_sectors, first_dir = struct.unpack_from("<II", header, 0x2C)
        self.cutoff, first_minifat, minifat_count, first_difat, difat_count = struct.unpack_from("<IIIII", header, 0x38)
        if self.sector not in (512, 4096) or fat_sectors > 1 << 20:
            raise ValueError("bad header")
        difat = [s for s in struct.unpack_from("<109I", header, 0x4C) if s < 0xFFFFFFFA]
        next_difat, guard = first_difat, 0
        while next_difat < 0xFFFFFFFA and guard < difat_count + 1:
            block = self._read(next_difat)
            entries = struct.unpack(f"<{self.sector // 4}I", block)
            difat.extend(s for s in entries[:-1] if s < 0xFFFFFFFA)
            next_difat, guard = entries[-1], guard + 1
        self.fat: list[int] = []
        for s in difat[:fat_sectors]:
            self.fat.extend(struct.unpack(f"<{self.sector // 4}I", self._read(s)))
        self.dir = b"".join(self._read(s) for s in self._chain(first_dir))
        self.minifat: list[int] = []
        for s in self._chain(first_minifat) if minifat_count else []:
            self.minifat.extend(struct.unpack(f"<{self.sector // 4}I", self._read(s)))

    def _read(self, sector: int) -> bytes:
        self.f.seek((sector + 1) * self.sector)
        return self.f.read(self.sector)

    def _chain(self, start: int) -> Iterator[int]:
        seen = 0
        while start < 0xFFFFFFFA:
            if start >= len(self.fat) or seen > len(self.fat):
                raise ValueError("broken sector chain")
            yield start
            start, seen = self.fat[start], seen + 1

    def stream(self, names: tuple[str, ...]) -> tuple[int, Iterator[bytes]] | None:
        root_start = struct.unpack_from("<I", self.dir, 0x74)[0]
        for i in range(0, len(self.dir) - 127, 128):
            entry = self.dir[i : i + 128]
            length = struct.unpack_from("<H", entry, 0x40)[0]
            entry_name = entry[: max(0, length - 2)].decode("utf-16-le", errors="replace")
            if entry[0x42] != 2 or entry_name not in names:
                continue
            start, size = struct.unpack_from("<IQ", entry, 0x74)
            size &= 0xFFFFFFFF if self.sector == 512 else (1 << 63) - 1
            if size < self.cutoff:
                return size, self._mini_chunks(root_start, start, size)
            return size, self._chunks(start, size)
        return None

    def _chunks(self, start: int, size: int) -> Iterator[bytes]:
        left = size
        for s in self._chain(start):
            if left <= 0:
                return
            data = self._read(s)[:left]
            left -= len(data)
            yield data

    def _mini_chunks(self, root_start: int, start: int, size: int) -> Iterator[bytes]:
        mini_stream = b"".join(self._read(s) for s in self._chain(root_start))
        out, left, s, seen = bytearray(), size, start, 0
        while s < 0xFFFFFFFA and left > 0 and seen <= len(self.minifat):
            out += mini_stream[s * self.mini : (s + 1) * self.mini][:left]
            left -= self.mini
            s, seen = (self.minifat[s] if s < len(self.minifat) else 0xFFFFFFFE), seen + 1
        yield bytes(out)
