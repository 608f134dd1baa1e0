"""Where the table sits in a grid of cells: title rows above it, its header rows, totals and notes below it.

People's spreadsheets and CSV exports rarely start with the header in the first row: a report has a
title and a date above the table, a header can span two rows ("Energy" over "kWh") with merged
cells, and a "Total" row closes the table. A reader builds the grid (a sheet's cells, or the records
of a text file) and `find_table` says which rows are the header and which are data. Nothing is
dropped silently: every row it leaves out is listed with its reason (`Skipped`), and the person can
choose the header rows, rows to skip and whether to keep totals (`LayoutOptions`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from threshold.errors import InvalidInput

Kind = Literal["empty", "text", "number", "date", "bool"]

HEADER_SEARCH_ROWS = 50
"""The header is looked for among this many non-blank rows at the top of the area."""
MAX_HEADER_ROWS = 3
"""A header is at most this many rows deep (a group row, the names, a unit row)."""
BODY_ROWS = 20
"""Rows below a header row whose types tell a unit row ("kWh" over numbers) from data."""
MAX_TRAILING = 5
"""At most this many totals rows, and this many note rows, are looked for at the bottom."""

_EXACT_TOTALS = {
    "total",
    "totals",
    "grand total",
    "sum",
    "sum total",
    "subtotal",
    "sub-total",
    "sub total",
    "summe",
    "gesamt",
    "gesamtsumme",
    "gesamtergebnis",
    "zwischensumme",
    "insgesamt",
    "endsumme",
    "total general",
    "totaal",
    "totale",
}
_EXACT_SUMMARIES = {"average", "avg", "mean", "durchschnitt", "mittelwert"}
_MISSING = {"n/a", "na", "n.a.", "#n/a", "-", "--", "?", "null", "none", "nan", "k.a.", "tbd", ""}
"""Texts that stand for a missing value: a row of them is data, not a header's unit row."""
_TOTAL_WORDS = ("total", "totals", "subtotal", "summe", "gesamt", "ergebnis", "zwischensumme")
"""A label that starts or ends with one of these ("Total Berlin", "Berlin Ergebnis") may be a subtotal."""


