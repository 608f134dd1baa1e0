"""CLI of the lineage capability: derive, refresh, derivations, lineage, impact, source, openlineage."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from threshold.commands.options import As, Description, DomainFilter, Format, Home
from threshold.commands.sources import attach as _attach_connections
from threshold.commands.support import acting, check_format, emit, err, platform_at, say, show
from threshold.errors import InvalidInput
from threshold.interface.rendering import View
from threshold.interface.tables import Col, TableSpec, when

if TYPE_CHECKING:
    from threshold.lineage.results import ChainNode, DerivationSchedule, Impact, Lineage, LineageOverview

app = typer.Typer()  # registered onto `threshold` by threshold.cli (GROUPS)
source_app = typer.Typer(no_args_is_help=True, help="Source systems data is shared from, and their owners.")
openlineage_app = typer.Typer(no_args_is_help=True, help="OpenLineage events: load a file, see and retry emitted ones.")
app.add_typer(source_app, name="source")
app.add_typer(openlineage_app, name="openlineage")


@app.command()
def derive(
    name: Annotated[str, typer.Argument(help="Name of the derived dataset (in --domain).")],
    sql: Annotated[str, typer.Argument(help="The query; it runs through the gateway as you.")],
    domain: Annotated[str, typer.Option("--domain", help="Domain the derived dataset belongs to.")],
    schedule: Annotated[
        str | None,
        typer.Option("--schedule", help="hourly, daily, 'daily at 06:30', weekly, 'every 15 minutes', or cron."),
    ] = None,
    purpose: Annotated[str | None, typer.Option("--purpose", help="Purpose declared to the gateway.")] = None,
    description: Description = "",
    replace: Annotated[bool, typer.Option("--replace", help="Redefine an existing derived dataset.")] = False,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Store the result of SQL as a new dataset DOMAIN.NAME, with its lineage (refresh it later)."""
    from threshold.lineage.derive import derive as run

    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    result = run(
        platform,
        name,
        domain=domain,
        sql=sql,
        user=acting(platform, as_user),
        schedule_text=schedule,
        purpose=purpose,
        description=description,
        replace=replace,
    )
    _print_run(result, fmt, "derived")


