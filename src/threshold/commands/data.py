"""`threshold share|datasets|show|query|usage`: sharing data, finding it, reading it, and what was used."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from threshold.commands.options import (
    As,
    Controller,
    Description,
    Format,
    Home,
    LegalBasis,
    PerPage,
    Retention,
    RetentionColumn,
    SourceSystem,
    Special,
    Subjects,
    TableCsvJson,
)
from threshold.commands.support import (
    Table,
    acting,
    check_format,
    collection_options,
    emit,
    err,
    escape,
    out,
    platform_at,
)
from threshold.commands.support import show as present
from threshold.interface.rendering import Plain, View
from threshold.interface.tables import Col, TableSpec, count

if TYPE_CHECKING:
    from threshold.catalog.results import DatasetRecord
    from threshold.usage.results import DatasetUsage, OrgUsage, PersonUsage

app = typer.Typer()  # registered onto `threshold` by threshold.cli (GROUPS)


@app.command()
def share(
    file: Path,
    domain: Annotated[str, typer.Option("--domain", help="Domain the data belongs to.")],
    name: Annotated[str | None, typer.Option("--name", help="Dataset name (default: from the file name).")] = None,
    as_user: As = None,
    mode: Annotated[str, typer.Option("--mode", help="create, append or replace.")] = "create",
    sheet: Annotated[
        str | None,
        typer.Option(
            "--sheet", help="Spreadsheet sheet by name, or '*' for every sheet (default: the first with data)."
        ),
    ] = None,
    header_row: Annotated[
        str | None,
        typer.Option("--header-row", help="Header row as the sheet/file numbers it; N-M for several; 0 for none."),
    ] = None,
    skip_rows: Annotated[int, typer.Option("--skip-rows", min=0, help="Leave out this many rows at the top.")] = 0,
    cell_range: Annotated[
        str | None, typer.Option("--range", help="Spreadsheets: only these cells, e.g. A5:H200.")
    ] = None,
    keep_totals: Annotated[
        bool, typer.Option("--keep-totals", help="Keep totals rows and notes below the table as data.")
    ] = False,
    rename: Annotated[
        list[str] | None, typer.Option("--rename", help="OLD=NEW: store a column under another name (repeatable).")
    ] = None,
    column_type: Annotated[
        list[str] | None,
        typer.Option("--type", help="NAME=TYPE: text, whole number, number, date, date & time, time, yes/no."),
    ] = None,
    visibility: Annotated[
        str | None, typer.Option("--visibility", help="open, on-request or restricted (a new dataset; owners only).")
    ] = None,
    preview: Annotated[bool, typer.Option("--preview", help="Show what would be stored, and share nothing.")] = False,
    description: Description = "",
    purpose: Annotated[str, typer.Option("--purpose", help="Why the data was collected.")] = "",
    evolve: Annotated[bool, typer.Option("--evolve", help="Append may add new columns / widen types.")] = False,
    encoding: Annotated[str | None, typer.Option("--encoding", help="Force a text encoding.")] = None,
    delimiter: Annotated[str | None, typer.Option("--delimiter", help="Force a CSV delimiter.")] = None,
    legal_basis: LegalBasis = None,
    special_condition: Special = None,
    retention_text: Retention = None,
    retention_column: RetentionColumn = None,
    subjects: Subjects = None,
    controller: Controller = None,
    source_system: SourceSystem = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Share a file (CSV/TSV, Excel, Parquet, JSON/NDJSON) into the lake as DOMAIN.NAME.

    Personal data: --legal-basis, --subjects, --retention, --retention-column, --source-system and --controller
    record the collection register (required before publishing where the organisation says so)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from threshold.sharing.choices import parse_pairs
    from threshold.sharing.service import share as run_share

    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    person = acting(platform, as_user)
    columns = parse_pairs(rename or [], column_type or [])
    options: dict[str, Any] = {
        "name": name,
        "mode": mode,
        "sheet": sheet,
        "header_row": header_row,
        "skip_rows": skip_rows,
        "cell_range": cell_range,
        "keep_totals": keep_totals,
        "columns": columns,
        "description": description,
        "purpose": purpose,
        "visibility": visibility,
        "evolve": evolve,
        "encoding": encoding,
        "delimiter": delimiter,
        "collection": collection_options(
            legal_basis, special_condition, retention_text, retention_column, subjects, controller, source_system
        ),
    }
    if preview:
        _share_preview(platform, person, file, domain, options, fmt)
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task(f"sharing {file.name}", total=1.0)

        def progress(phase: str, fraction: float | None) -> None:
            bar.update(task, description=f"{phase} {file.name}", completed=fraction if fraction is not None else None)

        results = run_share(platform, file, domain=domain, user=person, progress=progress, **options)
    present(results, fmt, View(lines=_shared_lines, json=lambda rs: [r.__dict__ for r in rs]))


def _shared_lines(results: list[Any]) -> Iterator[Any]:
    for r in results:
        tags = ", ".join(f"{c}: {t}" for c, t in r.tags)
        yield (
            f"shared {r.dataset} ({r.mode}): {r.rows_added:,} rows added, {r.rows_total:,} in total, "
            f"{len(r.columns)} columns, snapshot {r.snapshot_id}, {r.seconds:.1f} s"
        )
        if tags:
            yield f"  tagged {tags}"
        for note in r.notes:
            yield Plain(f"  {note}")


def _share_preview(platform: Any, person: Any, file: Path, domain: str, options: dict[str, Any], fmt: str) -> None:
    """`threshold share --preview`: what would be stored, and nothing shared."""
    from dataclasses import asdict

    from threshold.sharing.preview import ShareChoices, preview

    choices = ShareChoices(domain=domain).updated(**options)
    result = preview(platform, file, user=person, choices=choices)
    present(result, fmt, View(lines=lambda r: _preview_lines(r, file), json=lambda r: asdict(r) | {"ready": r.ready}))


def _preview_lines(result: Any, file: Path) -> Iterator[Any]:
    yield f"[bold]preview of {file.name}[/bold]: nothing was shared"
    if result.sheets:
        yield Plain("sheets: " + ", ".join(f"'{s}'" for s in result.sheets))
    for problem in result.problems:
        yield f"[red]problem:[/red] {escape(problem)}"
    for t in result.tables:
        count = f", {t.row_count:,} rows" if t.row_count is not None else ""
        yield f"\n[bold]{t.dataset}[/bold]{count}" + (f" from sheet '{escape(t.sheet)}'" if t.sheet else "")
        for note in t.notes:
            yield Plain(f"  {note}")
        for problem in t.problems:
            yield f"  [red]problem:[/red] {escape(problem)}"
        yield PREVIEW_COLUMNS.rich(t.columns, title="columns as they will be stored")
        first = TableSpec(*(Col(c.name, itemgetter(i), fmt=_cell, fold=True) for i, c in enumerate(t.columns)))
        yield first.rich(t.rows, title=f"first {len(t.rows)} rows")
    yield Plain(
        "to share it, run the same command without --preview; correct it with --sheet, --header-row, --skip-rows, "
        "--range, --keep-totals, --rename OLD=NEW, --type NAME=TYPE, --visibility"
    )


PREVIEW_COLUMNS = TableSpec(
    Col("column", "name", id=True),
    Col("label in the file", "label"),
    Col("type", lambda c: c.type + (f" (found {c.detected_type})" if c.type != c.detected_type else "")),
    Col("tags", lambda c: ", ".join(x.tag for x in c.tags)),
)
"""`threshold share --preview`: each column as it will be stored."""


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


@app.command()
def datasets(
    search: Annotated[str | None, typer.Option("--search", help="Search text.")] = None,
    page: Annotated[int, typer.Option("--page")] = 1,
    per_page: PerPage = 1000,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """List or search datasets (best matches first)."""
    from threshold.catalog.search import search as find

    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    result = find(platform, search, page=page, per_page=per_page, viewer=acting(platform, as_user))
    emit(result.results, DATASETS, fmt, title=f"{result.total} datasets")


DATASETS = TableSpec(
    Col("dataset", "name", id=True),
    Col("rows", "rows", fmt=count, justify="right"),
    Col("columns", "columns", justify="right"),
    Col("tags", "tags"),
    Col("match", "match"),
)


@app.command()
def show(dataset: str, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Show a dataset: schema with tags and profile, source, history of snapshots."""
    from threshold.catalog.service import describe

    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    present(describe(platform, dataset, viewer=acting(platform, as_user)), fmt, View(lines=_dataset_lines))