# -- options ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeaderRows:
    """The header rows a person chose, as the source numbers them; first = 0 means "no header row"."""

    first: int
    last: int

    @classmethod
    def parse(cls, value: int | str | None) -> HeaderRows | None:
        """`3`, `"3"`, `"3-4"` (a header two rows deep) or `0` / `"none"` (no header); None/"" = detect."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = str(value).strip().lower()
        if text in ("0", "none", "no"):
            return cls(0, 0)
        m = re.fullmatch(r"(\d{1,7})(?:\s*(?:-|:|\.\.|–)\s*(\d{1,7}))?", text)
        if not m:
            raise InvalidInput(
                f"header row {str(value)[:20]!r} is not a row number: give N, N-M for a header several rows deep, "
                "or 0 for no header row"
            )
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        if first < 1 or last < first or last - first >= MAX_HEADER_ROWS + 2:
            raise InvalidInput(f"header rows {text} are not a short range of rows counted from 1")
        return cls(first, last)

    def __str__(self) -> str:
        if self.first == 0:
            return "0"
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


_A1 = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})?")


@dataclass(frozen=True)
class CellRange:
    """A block of a sheet in A1 notation: `A5:H200`, `A5:H` (to the last row) or `A5` (to the end)."""

    first_row: int
    """1-based, as the sheet shows it."""
    first_col: int
    """0-based (A = 0)."""
    last_row: int | None = None
    last_col: int | None = None

    @classmethod
    def parse(cls, text: str | None) -> CellRange | None:
        if text is None or not text.strip():
            return None
        parts = text.strip().split(":")
        first = _A1.fullmatch(parts[0])
        last = _A1.fullmatch(parts[1]) if len(parts) == 2 else None
        if not first or len(parts) > 2 or (len(parts) == 2 and not last):
            raise InvalidInput(f"range {text[:40]!r} is not a block of cells like A5:H200, A5:H or A5")
        first_row = int(first.group(2) or 1)
        last_row = int(last.group(2)) if last and last.group(2) else None
        first_col = _column_index(first.group(1))
        last_col = _column_index(last.group(1)) if last else None
        if first_row < 1 or (last_row is not None and last_row < first_row):
            raise InvalidInput(f"range {text[:40]!r} ends above where it starts")
        if last_col is not None and last_col < first_col:
            raise InvalidInput(f"range {text[:40]!r} ends left of where it starts")
        return cls(first_row, first_col, last_row, last_col)

    def __str__(self) -> str:
        end = ""
        if self.last_col is not None:
            end = ":" + column_letter(self.last_col) + (str(self.last_row) if self.last_row else "")
        return f"{column_letter(self.first_col)}{self.first_row}{end}"


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out


@dataclass(frozen=True)
class LayoutOptions:
    header: HeaderRows | None = None
    """The header rows; None: detect them."""
    skip_rows: int = 0
    """Leave out this many rows at the top of the area before looking for the header."""
    totals: bool = True
    """Leave out totals, subtotals and notes below the table (False: keep every row as data)."""


# -- the grid and what is found in it -------------------------------------------------------------


@dataclass
class Grid:
    """The cells a reader found; `find_table` fills merged cells in place."""

    rows: list[list[Any]]
    numbers: list[int]
    """The number of each row as the source shows it (sheet row, or line of a text file)."""
    kind: Callable[[Any], Kind]
    value: Callable[[Any], float | None]
    """A cell's number, for the sums a totals row must match."""
    text: Callable[[Any], str]
    """A cell as the header name it gives."""
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    """Merged blocks (first row, first column, last row, last column), grid indices, inclusive."""
    origin: int = 1
    """The number of the area's first row: `skip_rows` counts from it."""
    unit: str = "row"
    """What the source calls a row in notes: "row" (sheet) or "line" (text file)."""
    empty: Callable[[Any], bool] | None = None
    """Whether a cell is empty: the answer of `kind(cell) == "empty"`, cheaper. Rows of data are told apart from
    blank rows by it alone, so a sheet of a million rows is not typed cell by cell. None: ask `kind`."""


@dataclass(frozen=True)
class Skipped:
    """Rows left out of the table, numbered as the source shows them, and why."""

    rows: tuple[int, ...]
    reason: Literal["skipped", "title", "blank", "total", "subtotal", "note"]
    detail: str = ""

    def describe(self, unit: str = "row") -> str:
        what = {
            "skipped": "skipped as asked",
            "title": "above the table (title)",
            "blank": "blank",
            "total": "a total",
            "subtotal": "a subtotal",
            "note": "a note below the table",
        }[self.reason]
        if len(self.rows) > 1:
            what = {
                "title": "above the table (titles)",
                "total": "totals",
                "subtotal": "subtotals",
                "note": "notes below the table",
            }.get(self.reason, what)
        detail = f": {self.detail}" if self.detail else ""
        return f"left out {describe_rows(self.rows, unit)}, {what}{detail}"


@dataclass
class TableLayout:
    header_rows: list[int]
    """Grid indices of the header rows (top to bottom); empty when the table has no header."""
    data_rows: list[int]
    """Grid indices of the data rows, in order."""
    first_col: int
    last_col: int
    """The table's columns in the grid, inclusive."""
    names: list[str]
    """One name per column: the header rows' texts joined ("Energy kWh"), column_N where empty."""
    header_numbers: list[int]
    """The header rows as the source numbers them."""
    skipped: list[Skipped]
    unit: str = "row"

    def notes(self) -> list[str]:
        """What was decided, for the person sharing (one line each)."""
        out = []
        if not self.header_rows:
            out.append("no header row: columns are named column_1, column_2...")
        elif self.header_numbers == [1] and not any(s.reason in ("title", "skipped") for s in self.skipped):
            out.append("first row is the header")
        elif len(self.header_numbers) == 1:
            out.append(f"{self.unit} {self.header_numbers[0]} is the header")
        else:
            rows = describe_rows(self.header_numbers, self.unit)
            out.append(f"{rows} are the header (their names joined)")
        out.extend(s.describe(self.unit) for s in self.skipped)
        return out