@app.command()
def refresh(
    dataset: Annotated[str | None, typer.Argument(help="A derived dataset (domain.name).")] = None,
    due: Annotated[bool, typer.Option("--due", help="Refresh every derivation whose schedule is due.")] = False,
    schedule: Annotated[
        str | None, typer.Option("--schedule", help="Set the schedule instead of refreshing ('none' clears it).")
    ] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Run a derived dataset's SQL again (one new snapshot), or with --due everything that is due."""
    from threshold.errors import ThresholdError
    from threshold.lineage import derive as service

    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    if due:
        if dataset:
            raise InvalidInput("give a dataset or --due, not both")
        results = service.refresh_due(platform)
        failed = [r for r in results if isinstance(r, ThresholdError)]
        if fmt == "table":  # each failure for the person, on stderr
            for r in failed:
                err.print(f"failed: {r}")
        show(results, fmt, REFRESHED_DUE)
        if failed:
            raise typer.Exit(1)
        return
    if not dataset:
        raise InvalidInput("name a derived dataset to refresh, or use --due")
    person = acting(platform, as_user)
    if schedule is not None:
        info = service.set_schedule(platform, dataset, schedule, user=person)
        show(info, fmt, SCHEDULED)
        return
    _print_run(service.refresh(platform, dataset, user=person), fmt, "refreshed")


def _print_run(r: Any, fmt: str, verb: str) -> None:
    show(r, fmt, View(lines=lambda r: _run_lines(r, verb), json=asdict))


def _run_lines(r: Any, verb: str) -> Iterator[str]:
    yield (
        f"{verb} {r.dataset}: {r.rows:,} rows, {len(r.columns)} columns, snapshot {r.snapshot_id}, "
        f"from {', '.join(r.inputs) or 'no dataset'} ({r.seconds:.1f} s)"
    )
    for column, tag in r.tags:
        yield f"  {column}: inherits {tag}"
    for g in r.gaps:
        yield f"  lineage unresolved for {g['column'] or 'the query'}: {g['reason']}"
    if r.schedule:
        yield f"  schedule {r.schedule}, next run {r.next_run_at}"


def _refreshed_due_lines(results: list[Any]) -> Iterator[str]:
    from threshold.errors import ThresholdError

    done = [r for r in results if not isinstance(r, ThresholdError)]
    for r in done:
        yield from _run_lines(r, "refreshed")
    yield f"{len(done)} refreshed, {len(results) - len(done)} failed"


def _refreshed_due_json(results: list[Any]) -> list[dict[str, Any]]:
    from threshold.errors import ThresholdError

    return [asdict(r) if not isinstance(r, ThresholdError) else {"error": str(r)} for r in results]


REFRESHED_DUE = View(lines=_refreshed_due_lines, json=_refreshed_due_json)
"""`threshold refresh --due`: each refresh, then the counts (failures on stderr)."""


def _scheduled_lines(info: DerivationSchedule) -> Iterator[str]:
    when = f"next run {info.next_run_at}" if info.schedule else "on demand only"
    yield f"{info.dataset}: schedule {info.schedule or 'none'}, {when}"


SCHEDULED = View(lines=_scheduled_lines)


def _overview_lines(data: LineageOverview) -> Iterator[Any]:
    nodes = ", ".join(f"{n} {k}" for k, n in data.nodes.items()) or "no nodes"
    yield f"lineage graph: {nodes}; {data.edges} edges; {data.column_lineage} column lineage rows"
    yield f"gaps: {data.gaps.columns} columns in {data.gaps.datasets} datasets are unresolved"
    if data.gaps.list:
        yield GAPS.rich(data.gaps.list, title="unresolved lineage")


GAPS = TableSpec(
    Col("dataset", "dataset", id=True), Col("column", lambda g: g.column or "(query)"), Col("reason", "reason")
)


OVERVIEW = View(lines=_overview_lines)


@app.command()
def derivations(
    domain: DomainFilter = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Derived datasets with their owner, schedule and last run (those the person asking may know of)."""
    from threshold.lineage.derive import derivations as listing

    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    rows = listing(platform, domain=domain, viewer=acting(platform, as_user))
    emit(rows, DERIVATIONS, fmt)


DERIVATIONS = TableSpec(
    Col("dataset", "dataset", id=True),
    Col("owner", "owner"),
    Col("schedule", "schedule"),
    Col("status", "status"),
    Col("last run", "last_run_at", fmt=when),
    Col("next run", "next_run_at", fmt=when),
)


def _split(target: str) -> tuple[str, str | None]:
    """`domain.dataset` or `domain.dataset.column`."""
    parts = target.split(".")
    if len(parts) == 2:
        return target, None
    if len(parts) == 3:
        return f"{parts[0]}.{parts[1]}", parts[2]
    raise InvalidInput(f"{target!r}: write DOMAIN.DATASET or DOMAIN.DATASET.COLUMN")


@app.command()
def lineage(
    target: Annotated[
        str | None, typer.Argument(metavar="DATASET[.COLUMN]", help="Without it: the whole graph and its gaps.")
    ] = None,
    upstream: Annotated[bool, typer.Option("--upstream", help="Only where it comes from.")] = False,
    downstream: Annotated[bool, typer.Option("--downstream", help="Only what is built on it.")] = False,
    depth: Annotated[int, typer.Option("--depth", help="Levels each way.")] = 5,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """The supply chain of a dataset or column: upstream to the sources, downstream to what is built on it."""
    from threshold.lineage.supply_chain import lineage as view
    from threshold.lineage.supply_chain import overview

    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    person = acting(platform, as_user)
    if target is None:
        show(overview(platform, viewer=person), fmt, OVERVIEW)
        return
    if upstream and downstream:
        direction = "both"
    else:
        direction = "upstream" if upstream else "downstream" if downstream else "both"
    dataset, column = _split(target)
    data = view(platform, dataset, column=column, direction=direction, depth=depth, viewer=person)
    show(data, fmt, View(lines=lambda d: _lineage_lines(d, dataset, column, direction, depth)))


def _lineage_lines(data: Lineage, dataset: str, column: str | None, direction: str, depth: int) -> Iterator[Any]:
    title = f"{dataset}{'.' + column if column else ''}: {direction}, {depth} levels"
    yield NODES.rich(data.nodes, title=title)
    if column:
        names = {n.id: n.name for n in data.nodes}
        edges = [
            (
                f"{names.get(e.from_, '?')}.{e.from_column}",
                f"{names.get(e.to, '?')}.{e.to_column or '*'}",
                e.kind + (" (masking)" if e.masking else ""),
            )
            for e in data.column_edges
        ]
        yield COLUMN_EDGES.rich(edges, title="column lineage")
    for g in data.gaps:
        yield f"unresolved: {g.column or '(query)'}: {g.reason}"
    if data.truncated:
        yield ("(stopped at the node limit: narrow with --upstream/--downstream or --depth)")
    elif data.deeper:
        yield f"(there is more beyond {depth} levels: --depth)"


def _node_notes(n: ChainNode) -> str:
    notes = []
    if n.derivation:
        notes.append(f"derived, {n.derivation.schedule or 'on demand'}, {n.derivation.status}")
    if n.stage and n.stage != "shared":
        notes.append(n.stage)
    if n.gaps:
        notes.append(f"{n.gaps} unresolved")
    return "; ".join(notes)


NODES = TableSpec(
    Col("level", lambda n: f"{n.level:+d}" if n.level else "0"),
    Col("node", "name", id=True),
    Col("kind", "kind"),
    Col("domain", "domain"),
    Col("owners", "owners"),
    Col("notes", _node_notes),
)
"""`threshold lineage DATASET[.COLUMN]`: each node of the supply chain, by level."""

COLUMN_EDGES = TableSpec(
    Col("from", lambda e: e[0], id=True), Col("to", lambda e: e[1], id=True), Col("how", lambda e: e[2])
)


@app.command()
def impact(
    target: Annotated[str, typer.Argument(metavar="DATASET.COLUMN")],
    change: Annotated[str, typer.Option("--change", help="drop, rename or retype.")] = "drop",
    notify: Annotated[bool, typer.Option("--notify", help="Tell everyone affected (inbox).")] = False,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """If DATASET.COLUMN is dropped, renamed or retyped: what breaks and who must be told."""
    from threshold.lineage.impact import impact as run

    check_format(fmt, ("table", "json"))
    dataset, column = _split(target)
    if column is None:
        raise InvalidInput(f"{target!r}: write DOMAIN.DATASET.COLUMN")
    platform = platform_at(home)
    data = run(platform, dataset, column, change=change, viewer=acting(platform, as_user), notify=notify)
    show(data, fmt, View(lines=lambda d: _impact_lines(d, change, notify)))


def _impact_lines(data: Impact, change: str, notify: bool) -> Iterator[Any]:
    yield f"{change} {data.dataset}.{data.column} ({data.type}): {data.breaks} break, {data.affected} affected"
    yield DEPENDENTS.rich(data.dependents)
    who = [(p["user"], "; ".join(p["reasons"])) for p in data.notify]
    if not data.names_visible and data.notify_count:
        who.append((f"{data.notify_count} people", "named to the data's producers"))
    yield TOLD.rich(who, title="who must be told")
    if notify:
        yield f"told {data.notified} people"


def _readers(d: dict[str, Any]) -> str:
    return ", ".join(c["user"] for c in d["consumers"]) or (
        f"{d['consumer_count']} people" if d["consumer_count"] else ""
    )


DEPENDENTS = TableSpec(
    Col("level", "level"),
    Col("dependent", "name", id=True),
    Col("column", "column"),
    Col("effect", "effect"),
    Col("why", "why"),
    Col("owners", "owners"),
    Col("recent readers", _readers),
)
"""`threshold impact`: what the change does to each dependent."""

TOLD = TableSpec(Col("person", lambda r: r[0], id=True), Col("why", lambda r: r[1]))


@source_app.command("add")
def source_add(
    name: str,
    owner: Annotated[str | None, typer.Option("--owner", help="The person accountable for the system.")] = None,
    kind: Annotated[str, typer.Option("--kind", help="database, application, files, api...")] = "application",
    description: Description = "",
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="Its database: postgresql://user@host/db, mysql://..., mssql://..., sqlite:///file.db, a .mdb/.accdb "
            "file. A password in it is stored encrypted and never shown.",
        ),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the database password from standard input.")
    ] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Change the connection of an existing source.")] = False,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Register a source system and its owner (shares may then name it); with --url, its database connection."""
    check_format(fmt)
    from threshold.commands.sources import password_from_stdin
    from threshold.lineage.sources import add_source

    platform = platform_at(home)
    person = acting(platform, as_user)
    if url is None:
        if not owner:
            raise InvalidInput("--owner is needed: the person accountable for the source system")
        s = add_source(platform, name, owner=owner, kind=kind, description=description, user=person)
        say(s, fmt, f"added source system {s.name} ({s.kind}), owned by {s.owner}")
        return
    from threshold.connectors.service import add

    c = add(
        platform,
        name,
        url,
        owner=owner or person.name,
        user=person,
        password=password_from_stdin(password_stdin),
        description=description,
        replace=replace,
    )
    say(c, fmt, f"source {c.name} connects to {c.url} ({c.dialect}), owned by {c.owner}")


@source_app.command("list")
def source_list(as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Source systems with their owners, their database (when connected) and how many datasets they feed."""
    from threshold.connectors.service import listing
    from threshold.lineage.sources import list_sources

    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    connected = {c.name: c.dialect for c in listing(platform, user=acting(platform, as_user))}
    rows = [r.to_json() | {"connection": connected.get(r.name)} for r in list_sources(platform)]
    emit(rows, SOURCES, fmt)


SOURCES = TableSpec(
    Col("name", "name", id=True),
    Col("kind", "kind"),
    Col("owner", "owner"),
    Col("database", "connection"),
    Col("datasets", "datasets", justify="right"),
    Col("description", "description"),
)

_attach_connections(source_app)


@openlineage_app.command("load")
def openlineage_load(
    file: Annotated[Path, typer.Argument(help="A JSON event, a JSON list, or NDJSON (one event a line).")],
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Merge OpenLineage events from a file (e.g. dbt's or Spark's file transport) into the graph."""
    from threshold.lineage.openlineage_in import ingest

    check_format(fmt, ("table", "json"))
    text = (sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")).strip()
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        try:
            body = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as e:
            raise InvalidInput(f"{file.name}: not JSON nor NDJSON ({e.msg}, line {e.lineno})") from e
    platform = platform_at(home)
    person = acting(platform, as_user)
    events = body if isinstance(body, list) else [body]
    results = []
    for i in range(0, len(events), 100):
        results.extend(ingest(platform, events[i : i + 100], user=person).events)
    say(results, fmt, f"merged {len(results)} events")


@openlineage_app.command("status")
def openlineage_status(home: Home = None, fmt: Format = "table") -> None:
    """Events Threshold emitted (THRESHOLD_OPENLINEAGE_URL) and whether they were delivered."""
    from threshold.lineage.openlineage_out import outbox

    check_format(fmt, ("table", "json"))
    show(outbox(platform_at(home)), fmt, OUTBOX)


EMITTED = TableSpec(
    Col("id", "id", id=True),
    Col("event", "event"),
    Col("job", "job"),
    Col("status", "status"),
    Col("attempts", "attempts", justify="right"),
    Col("error", "error"),
    Col("at", "at", fmt=when),
)
OUTBOX = View(
    table=EMITTED,
    rows=lambda d: d.events,
    lines=lambda d: [f"sending to {d.url or '(THRESHOLD_OPENLINEAGE_URL is not set)'}"],
)


@openlineage_app.command("retry")
def openlineage_retry(home: Home = None, fmt: Format = "table") -> None:
    """Send again every emitted event that is pending or failed."""
    check_format(fmt)
    from threshold.lineage.openlineage_out import deliver

    counts = deliver(platform_at(home), retry_failed=True)
    say(counts, fmt, f"sent {counts['sent']}, failed {counts['failed']}")