def _dataset_lines(d: DatasetRecord) -> Iterator[Any]:
    yield f"[bold]{d.name}[/bold]  {d.rows:,} rows · stage {d.stage} · snapshot {d.snapshot_id}"
    if d.description:
        yield d.description
    if d.source:
        s = d.source
        yield f"source: {s.name} ({s.format}, {s.size or 0:,} bytes, sha256 {str(s.sha256)[:16]}…)"
    yield SCHEMA.rich(d.schema)
    yield HISTORY.rich(d.history, title="history")


SCHEMA = TableSpec(
    Col("column", "name", id=True),
    Col("label", "label"),
    Col("type", "type"),
    Col("tags", lambda c: [x.tag for x in c.tags]),
    Col("nulls", "null_fraction", fmt=lambda v: "" if v is None else f"{v:.1%}", justify="right"),
    Col("distinct≈", "distinct_estimate", fmt=count, justify="right"),
    Col("min", "min", fmt=lambda v: str(v or "")[:24]),
    Col("max", "max", fmt=lambda v: str(v or "")[:24]),
)
HISTORY = TableSpec(
    Col("snapshot", "snapshot_id", id=True),
    Col("at", "at"),
    Col("by", "by"),
    Col("mode", "mode"),
    Col("rows added", "rows_added", fmt=count, justify="right"),
    Col("rows total", "rows_total", fmt=count, justify="right"),
    Col("source", "source"),
)


