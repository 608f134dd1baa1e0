"""One renderer for results: how a result reads is declared once, a `View` (next to the command that prints
it), and `render(result, fmt, view)` gives what each interface prints or sends:

- `json`: the result's JSON form (`to_json()` of a typed result, a dataclass's fields, a dict as it is), the
  same data the REST API answers with and a page's `.json` twin sends (`jsonable`);
- `table`: what a terminal shows, in order: the view's lines (a heading, a sentence), then the declared table
  of its rows (`tables.TableSpec`), or the `empty` sentence when there are none;
- `csv`: the declared table's columns, one line a row, neutralised against formula injection.

A typed result (a dataclass of a service) gives its JSON form with `to_json()`; the API route, the page's
`.json` twin and the CLI all send that. Nothing here prints, and Rich is imported only when a table is
drawn, so the CLI, the API and the pages can all use it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from threshold.errors import InvalidInput
from threshold.interface.tables import TableSpec


@dataclass(frozen=True)
class Plain:
    """A line shown as it is (no Rich markup read in it: names may hold brackets); `highlight=False` also
    keeps the terminal from colouring numbers and strings in it (a document shown verbatim)."""

    text: str
    highlight: bool = True


@dataclass(frozen=True)
class View:
    """How one kind of result reads.

    `table` draws `rows(result)` (default: the result itself is the list of rows); `lines(result)` are shown
    before the table (str: Rich markup allowed, `Plain`: as it is, or any Rich renderable); `empty` replaces
    the table when there are no rows; `title` heads the table; `json(result)` overrides the JSON form."""

    table: TableSpec | None = None
    rows: Callable[[Any], Iterable[Any]] | None = None
    lines: Callable[[Any], Iterable[Any]] | None = None
    empty: str | None = None
    title: str | Callable[[Any], str | None] | None = None
    json: Callable[[Any], Any] | None = None

    def rows_of(self, result: Any) -> list[Any]:
        return list(self.rows(result) if self.rows else result)


def jsonable(data: Any) -> Any:
    """A result's JSON form: `to_json()` of a typed result, a dataclass's fields, lists item by item."""
    if hasattr(data, "to_json"):
        return data.to_json()
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        return dataclasses.asdict(data)
    if isinstance(data, list | tuple):
        return [jsonable(x) for x in data]
    return data


def json_text(data: Any) -> str:
    """The CLI's JSON: indented, keys in the result's order, non-ASCII as it is."""
    return json.dumps(jsonable(data), indent=2, default=str, ensure_ascii=False) + "\n"


def render(
    result: Any, fmt: str, view: View | None = None, *, formats: tuple[str, ...] = ("table", "json")
) -> list[Any]:
    """What to show of RESULT in FMT: a list of printables (str, `Plain`, Rich renderables); for `json` and
    `csv` a single str, printed as it is. An unknown format is refused with the ones this command takes."""
    if fmt not in formats:
        raise InvalidInput(f"unknown format {fmt!r}; use one of {', '.join(formats)}")
    view = view or View()
    if fmt == "json":
        return [json_text(view.json(result) if view.json else result)]
    if fmt == "csv":
        if view.table is None:
            raise InvalidInput("this result has no CSV form")
        return [csv_text(view.table, view.rows_of(result))]
    shown: list[Any] = list(view.lines(result)) if view.lines else []
    if view.table is not None:
        rows = view.rows_of(result)
        if rows or view.empty is None:
            title = view.title(result) if callable(view.title) else view.title
            shown.append(view.table.rich(rows, title=title))
        else:
            shown.append(view.empty)
    return shown


def csv_text(table: TableSpec, rows: Iterable[Any]) -> str:
    """The declared columns as CSV, each cell as the table shows it, neutralised against formula injection
    like every spreadsheet-bound export (`threshold.formulas`)."""
    import csv
    import io

    from threshold.formulas import neutralise

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([neutralise(c.header) for c in table.columns])
    writer.writerows([neutralise(c.cell(r)) for c in table.columns] for r in rows)
    return buf.getvalue()
