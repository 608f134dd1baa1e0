"""`threshold explore`, `threshold insight save|list|show|run|export|fork|schedule|comment|versions|diff`,
`threshold board create|list|show|add|remove|export`.

Parameter values are `--value name=value` (repeatable; a date range as `from..to`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from threshold.commands.options import As, Description, DomainFilter, Format, Home, Purpose, Title
from threshold.commands.support import acting, check_format, emit, lazy_module, out, platform_at, say, show
from threshold.errors import InvalidInput
from threshold.interface.rendering import View
from threshold.interface.tables import Col, TableSpec, when

if TYPE_CHECKING:  # what mypy checks the calls against; at run time imported on first use
    from threshold.insights import boards, exports, service
else:
    service = lazy_module("threshold.insights.service")
    boards = lazy_module("threshold.insights.boards")
    exports = lazy_module("threshold.insights.exports")

app = typer.Typer()  # registered onto `threshold` by threshold.cli (GROUPS)
insight_app = typer.Typer(no_args_is_help=True, help="Insights: saved, shareable, rerunnable questions.")
board_app = typer.Typer(no_args_is_help=True, help="Boards: insights in order with one shared parameter.")
app.add_typer(insight_app, name="insight")
app.add_typer(board_app, name="board")

Values = Annotated[list[str] | None, typer.Option("--value", help="Parameter value name=value (repeatable).")]
Json = Annotated[str | None, typer.Option(help="JSON text, or @file.json.")]
BoardValue = Annotated[str | None, typer.Option("--value", help="The shared parameter's value.")]


def _values(raw: list[str] | None) -> dict[str, Any] | None:
    out_: dict[str, Any] = {}
    for item in raw or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"--value is name=value, not {item[:60]!r}")
        out_[name.strip()] = value
    return out_ or None


def _json(raw: str | None, what: str) -> Any:
    if raw is None:
        return None
    text = Path(raw[1:]).read_text(encoding="utf-8") if raw.startswith("@") else raw
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidInput(f"{what} is not JSON: {e.msg} at line {e.lineno} column {e.colno}") from e


def _spec(
    dataset: str | None, columns: list[str] | None, group_by: list[str] | None, agg: list[str] | None,
    where: list[str] | None, sort: str | None, limit: int | None, spec: str | None,
) -> dict[str, Any] | None:  # fmt: skip
    """An explore spec from options (`--agg sum:energy_kwh`, `--where plant=Berlin`), or --spec JSON."""
    if spec:
        return dict(_json(spec, "--spec"))
    if not dataset:
        return None
    filters = []
    for w in where or []:
        for op, sign in (("gte", ">="), ("lte", "<="), ("contains", "~"), ("eq", "=")):
            if sign in w:
                column, _, value = w.partition(sign)
                filters.append({"column": column.strip(), "op": op, "values": [value.strip()]})
                break
        else:
            raise InvalidInput(f"--where is column=value, column>=value, column<=value or column~text, not {w!r}")
    aggregates = []
    for a in agg or []:
        fn, _, column = a.partition(":")
        aggregates.append({"fn": fn.strip(), "column": column.strip() or None})
    out_: dict[str, Any] = {"dataset": dataset, "columns": columns or [], "group_by": group_by or []}
    out_ |= {"aggregates": aggregates, "filters": filters, "limit": limit}
    if sort:
        out_["sort"] = [{"by": sort.lstrip("-"), "desc": sort.startswith("-")}]
    return out_


Dataset = Annotated[str | None, typer.Option("--dataset", help="Explore this dataset (no SQL needed).")]
Columns = Annotated[list[str] | None, typer.Option("--column", help="Column to show (repeatable).")]
GroupBy = Annotated[list[str] | None, typer.Option("--group-by", help="Column to group by (repeatable).")]
Agg = Annotated[
    list[str] | None, typer.Option("--agg", help="count, count_distinct:col, sum:col, avg:col, min, max, median.")
]
Where = Annotated[list[str] | None, typer.Option("--where", help="col=value, col>=v, col<=v, col~text.")]
Sort = Annotated[str | None, typer.Option("--sort", help="Column to sort by (-col: descending).")]
Limit = Annotated[int | None, typer.Option("--limit", help="Rows at most.")]
Spec = Annotated[str | None, typer.Option("--spec", help="A whole explore spec as JSON (or @file).")]


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _result_lines(result: dict[str, Any] | None, error: str | None = None) -> Iterator[Any]:
    """A computed result: its rows (a table of its own columns, nothing cut), key numbers and notes; or the error."""
    if error:
        yield f"[red]{error}[/red]"
        return
    if not result:
        return
    columns = TableSpec(*(Col(c["name"], itemgetter(i), fmt=_cell, fold=True) for i, c in enumerate(result["columns"])))
    yield columns.rich(result["rows"])
    for k in result.get("key_numbers", []):
        yield f"  {k['label']}: [bold]{k['value']}[/bold]"
    for note in result.get("notes", []):
        yield f"[yellow]note:[/yellow] {note}"


@app.command("explore")
def explore(
    dataset: Annotated[str, typer.Argument(help="domain.dataset")],
    columns: Columns = None,
    group_by: GroupBy = None,
    agg: Agg = None,
    where: Where = None,
    sort: Sort = None,
    limit: Limit = 1000,
    purpose: Purpose = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Ask a question of DATASET without SQL; prints the SQL it made (to learn from) and the result."""
    from threshold.insights.exploration import run
    from threshold.insights.explore import ExploreSpec

    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    spec = _spec(dataset, columns, group_by, agg, where, sort, limit, None)
    result = run(platform, acting(platform, as_user), spec=ExploreSpec.from_dict(spec or {}), purpose=purpose,
                 interface="cli")  # fmt: skip
    show(result, fmt, EXPLORED)


