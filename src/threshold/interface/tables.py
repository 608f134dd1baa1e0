"""One renderer for listings: a declared table (its columns, which one is the id, how each value reads)
turns rows (dicts as the services and the API return them, or typed results) into a terminal table that
fits the width: long text wraps at words or ends in an ellipsis, an id column is never cut.

The JSON form of a listing is the rows themselves, so the CLI's `--format json` has the API's keys.
Rich is imported only when a table is drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal


def text(value: Any) -> str:
    """How a value reads in a table cell: nothing for None, "yes" for True, lists joined by commas."""
    if value is None or value is False:
        return ""
    if value is True:
        return "yes"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(text(v) for v in value)
    return str(value)


def count(value: Any) -> str:
    """A number with thousands separators (nothing when unknown)."""
    return "" if value is None else f"{value:,}"


def yes_no(value: Any) -> str:
    return "yes" if value else "no"


def when(value: Any) -> str:
    """An ISO timestamp to the second, in UTC without the offset: `2026-12-06 03:20:15` (others as given)."""
    if value is None:
        return ""
    shown = str(value)
    if len(shown) >= 19 and shown[10] == "T" and (shown[19:] in ("", "+00:00", "Z") or shown[19:20] == "."):
        return shown[:10] + " " + shown[11:19]
    return shown


def field(row: Any, name: str) -> Any:
    """A row's value by name: a dict's key (None when absent) or a typed result's attribute. A column
    whose value is made of several fields reads them with this, so it draws dict rows and typed ones alike."""
    if isinstance(row, Mapping):
        return row.get(name)
    return getattr(row, name)


@dataclass(frozen=True)
class Col:
    """One column: its header, where its value comes from (a key of the row, or a function of the row),
    whether it is the row's identity (never cut, never wrapped), how its value reads, and whether a value
    too long for the space left folds onto more lines (`fold`, nothing lost) or ends in an ellipsis."""

    header: str
    key: str | Callable[[Any], Any]
    id: bool = False
    fmt: Callable[[Any], str] = text
    justify: Literal["left", "right", "center"] = "left"
    fold: bool = False
    markup: bool = False  # `fmt` gives Rich markup (a coloured status); other values are shown as they are

    def value(self, row: Any) -> Any:
        if callable(self.key):
            return self.key(row)
        return field(row, self.key)

    def cell(self, row: Any) -> str:
        return self.fmt(self.value(row))


@dataclass(frozen=True)
class TableSpec:
    """A declared table: the same declaration draws it at any width."""

    columns: tuple[Col, ...]

    def __init__(self, *columns: Col) -> None:
        object.__setattr__(self, "columns", columns)

    def cells(self, rows: Iterable[Any]) -> list[list[str]]:
        return [[c.cell(r) for c in self.columns] for r in rows]

    def rich(self, rows: Iterable[Any], *, title: str | None = None) -> Fitted:
        """What Rich prints: a table that fits the console it is printed on (ids keep their full width, other
        columns wrap at words and end a long word with an ellipsis), or, on a console too narrow for the
        ids and a few characters of every other column, one block of `column  value` lines per row."""
        return Fitted(self, self.cells(rows), title)


class Fitted:
    """A declared table's rows, laid out when the console's width is known (a Rich renderable)."""

    def __init__(self, spec: TableSpec, cells: list[list[str]], title: str | None) -> None:
        self.spec, self.rows, self.title = spec, cells, title

    def widths(self) -> list[int]:
        return [max([len(c.header), *(len(row[i]) for row in self.rows)]) for i, c in enumerate(self.spec.columns)]

    def fits(self, width: int) -> bool:
        needed = sum(w if c.id else min(w, 4) for c, w in zip(self.spec.columns, self.widths(), strict=True))
        return needed + 3 * len(self.spec.columns) + 1 <= width

    def __rich_console__(self, console: Any, options: Any) -> Iterator[Any]:
        from rich.markup import escape
        from rich.table import Table

        columns = self.spec.columns
        if self.fits(options.max_width):
            table = Table(title=self.title)
            for c, widest in zip(columns, self.widths(), strict=True):
                if c.id:
                    table.add_column(c.header, no_wrap=True, min_width=widest, justify=c.justify)
                else:
                    table.add_column(c.header, overflow="fold" if c.fold else "ellipsis", justify=c.justify)
            for row in self.rows:
                table.add_row(*(v if c.markup else escape(v) for c, v in zip(columns, row, strict=True)))
            yield table
            return
        if self.title:
            yield escape(self.title)
        for n, row in enumerate(self.rows):
            block = Table.grid(padding=(0, 2))
            block.add_column(no_wrap=True, style="bold")
            block.add_column(overflow="fold")
            for c, value in zip(columns, row, strict=True):
                block.add_row(escape(c.header), value if c.markup else escape(value))
            if n:
                yield ""
            yield block