@app.command()
def query(
    sql: str,
    as_user: As = None,
    purpose: Annotated[str | None, typer.Option("--purpose", help="Why you query (recorded).")] = None,
    fmt: TableCsvJson = "table",
    max_rows: Annotated[
        int | None, typer.Option("--max-rows", min=1, help="Fewer rows than your allowance (limits.query_rows).")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", min=0.001, help="Stop sooner than the time limit (seconds).")
    ] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="Query a Threshold server (after `threshold login`) instead of a home.")
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option("--engine", help="daft: run it on Daft (big queries); duckdb; auto: by the configuration."),
    ] = None,
    home: Home = None,
) -> None:
    """Run a read-only SQL query through the gateway (within your allowance of time, rows and bytes)."""
    check_format(fmt, ("table", "csv", "json"))
    if url:
        from threshold.client import RemoteClient, notes

        remote = RemoteClient(url, None)
        try:
            table = remote.sql(sql, purpose, max_rows=max_rows, timeout=timeout, engine=engine)
        finally:
            remote.close()
        said, duration = notes(table), None
    else:
        from threshold.gateway.service import query as run

        platform = platform_at(home)
        result = run(
            platform,
            sql,
            user=acting(platform, as_user),
            purpose=purpose,
            interface="cli",
            max_rows=max_rows,
            timeout=timeout,
            engine=engine,
        )
        table, said, duration = result.table, result.notes, result.duration_ms
    if fmt == "json":
        from threshold.web.render import rows_as_json

        sys.stdout.write(rows_as_json(table) + "\n")
    elif fmt == "csv":  # neutralised like every spreadsheet-bound export (web/exports.py)
        from threshold.interface.exports import ExportSummary, csv_chunks

        for chunk in csv_chunks(table.schema, table.to_batches(), ExportSummary()):
            sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
    else:
        t = Table(*table.column_names)
        for row in table.slice(0, 200).to_pylist():
            t.add_row(*("" if v is None else str(v) for v in row.values()))
        out.print(t)
        more = " (showing 200)" if table.num_rows > 200 else ""
        took = f" in {duration:.0f} ms" if duration is not None else ""
        out.print(f"{table.num_rows:,} rows{more}{took}")
    for note in said:
        sys.stderr.write(note + "\n")


@app.command()
def usage(
    dataset: Annotated[str | None, typer.Argument(help="A dataset; without it, the whole organisation.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="What one person used.")] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Usage recorded by the gateway: per dataset, per person or org-wide (as the person asking may see it)."""
    from threshold.usage import service

    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    viewer = acting(platform, as_user)
    data: DatasetUsage | OrgUsage | PersonUsage
    if user:
        data = service.person_usage(platform, user, viewer=viewer)
    elif dataset:
        data = service.dataset_usage(platform, dataset, viewer=viewer)
    else:
        data = service.org_usage(platform, viewer=viewer)
    present(data, fmt, View(lines=lambda d: _usage_lines(d, dataset, user)))


def _usage_lines(data: DatasetUsage | OrgUsage | PersonUsage, dataset: str | None, user: str | None) -> Iterator[Any]:
    from threshold.usage.results import DatasetUsage, PersonUsage

    if isinstance(data, PersonUsage):
        yield PERSON_USE.rich(data.datasets, title=f"{user}'s use")
    elif isinstance(data, DatasetUsage):
        yield f"[bold]{dataset}[/bold]: {data.queries} queries by {data.users} people, last {data.last_used}"
        yield BY_DOMAIN.rich(data.domains)
        yield BY_PURPOSE.rich(data.purposes)
        if data.names_visible or data.top_users:
            yield BY_PERSON.rich(data.top_users)
        yield BY_WEEK.rich(data.weekly)
    else:
        yield f"{data.queries} queries by {data.users} people"
        yield MOST_USED.rich(data.most_used, title="most used")
        yield f"never used: {len(data.never_used)} datasets"
        for d in data.never_used[:20]:
            yield f"  {d['dataset']}"


PERSON_USE = TableSpec(
    Col("dataset", "dataset", id=True), Col("queries", "queries", justify="right"), Col("last used", "last_used")
)
BY_DOMAIN = TableSpec(
    Col("domain", "domain", id=True),
    Col("people", "users", justify="right"),
    Col("queries", "queries", justify="right"),
)
BY_PURPOSE = TableSpec(Col("purpose", "purpose"), Col("queries", "queries", justify="right"))
BY_PERSON = TableSpec(Col("person", "user", id=True), Col("queries", "queries", justify="right"))
BY_WEEK = TableSpec(
    Col("week", "week", id=True), Col("queries", "queries", justify="right"), Col("people", "users", justify="right")
)
MOST_USED = TableSpec(
    Col("dataset", "dataset", id=True),
    Col("queries", "queries", justify="right"),
    Col("people", "users", justify="right"),
    Col("last used", "last_used"),
)