def _explored_lines(result: Any) -> Iterator[Any]:
    data = asdict(result)
    yield f"[dim]{result.sql}[/dim]"
    table = data["table"]
    yield from _result_lines(
        {"columns": table["columns"], "rows": table["rows"], "notes": data["notes"], "key_numbers": data["key_numbers"]}
    )


EXPLORED = View(lines=_explored_lines, json=asdict)
"""`threshold explore`: the SQL it made, then the result."""


@insight_app.command("save")
def insight_save(
    title: Title,
    sql: Annotated[str | None, typer.Option("--sql", help="The question as SQL (or explore options).")] = None,
    dataset: Dataset = None,
    columns: Columns = None,
    group_by: GroupBy = None,
    agg: Agg = None,
    where: Where = None,
    sort: Sort = None,
    limit: Limit = None,
    spec: Spec = None,
    narrative: Annotated[str, typer.Option("--narrative", help="Markdown (or @file.md).")] = "",
    parameters: Annotated[
        str | None, typer.Option("--parameters", help='JSON list: [{"name": "plant", "default": "Berlin"}].')
    ] = None,
    chart: Annotated[str | None, typer.Option("--chart", help="bar, line, scatter, heatmap or table.")] = None,
    purpose: Annotated[str, typer.Option("--purpose")] = "",
    audience: Annotated[str, typer.Option("--audience", help="everyone, domain or private.")] = "everyone",
    schedule: Annotated[str | None, typer.Option("--schedule", help="daily, weekly, a cron line.")] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Save a question (SQL or explore options) as an insight."""
    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    text = Path(narrative[1:]).read_text(encoding="utf-8") if narrative.startswith("@") else narrative
    d = service.save(
        platform,
        acting(platform, as_user),
        title=title,
        sql=sql,
        explore=_spec(dataset, columns, group_by, agg, where, sort, limit, spec),
        narrative=text,
        parameters=_json(parameters, "--parameters"),
        chart={"kind": chart} if chart else None,
        purpose=purpose,
        audience=audience,
        schedule=schedule,
        interface="cli",
    )
    say(asdict(d), fmt, f"Saved insight {d.id} “{d.title}”: {d.link}")


@insight_app.command("list")
def insight_list(
    search: Annotated[str | None, typer.Argument(help="Words to find.")] = None,
    dataset: Annotated[str | None, typer.Option("--dataset", help="Built on this dataset.")] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Insights you may view, newest first."""
    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    found = service.listing(platform, acting(platform, as_user), search=search, dataset=dataset, per_page=1000)
    emit(found.items, INSIGHTS, fmt, data=found)


INSIGHTS = TableSpec(
    Col("id", "id", id=True),
    Col("title", "title"),
    Col("owner", "owner"),
    Col("datasets", "datasets"),
    Col("viewers", "viewers", justify="right"),
    Col("schedule", "schedule"),
    Col("stale", lambda c: "; ".join(r.detail for r in c.stale)),
)


@insight_app.command("show")
def insight_show(
    ref: Annotated[str, typer.Argument(help="The insight's number.")],
    value: Values = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """The insight and its result as you may see it."""
    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    shown = service.page(platform, acting(platform, as_user), ref, values=_values(value), interface="cli")
    show(shown, fmt, INSIGHT_SHOWN)


def _insight_lines(shown: Any) -> Iterator[Any]:
    i = shown.insight
    yield f"[bold]{i.title}[/bold] (insight {i.id}, version {i.version}, by {i.owner})"
    for r in i.stale:
        yield f"[yellow]stale:[/yellow] {r.detail}"
    if i.narrative:
        yield i.narrative
    yield from _result_lines(asdict(shown.result) if shown.result else None, shown.error)


INSIGHT_SHOWN = View(lines=_insight_lines, json=asdict)
"""`threshold insight show`: the insight, what is stale, its narrative and its result."""


@insight_app.command("run")
def insight_run(ref: str, value: Values = None, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Rerun the insight on the newest data, as you."""
    from threshold.insights.runs import rerun

    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    o = rerun(platform, acting(platform, as_user), ref, _values(value), interface="cli")
    changed = "the numbers changed" if o.changed else "the numbers are the same"
    say(asdict(o), fmt, f"Insight {o.insight}: {o.status}, {o.rows:,} rows in {o.duration_ms:.0f} ms; {changed}")


@insight_app.command("export")
def insight_export(
    ref: str,
    to: Annotated[Path, typer.Option("--to", help="File to write: .pptx, .xlsx, .pdf, .png or .svg.")],
    value: Values = None,
    as_user: As = None,
    home: Home = None,
) -> None:
    """Export the insight, computed as you (masks stay)."""
    platform = platform_at(home)
    got = exports.export_insight(platform, acting(platform, as_user), ref, to.suffix, values=_values(value),
                                 interface="cli")  # fmt: skip
    _write(to, got)


def _write(to: Path, got: Any) -> None:
    to.write_bytes(got.content)
    out.print(f"Wrote {to} ({len(got.content):,} bytes)")
    for m in got.masks:
        out.print(f"[yellow]masked:[/yellow] {m}")


@insight_app.command("fork")
def insight_fork(
    ref: str,
    title: Annotated[str | None, typer.Option("--title")] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Your own copy of the insight (its schedule is not copied)."""
    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    d = service.fork(platform, acting(platform, as_user), ref, title=title)
    say(asdict(d), fmt, f"Insight {d.id} “{d.title}”. {d.message}")


@insight_app.command("schedule")
def insight_schedule(
    ref: str,
    schedule: Annotated[str, typer.Argument(help="daily, weekly, 'daily at 06:30', a cron line, or manual.")],
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Rerun the insight on a schedule (as its owner); subscribers hear when the numbers change."""
    check_format(fmt)
    platform = platform_at(home)
    d = service.set_schedule(platform, acting(platform, as_user), ref, None if schedule == "manual" else schedule)
    say(d, fmt, f"Insight {d.id}: {d.schedule or 'manual'}" + (f", next run {d.next_run_at}" if d.next_run_at else ""))


@insight_app.command("comment")
def insight_comment(ref: str, body: str, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Say something about the insight (its owner and subscribers are told)."""
    check_format(fmt)
    platform = platform_at(home)
    c = service.comment(platform, acting(platform, as_user), ref, body)
    say(c, fmt, f"Comment {c.id} on version {c.version}")


@insight_app.command("versions")
def insight_versions(ref: str, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """The insight's versions, newest first."""
    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    rows = service.versions(platform, acting(platform, as_user), ref)
    emit(rows, VERSIONS, fmt)


VERSIONS = TableSpec(
    Col("version", "version", id=True),
    Col("title", "title"),
    Col("author", "author"),
    Col("at", "at", fmt=when),
    Col("note", "note"),
)


@insight_app.command("diff")
def insight_diff(ref: str, a: int, b: int, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """What changed from version A to version B."""
    check_format(fmt)
    platform = platform_at(home)
    changes = service.diff(platform, acting(platform, as_user), ref, a, b)
    show(changes, fmt, DIFF)


def _diff_lines(changes: list[Any]) -> Iterator[Any]:
    from rich.text import Text

    for d in changes:
        yield f"[bold]{d.field}[/bold]"
        for line in d.lines[2:]:
            colour = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
            yield Text.from_markup(f"[{colour}]{line}[/{colour}]")


DIFF = View(lines=_diff_lines)
"""`threshold insight diff`: each changed field, its lines coloured."""


# --- boards ----------------------------------------------------------------------------------------------


@board_app.command("create")
def board_create(
    title: Title,
    insight: Annotated[list[int] | None, typer.Option("--insight", help="Insight number (repeatable).")] = None,
    parameter: Annotated[
        str | None, typer.Option("--parameter", help='Shared parameter JSON: {"name": "plant", "default": "Berlin"}.')
    ] = None,
    domain: DomainFilter = None,
    topic: Annotated[str, typer.Option("--topic")] = "",
    description: Description = "",
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """A board: insights in order with one shared parameter (the weekly review page)."""
    check_format(fmt)
    platform = platform_at(home)
    b = boards.create(platform, acting(platform, as_user), title=title, insights=insight or [], domain=domain,
                      topic=topic, description=description, parameter=_json(parameter, "--parameter"))  # fmt: skip
    say(b, fmt, f"Board {b.id} “{b.title}” with {b.insights} insights: {b.link}")


@board_app.command("list")
def board_list(as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Boards, with the number of their insights you may view."""
    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    rows = boards.listing(platform, acting(platform, as_user))
    emit(rows, BOARDS, fmt)


BOARDS = TableSpec(
    Col("id", "id", id=True),
    Col("title", "title"),
    Col("owner", "owner"),
    Col("domain", "domain"),
    Col("insights", "insights", justify="right"),
    Col("parameter", lambda b: (b.parameter or {}).get("name", "")),
)


@board_app.command("show")
def board_show(
    ref: str,
    value: BoardValue = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Every insight on the board, computed as you with the shared value."""
    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    shown = boards.show(platform, acting(platform, as_user), ref, value=value, interface="cli")
    show(shown, fmt, BOARD_SHOWN)


def _board_lines(shown: Any) -> Iterator[Any]:
    parameter = f" ({shown.board.parameter['name']} = {shown.value})" if shown.board.parameter else ""
    yield f"[bold]{shown.board.title}[/bold]" + parameter
    for item in shown.items:
        yield f"\n[bold]{item.insight.title}[/bold] (insight {item.insight.id})"
        yield from _result_lines(asdict(item.result) if item.result else None, item.error)


BOARD_SHOWN = View(lines=_board_lines, json=asdict)
"""`threshold board show`: the board, then each insight's result."""


@board_app.command("add")
def board_add(ref: str, insight: int, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Put INSIGHT at the end of the board."""
    check_format(fmt)
    platform = platform_at(home)
    b = boards.add(platform, acting(platform, as_user), ref, insight)
    say(b, fmt, f"Board {b.id} has {b.insights} insights")


@board_app.command("remove")
def board_remove(ref: str, insight: int, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Take INSIGHT off the board."""
    check_format(fmt)
    platform = platform_at(home)
    b = boards.remove(platform, acting(platform, as_user), ref, insight)
    say(b, fmt, f"Board {b.id} has {b.insights} insights")


@board_app.command("export")
def board_export(
    ref: str,
    to: Annotated[Path, typer.Option("--to", help="File to write: .pptx, .xlsx or .pdf.")],
    value: BoardValue = None,
    as_user: As = None,
    home: Home = None,
) -> None:
    """Export the board (a slide per insight), computed as you."""
    platform = platform_at(home)
    got = exports.export_board(platform, acting(platform, as_user), ref, to.suffix, value=value, interface="cli")
    _write(to, got)
