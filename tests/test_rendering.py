"""The one renderer (`threshold.interface.rendering`): a View declared once gives the JSON every interface
sends, the terminal's table and lines, and CSV; typed results give their JSON through `to_json()`."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from rich.console import Console

from threshold.errors import InvalidInput
from threshold.interface.rendering import Plain, View, csv_text, json_text, jsonable, render
from threshold.interface.tables import Col, TableSpec
from threshold.jobs.results import JobRow, JobsOverview, KindRow

TABLE = TableSpec(Col("name", "name", id=True), Col("rows", "rows", justify="right"))
VIEW = View(table=TABLE, empty="no datasets", lines=lambda rows: [Plain(f"{len(rows)} [datasets]")])


def shown(pieces: list[Any], width: int = 80) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    for p in pieces:
        if isinstance(p, Plain):
            console.print(p.text, markup=False, highlight=p.highlight)
        else:
            console.print(p)
    return console.file.getvalue()  # type: ignore[attr-defined]


def job(key: str) -> JobRow:
    return JobRow("derivation.refresh", key, f"refresh {key}", "daily", None, None, 0, None, None, None)


def test_json_is_the_result_itself_or_its_to_json() -> None:
    rows = [{"name": "sales.orders", "rows": 3}]
    assert json.loads(render(rows, "json", VIEW)[0]) == rows
    overview = JobsOverview(True, 30.0, [KindRow("k", "a kind", 2, 60.0)], [job("a")], [])
    text = render(overview, "json")[0]
    assert json.loads(text) == overview.to_json()
    assert list(json.loads(text)) == ["scheduler", "interval_seconds", "kinds", "jobs", "history"]
    assert list(json.loads(text)["jobs"][0])[:3] == ["kind", "key", "label"]
    assert jsonable([job("a"), job("b")]) == [job("a").to_json(), job("b").to_json()]
    assert json_text({"name": "Müller"}) == '{\n  "name": "Müller"\n}\n'


def test_a_view_can_name_another_json_form() -> None:
    view = View(json=lambda r: {"ok": r["n"] > 0})
    assert json.loads(render({"n": 2}, "json", view)[0]) == {"ok": True}


def test_the_table_draws_the_lines_then_the_rows_or_the_empty_sentence() -> None:
    full = shown(render([{"name": "sales.orders", "rows": "1,024"}], "table", VIEW))
    assert full.splitlines()[0] == "1 [datasets]", "a Plain line is shown as it is, brackets and all"
    assert "sales.orders" in full and "1,024" in full and "name" in full
    empty = shown(render([], "table", VIEW))
    assert empty.splitlines() == ["0 [datasets]", "no datasets"]
    headers_only = shown(render([], "table", View(table=TABLE)))
    assert "name" in headers_only and "rows" in headers_only, "no empty sentence: the table with its headers"


def test_rows_come_from_the_result_when_the_view_says_where() -> None:
    view = View(table=TABLE, rows=lambda d: d["datasets"], title=lambda d: f"{d['domain']}'s datasets")
    out = shown(render({"domain": "sales", "datasets": [{"name": "sales.orders", "rows": 3}]}, "table", view))
    assert "sales's datasets" in out and "sales.orders" in out


def test_csv_has_the_declared_columns_and_is_neutralised() -> None:
    text = csv_text(TABLE, [{"name": "=HYPERLINK(1)", "rows": 3}, {"name": "sales.orders", "rows": None}])
    assert list(csv.reader(io.StringIO(text))) == [["name", "rows"], ["'=HYPERLINK(1)", "3"], ["sales.orders", ""]]
    assert render([], "csv", VIEW, formats=("table", "json", "csv")) == ["name,rows\r\n"]


@pytest.mark.parametrize("fmt", ["yaml", "csv", ""])
def test_an_unknown_format_is_refused_with_the_ones_the_command_takes(fmt: str) -> None:
    with pytest.raises(InvalidInput, match=rf"unknown format '{fmt}'; use one of table, json$"):
        render([], fmt, VIEW)


def test_csv_of_a_view_without_a_table_is_refused() -> None:
    with pytest.raises(InvalidInput, match="no CSV form"):
        render({"a": 1}, "csv", View(), formats=("csv",))