def describe_rows(numbers: Sequence[int], unit: str = "row") -> str:
    """(1, 2, 3, 7) -> "rows 1–3, 7"."""
    spans: list[str] = []
    start = prev = None
    for n in sorted(numbers):
        if start is None:
            start = prev = n
        elif prev is not None and n == prev + 1:
            prev = n
        else:
            spans.append(f"{start}" if start == prev else f"{start}–{prev}")
            start = prev = n
    if start is not None:
        spans.append(f"{start}" if start == prev else f"{start}–{prev}")
    plural = len(numbers) > 1
    return f"{unit}{'s' if plural else ''} {', '.join(spans)}"


def find_table(grid: Grid, options: LayoutOptions | None = None) -> TableLayout:
    """Which rows of `grid` are the header and which are data; see the module docstring."""
    options = options or LayoutOptions()
    return _Finder(grid, options).run()


class _Finder:
    def __init__(self, grid: Grid, options: LayoutOptions) -> None:
        self.grid = grid
        self.options = options
        self.rows = grid.rows
        self.width = max((len(r) for r in grid.rows), default=0)
        for row in self.rows:
            if len(row) < self.width:
                row.extend([""] * (self.width - len(row)))
        self._kinds: dict[int, list[Kind]] = {}
        self._fills: dict[int, int] = {}
        self._empty = grid.empty or (lambda cell: grid.kind(cell) == "empty")
        self._spread: set[tuple[int, int]] = set()
        """Cells given a value by a merged block or a group label to their left (names made from them are numbered)."""

    # cells
    def kinds(self, i: int) -> list[Kind]:
        if i not in self._kinds:
            self._kinds[i] = list(map(self.grid.kind, self.rows[i]))
        return self._kinds[i]

    def fill(self, i: int) -> int:
        """The number of cells of row `i` that hold something."""
        if (n := self._fills.get(i)) is None:
            kinds = self._kinds.get(i)
            row = self.rows[i]
            n = len(kinds) - kinds.count("empty") if kinds is not None else len(row) - sum(map(self._empty, row))
            self._fills[i] = n
        return n

    def any_filled(self, i: int) -> bool:
        """Row `i` holds something (stops at its first filled cell)."""
        if (n := self._fills.get(i)) is not None:
            return n > 0
        empty = self._empty
        return not all(map(empty, self.rows[i]))

    def all_text(self, i: int) -> bool:
        return all(k in ("text", "empty") for k in self.kinds(i))

    def filled(self, i: int) -> list[int]:
        if self.fill(i) == len(self.rows[i]):
            return list(range(len(self.rows[i])))
        empty = self._empty
        return [j for j, cell in enumerate(self.rows[i]) if not empty(cell)]

    def run(self) -> TableLayout:
        grid, options = self.grid, self.options
        n = len(self.rows)
        skipped: list[Skipped] = []
        start = next((i for i, num in enumerate(grid.numbers) if num >= grid.origin + options.skip_rows), n)
        asked = tuple(grid.numbers[i] for i in range(start) if self.fill(i))
        if asked:
            skipped.append(Skipped(asked, "skipped", f"the first {options.skip_rows}"))

        if options.header is not None:
            header, top = self._chosen_header(options.header, start)
        else:
            header, top = self._detect_header(start)
        if top is None:
            return TableLayout([], [], 0, -1, [], [], skipped, grid.unit)
        titles = tuple(grid.numbers[i] for i in range(start, top) if self.fill(i))
        if titles:
            skipped.append(Skipped(titles, "title"))

        body_start = header[-1] + 1 if header else top
        data = [i for i in range(body_start, n) if self.any_filled(i)]
        last = data[-1] if data else body_start - 1
        blanks = tuple(grid.numbers[i] for i in range(body_start, last) if not self.any_filled(i))
        if blanks:
            skipped.append(Skipped(blanks, "blank"))
        if options.totals and data:
            data, found = self._totals(data, header)
            skipped.extend(found)

        used = self._used_columns([*header, *data])
        first_col, last_col = (used[0], used[-1]) if used else (0, -1)
        self._fill_merged([*header, *data])
        names = self._names(header, first_col, last_col)
        return TableLayout(
            header_rows=header,
            data_rows=data,
            first_col=first_col,
            last_col=last_col,
            names=names,
            header_numbers=[grid.numbers[i] for i in header],
            skipped=skipped,
            unit=grid.unit,
        )

    def _used_columns(self, rows: list[int]) -> list[int]:
        """The columns filled in any of `rows` (stops looking once every column is)."""
        used: set[int] = set()
        for i in rows:
            if len(used) == self.width:
                break
            used.update(self.filled(i))
        return sorted(used)

    # the header
    def _chosen_header(self, chosen: HeaderRows, start: int) -> tuple[list[int], int | None]:
        grid, unit = self.grid, self.grid.unit
        if chosen.first == 0:
            top = next((i for i in range(start, len(self.rows)) if self.fill(i)), None)
            return [], top
        if chosen.first < grid.origin + self.options.skip_rows:
            raise InvalidInput(f"header {unit} {chosen.first} is among the {unit}s skipped or outside the range")
        index = {num: i for i, num in enumerate(grid.numbers)}
        rows = [index.get(num) for num in range(chosen.first, chosen.last + 1)]
        if any(i is None for i in rows) and unit == "row":
            have = f"{grid.numbers[0]}–{grid.numbers[-1]}" if grid.numbers else "none"
            raise InvalidInput(f"header row {chosen} is outside the table (its rows are {have})")
        header = [i for i in rows if i is not None and self.fill(i)]
        if not header:
            raise InvalidInput(f"header {unit} {chosen} is empty")
        return header, header[0]

    def _detect_header(self, start: int) -> tuple[list[int], int | None]:
        window = [i for i in range(start, len(self.rows)) if self.fill(i)][:HEADER_SEARCH_ROWS]
        if not window:
            return [], None
        widest = max(self.fill(i) for i in window)
        need = 1 if widest <= 1 else max(2, math.ceil(widest / 2))
        first = next(i for i in window if self.fill(i) >= need)
        if not self.all_text(first):
            above = first - 1
            if above >= start and self.fill(above) >= 2 and self.all_text(above):
                return [above], above  # a header naming only some columns ("id,,,,,name") right above the data
            return [], first  # the table starts with data: it has no header row
        header = [first]
        while len(header) < MAX_HEADER_ROWS and self._unit_row(header[-1] + 1):
            header.append(header[-1] + 1)
        while len(header) < MAX_HEADER_ROWS and header[0] - 1 >= start and self._group_row(header[0] - 1, header):
            header.insert(0, header[0] - 1)
        return header, header[0]

    def _typed_columns(self, below: int) -> set[int]:
        """Columns whose cells in the rows below `below` are mostly numbers, dates or booleans."""
        body = [i for i in range(below + 1, len(self.rows)) if self.fill(i)][:BODY_ROWS]
        typed = set()
        for j in range(self.width):
            kinds = [self.kinds(i)[j] for i in body if self.kinds(i)[j] != "empty"]
            if kinds and sum(k != "text" for k in kinds) >= 0.8 * len(kinds):
                typed.add(j)
        return typed

    def _unit_row(self, i: int) -> bool:
        """Row `i` continues the header: text only, over most of the columns that hold numbers or dates below."""
        if i >= len(self.rows) or not self.fill(i) or not self.all_text(i):
            return False
        if any(_fold(self.grid.text(self.rows[i][j])) in _MISSING for j in self.filled(i)):
            return False  # "n/a", "-": a first data row with values missing, not units
        typed = self._typed_columns(i)
        labelled = typed & set(self.filled(i))
        return bool(typed) and len(labelled) >= 0.6 * len(typed)

    def _group_row(self, i: int, header: list[int]) -> bool:
        """Row `i`, right above the header, labels groups of its columns ("Energy" over "kWh | EUR")."""
        if not self.fill(i) or not self.all_text(i):
            return False
        cells = self.filled(i)
        below = self.filled(header[0])
        if not set(cells) <= set(below) and not self._merged_in(i):
            return False
        if len(cells) >= 2 and len(cells) == len(below):
            return True  # a label over every column
        table_first = min(below) if below else 0
        if cells[0] > table_first:
            return True  # labels over later columns only, none over the first
        spans = [m for m in self.grid.merged if m[0] <= i <= m[2] and m[3] > m[1]]
        return any(m[3] - m[1] + 1 < len(below) for m in spans)

    def _merged_in(self, i: int) -> bool:
        return any(m[0] <= i <= m[2] for m in self.grid.merged)

    def _fill_merged(self, rows: list[int]) -> None:
        wanted = set(rows)
        for r0, c0, r1, c1 in self.grid.merged:
            if r0 >= len(self.rows):
                continue
            value = self.rows[r0][c0] if c0 < self.width else ""
            for r in range(r0, min(r1, len(self.rows) - 1) + 1):
                if r not in wanted:
                    continue
                for c in range(c0, min(c1, self.width - 1) + 1):
                    if (r, c) != (r0, c0):
                        self.rows[r][c] = value
                        self._spread.add((r, c))
                self._kinds.pop(r, None)
                self._fills.pop(r, None)

    def _names(self, header: list[int], first_col: int, last_col: int) -> list[str]:
        texts = []
        for depth, i in enumerate(header):
            row = [self.grid.text(c) if self.kinds(i)[j] != "empty" else "" for j, c in enumerate(self.rows[i])]
            upper = depth < len(header) - 1
            if upper and not self._merged_in(i):
                # A group label without merged cells spans the empty cells to its right.
                seen = False
                for j in range(len(row)):
                    if row[j]:
                        seen = True
                    elif seen and j > 0:
                        row[j] = row[j - 1]
                        self._spread.add((i, j))
            texts.append(row)
        names, spread = [], []
        for j in range(first_col, last_col + 1):
            parts: list[str] = []
            for row in texts:
                if row[j] and (not parts or parts[-1].strip() != row[j].strip()):
                    parts.append(row[j])
            if len(parts) > 1:  # one name: exactly as written; joined names: without the padding
                parts = [p.strip() for p in parts]
            names.append(" ".join(parts) if parts else f"column_{j - first_col + 1}")
            spread.append(any((i, j) in self._spread for i in header))
        # A merged header cell over two columns names both: number the copies ("Energy", "Energy 2").
        counts: dict[str, int] = {}
        for k, name in enumerate(names):
            counts[name] = counts.get(name, 0) + 1
            if counts[name] > 1 and spread[k]:
                names[k] = f"{name} {counts[name]}"
        return names

    # totals, subtotals and notes below the table
    def _totals(self, data: list[int], header: list[int]) -> tuple[list[int], list[Skipped]]:
        found: list[Skipped] = []
        numbers = self.grid.numbers
        # Notes: after a blank row at the bottom, rows of one text cell ("Source: SAP export").
        gap = next((k for k in range(len(data) - 1, 0, -1) if data[k] - data[k - 1] > 1), None)
        if gap is not None and len(data) - gap <= MAX_TRAILING and any(self.fill(i) >= 2 for i in data):
            notes = data[gap:]
            if all(self.fill(i) == 1 and self.all_text(i) for i in notes):
                found.append(Skipped(tuple(numbers[i] for i in notes), "note"))
                data = data[:gap]

        # Subtotals, top-down: a "Total ..." row whose numbers sum the rows since the previous one.
        subtotals: list[tuple[int, str]] = []
        block: list[int] = []
        kept: list[int] = []
        for i in data:
            label = self._label(i)
            if label is not None and _total_label(label) and self._summary_shape(i) and self._sum_matches(i, block):
                subtotals.append((i, f"'{label}', the sum of the rows above"))
                block = []
                continue
            block.append(i)
            kept.append(i)
        last_kept = kept[-1] if kept else -1
        totals = [(i, d) for i, d in subtotals if i > last_kept]  # a subtotal at the very bottom is the total
        subtotals = [(i, d) for i, d in subtotals if i < last_kept]
        # At the bottom: a labelled summary row ("Total", "Summe", "Average"), or an unlabelled row of sums.
        for _ in range(MAX_TRAILING):
            if len(kept) < 2:
                break
            i, above = kept[-1], kept[:-1]
            label = self._label(i)
            if label is not None and _exact_summary(label) and self._summary_shape(i):
                sums = ", the sum of the rows above" if self._sum_matches(i, above) else ""
                totals.append((i, f"'{label}'{sums}"))
            elif label is None and self._all_sums(i, above):
                totals.append((i, "no label, every number is the sum of the rows above"))
            else:
                break
            kept = above
        if len(subtotals) == 1:
            found.append(Skipped((numbers[subtotals[0][0]],), "subtotal", subtotals[0][1]))
        elif subtotals:
            first = self._label(subtotals[0][0])
            detail = f"labelled like '{first}', each the sum of the rows above it"
            found.append(Skipped(tuple(numbers[i] for i, _ in subtotals), "subtotal", detail))
        for i, detail in sorted(totals):
            found.append(Skipped((numbers[i],), "total", detail))
        return kept, found

    def _label(self, i: int) -> str | None:
        """The row's first cell when it is text, else None."""
        row, empty = self.rows[i], self._empty
        j = next((j for j, cell in enumerate(row) if not empty(cell)), None)
        if j is None or self.grid.kind(row[j]) != "text":
            return None
        return self.grid.text(row[j]).strip()

    def _summary_shape(self, i: int) -> bool:
        """A label followed by numbers only (no other text, no dates)."""
        kinds = [k for k in self.kinds(i) if k != "empty"]
        return kinds[0] == "text" and len(kinds) >= 2 and all(k == "number" for k in kinds[1:])

    def _column_sums(self, rows: list[int], columns: list[int]) -> dict[int, tuple[float, int]]:
        sums: dict[int, tuple[float, int]] = {}
        for j in columns:
            total, count = 0.0, 0
            for r in rows:
                if self.kinds(r)[j] == "number":
                    v = self.grid.value(self.rows[r][j])
                    if v is not None:
                        total, count = total + v, count + 1
            sums[j] = (total, count)
        return sums

    def _numbers(self, i: int) -> list[tuple[int, float]]:
        out = []
        for j, k in enumerate(self.kinds(i)):
            if k == "number" and (v := self.grid.value(self.rows[i][j])) is not None:
                out.append((j, v))
        return out

    def _sum_matches(self, i: int, above: list[int]) -> bool:
        """At least one number of row `i` is the sum (of two or more values) of its column in `above`."""
        values = self._numbers(i)
        sums = self._column_sums(above, [j for j, _ in values])
        return any(sums[j][1] >= 2 and _same(v, sums[j][0]) for j, v in values)

    def _all_sums(self, i: int, above: list[int]) -> bool:
        kinds = [k for k in self.kinds(i) if k != "empty"]
        if not kinds or any(k != "number" for k in kinds):
            return False
        values = self._numbers(i)
        sums = self._column_sums(above, [j for j, _ in values])
        if not all(_same(v, sums[j][0]) for j, v in values):
            return False
        # The sum of two or more non-zero values somewhere, else a row of zeros under zeros "matches".
        return any(sums[j][1] >= 2 and v != 0 for j, v in values)


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _fold(label: str) -> str:
    import unicodedata

    text = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    return " ".join(text.strip().rstrip(":*").split())


def _exact_summary(label: str) -> bool:
    folded = _fold(label)
    return folded in _EXACT_TOTALS or folded in _EXACT_SUMMARIES


def _total_label(label: str) -> bool:
    """ "Total", "Summe", or a label starting or ending with such a word ("Total Berlin", "Berlin Ergebnis")."""
    folded = _fold(label)
    if folded in _EXACT_TOTALS:
        return True
    words = folded.split()
    return len(words) >= 2 and (words[0] in _TOTAL_WORDS or words[-1] in _TOTAL_WORDS)
