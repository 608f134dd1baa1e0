"""`threshold check add|run|remove|history`, `checks`, `report`, `incidents`, `incident`, `quarantine`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from threshold.commands.options import As, DomainFilter, Format, Home, Limit
from threshold.commands.support import acting, check_format, err, escape, platform_at, say, show
from threshold.errors import InvalidInput
from threshold.interface.rendering import Plain, View
from threshold.interface.tables import Col, TableSpec, count, when

if TYPE_CHECKING:
    from pathlib import Path

    from threshold.quality.check_results import CheckHistory, CheckRecord, CheckResult, ChecksNotRun, DatasetChecks
    from threshold.quality.incident_results import IncidentRecord, IncidentRow
    from threshold.quality.quarantine import QuarantinedFile
    from threshold.quality.results import DatasetQuality, DomainQuality

app = typer.Typer()  # registered onto `threshold` by threshold.cli (GROUPS)
check_app = typer.Typer(no_args_is_help=True, help="Data quality checks on a dataset.")
quarantine_app = typer.Typer(no_args_is_help=True, help="Files blocking checks rejected, kept for the owners.")
app.add_typer(check_app, name="check")
app.add_typer(quarantine_app, name="quarantine")

_STATUS = {"pass": "[green]pass[/green]", "fail": "[red]fail[/red]", "error": "[yellow]error[/yellow]"}


def _status(status: str | None) -> str:
    return _STATUS.get(status or "", escape(status or "not run"))


def _routed(r: IncidentRow) -> str:
    routed = r.routed_to.dataset or ""
    return routed + ("." + r.routed_to.column if r.routed_to.column else "")


CHECK_RUNS = TableSpec(
    Col("dataset", "dataset", id=True),
    Col("check", "check", id=True),
    Col("name", "name"),
    Col("status", "status", fmt=_status, markup=True),
    Col("failing", "failing", fmt=count, justify="right"),
    Col("message", "message"),
)
CHECK_HISTORY = TableSpec(
    Col("at", "at", id=True, fmt=when),
    Col("trigger", "trigger"),
    Col("status", lambda r: _status(r.status) + (" (rejected share)" if r.rejected else ""), markup=True),
    Col("failing", "failing", fmt=count, justify="right"),
    Col("message", "message"),
)


def _history_lines(d: CheckHistory) -> list[Plain]:
    return [Plain(f"check {d.id} on {d.dataset}: {d.name}")]


HISTORY = View(table=CHECK_HISTORY, rows=lambda d: d.runs, lines=_history_lines)


def _last(c: CheckRecord, field: str) -> Any:
    """A field of the check's newest run (None before its first)."""
    return getattr(c.last, field) if c.last is not None else None


CHECKS = TableSpec(
    Col("id", "id", id=True),
    Col("check", "name"),
    Col("kind", "kind"),
    Col("blocking", "blocking"),
    Col("schedule", lambda c: c.schedule or "on share"),
    Col("last", "last_status", fmt=_status, markup=True),
    Col("failing", lambda c: _last(c, "failing"), fmt=count, justify="right"),
    Col("message", lambda c: _last(c, "message") or ""),
)
RECENT_RUNS = TableSpec(
    Col("at", "at", id=True, fmt=when),
    Col("check", "name"),
    Col("trigger", "trigger"),
    Col("status", "status", fmt=_status, markup=True),
    Col("message", "message"),
)
INCIDENTS = TableSpec(
    Col("id", "id", id=True),
    Col("status", "status"),
    Col("domain", "domain"),
    Col("routed to", _routed, fold=True),
    Col("seen in", "dataset", fold=True),
    Col("title", "title"),
    Col("opened", "opened_at", fmt=when),
)
QUARANTINE = TableSpec(
    Col("id", "id", id=True),
    Col("dataset", "dataset", fold=True),
    Col("file", "file"),
    Col("mode", "mode"),
    Col("by", "by"),
    Col("at", "at", fmt=when),
    Col("status", "status"),
    Col("reason", "reason"),
)


@check_app.command("add")
def check_add(
    dataset: str,
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="not_null, unique, accepted_values, range, regex, row_count, freshness, schema or sql.",
        ),
    ],
    column: Annotated[list[str] | None, typer.Option("--column", help="Column (repeatable, or a,b).")] = None,
    values: Annotated[str | None, typer.Option("--values", help="accepted_values: a,b,c.")] = None,
    min_: Annotated[str | None, typer.Option("--min", help="range / row_count / sql value: lowest allowed.")] = None,
    max_: Annotated[str | None, typer.Option("--max", help="range / row_count / sql value: highest allowed.")] = None,
    pattern: Annotated[str | None, typer.Option("--pattern", help="regex: the whole value must match.")] = None,
    max_age: Annotated[str | None, typer.Option("--max-age", help="freshness: e.g. 24h, 90m, 7d.")] = None,
    sql: Annotated[str | None, typer.Option("--sql", help="sql: a query returning the failing rows.")] = None,
    expect: Annotated[
        str | None, typer.Option("--expect", help="schema: col:TYPE,... (default: the schema as it is now).")
    ] = None,
    no_extra: Annotated[bool, typer.Option("--no-extra", help="schema: no other columns allowed.")] = False,
    max_failing: Annotated[int | None, typer.Option("--max-failing", help="Failing rows tolerated.")] = None,
    max_failing_percent: Annotated[
        float | None, typer.Option("--max-failing-percent", help="Failing rows tolerated, in percent.")
    ] = None,
    blocking: Annotated[bool, typer.Option("--blocking", help="A failure rejects the share or append.")] = False,
    schedule: Annotated[
        str, typer.Option("--schedule", help="hourly, daily, weekly, 'every 30 minutes' or none.")
    ] = "daily",
    name: Annotated[str, typer.Option("--name", help="What people read (default: from the rule).")] = "",
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Add a check to DATASET; it runs on every share and append, and on its schedule."""
    from threshold.quality.dataset_checks import add
    from threshold.quality.kinds import CheckSpec

    check_format(fmt, ("table", "json"))
    options: dict[str, Any] = {}
    cols = [c.strip() for part in (column or []) for c in part.split(",") if c.strip()]
    if cols:
        options["columns"] = cols
        options["column"] = cols[0] if len(cols) == 1 else cols
    for key, value in (
        ("values", values),
        ("min", min_),
        ("max", max_),
        ("pattern", pattern),
        ("max_age", max_age),
        ("sql", sql),
        ("max_failing", max_failing),
        ("max_failing_percent", max_failing_percent),
    ):
        if value is not None:
            options[key] = value
    if expect is not None:
        options["columns"] = expect
    if no_extra:
        options["allow_extra"] = False
    p = platform_at(home)
    row = add(p, acting(p, as_user), dataset, CheckSpec(kind, options, blocking=blocking, name=name, schedule=schedule))
    say(row, fmt, f"added check {row.id} on {dataset}: {row.name}" + (" (blocking)" if row.blocking else ""))


@check_app.command("run")
def check_run(
    dataset: Annotated[str | None, typer.Argument(help="Dataset (default: every dataset you may check).")] = None,
    due: Annotated[bool, typer.Option("--due", help="Only checks whose schedule is due (for cron).")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when a check fails or errors.")] = False,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Run checks now on the published data, as the dataset's owner."""
    from threshold.quality import dataset_checks
    from threshold.quality.schedule import run_due

    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    rows: Sequence[CheckResult | ChecksNotRun]
    if due:
        if dataset is not None:
            raise InvalidInput("--due runs every due check; leave the dataset out")
        rows = run_due(p)
    elif dataset is not None:
        rows = dataset_checks.run(p, acting(p, as_user), dataset)
    else:
        rows = dataset_checks.run_all(p, acting(p, as_user))
    show(rows, fmt, View(table=CHECK_RUNS, empty="no checks to run"))
    if strict and any(r.status != "pass" for r in rows):
        raise typer.Exit(1)


@check_app.command("remove")
def check_remove(check_id: int, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Stop a check (its history stays)."""
    check_format(fmt)
    from threshold.quality.dataset_checks import remove

    p = platform_at(home)
    r = remove(p, acting(p, as_user), check_id)
    say(r, fmt, f"removed check {r.id} from {r.dataset}")


@check_app.command("history")
def check_history(
    check_id: int,
    limit: Limit = 50,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """One check's runs, newest first, with failing-row samples masked for you."""
    from threshold.quality.dataset_checks import check_history as history

    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    data = history(p, acting(p, as_user), check_id, limit=limit)
    show(data, fmt, HISTORY)


@app.command("checks")
def checks_cmd(
    dataset: str,
    history: Annotated[int, typer.Option("--history", help="Recent runs to show.")] = 0,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """A dataset's checks, their last result and the quality score (samples masked for you)."""
    from threshold.quality.dataset_checks import dataset_checks

    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    data = dataset_checks(p, acting(p, as_user), dataset, history=max(history, 20))
    days = p.settings.quality.score_window_days  # the window `dataset_checks` scored over
    show(data, fmt, View(lines=lambda d: _checks_lines(d, history, days)))


def _checks_lines(d: DatasetChecks, history: int, days: int) -> Iterator[Any]:
    score = "—" if d.score is None else f"{d.score:.1f}"
    yield f"{d.dataset}: quality score {score} (last {days} days)"
    yield CHECKS.rich(d.checks)
    if history:
        yield RECENT_RUNS.rich(d.history[:history])


@app.command("report")
def report_cmd(
    target: Annotated[str, typer.Argument(metavar="DATASET[.COLUMN]")],
    description: Annotated[str, typer.Option("--description", help="What is wrong.")],
    query: Annotated[str | None, typer.Option("--query", help="A query that shows the problem.")] = None,
    insight: Annotated[str | None, typer.Option("--insight", help="The insight you saw it in.")] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Report a problem with a dataset or a column; prints the incident's id. It goes to the domain that
    makes the data (upstream, through lineage)."""
    from threshold.quality.incident_records import get_incident
    from threshold.quality.incidents import report

    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    person = acting(p, as_user)
    incident_id = report(p, person, target, description=description, query=query, insight=insight)
    record = get_incident(p, person, incident_id)
    show(record, fmt, REPORTED)
    if fmt == "table":  # the routing, for people, on stderr: stdout stays the bare id scripts read
        err.print(f"incident #{incident_id} routed to {record.domain}: {record.routing.get('reason', '')}")


REPORTED = View(lines=lambda r: [Plain(str(r.id), highlight=False)])
"""`threshold report`: the new incident's id alone (scripts read it); `--format json` the incident in full."""


@app.command("incidents")
def incidents_cmd(
    domain: Annotated[str | None, typer.Option("--domain", help="Only those routed to this domain.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="open, acknowledged, fixed, verified or unresolved.")
    ] = None,
    dataset: Annotated[str | None, typer.Option("--dataset", help="Seen in or routed to this dataset.")] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Incidents, newest first, with the domain each is routed to."""
    from threshold.quality.incident_records import list_incidents

    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    rows = list_incidents(p, acting(p, as_user), domain=domain, status=status, dataset=dataset)
    show(rows, fmt, View(table=INCIDENTS, empty="no incidents"))


@app.command("incident")
def incident_cmd(
    incident_id: int,
    action: Annotated[str, typer.Argument(help="show, ack, fix, verify, reopen, comment or reroute.")] = "show",
    text: Annotated[
        str | None, typer.Argument(help="comment: the text; reroute: DATASET[.COLUMN] to send it to.")
    ] = None,
    note: Annotated[str, typer.Option("--note", help="A note kept with the change.")] = "",
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Show an incident, or move it along: ack, fix, verify, reopen, comment, reroute."""
    from threshold.quality import incidents
    from threshold.quality.incident_records import get_incident

    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    person = acting(p, as_user)
    if action == "comment":
        body = text or note
        if not body:
            raise InvalidInput("write the comment: threshold incident ID comment 'TEXT'")
        incidents.comment(p, person, incident_id, body)
    elif action == "reroute":
        if not text:
            raise InvalidInput("name where it goes: threshold incident ID reroute DATASET[.COLUMN]")
        incidents.reroute(p, person, incident_id, text, note)
    elif action in incidents.ACTIONS:
        incidents.act(p, person, incident_id, action, note or text or "")
    elif action != "show":
        raise InvalidInput(f"unknown action {action!r}; use show, ack, fix, verify, reopen, comment or reroute")
    record = get_incident(p, person, incident_id)
    show(record, fmt, INCIDENT)


def _incident_lines(r: IncidentRecord) -> Iterator[str]:
    yield f"[bold]#{r.id}[/bold] {r.title}  [{r.status}]"
    where = (r.dataset or "") + (f".{r.column}" if r.column else "")
    routed = r.routed_to.dataset or ""
    yield f"seen in {where}; routed to {r.domain} ({routed}); assigned to {r.assignee or 'nobody'}"
    yield f"why: {r.routing.get('reason', '')}"
    if r.description:
        yield r.description
    if r.query:
        yield f"query: {r.query}"
    for c in r.comments:
        yield f"  {c.at} {c.by}: {c.event or 'comment'} {c.body}".rstrip()
    if r.actions:
        yield f"you may: {', '.join(r.actions)}"


INCIDENT = View(lines=_incident_lines)


@quarantine_app.command("list")
def quarantine_list(
    dataset: Annotated[str | None, typer.Argument()] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Files blocking checks rejected (of DATASET, or of every dataset you may manage)."""
    from threshold.quality.quarantine import listing

    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    rows = listing(p, acting(p, as_user), dataset)
    show(rows, fmt, View(table=QUARANTINE, empty="nothing in quarantine"))


@quarantine_app.command("show")
def quarantine_show(quarantine_id: int, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Where a rejected file is kept (its path), and why it was rejected."""
    check_format(fmt)
    from threshold.quality.quarantine import get

    p = platform_at(home)
    show(get(p, acting(p, as_user), quarantine_id), fmt, QUARANTINED)


def _quarantined_lines(held: tuple[QuarantinedFile, list[Path]]) -> Iterator[Plain]:
    row, files = held
    yield Plain(f"#{row.id} {row.dataset} ({row.mode}, {row.status}): {row.reason}")
    for f in files:
        yield Plain(str(f), highlight=False)


QUARANTINED = View(lines=_quarantined_lines, json=lambda held: held[0].to_json() | {"files": [str(f) for f in held[1]]})
"""`threshold quarantine show`: why the file was rejected, then where each kept file is (one path a line)."""


@quarantine_app.command("release")
def quarantine_release(quarantine_id: int, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Share a rejected file anyway (owners): its failures then open incidents instead of blocking."""
    check_format(fmt)
    from threshold.quality.quarantine import release

    p = platform_at(home)
    r = release(p, acting(p, as_user), quarantine_id)
    say(r, fmt, f"released #{r.id}: {r.rows_added:,} rows added to {r.dataset}")


@app.command("quality")
def quality_cmd(
    dataset: Annotated[str | None, typer.Argument(help="A dataset (or use --domain).")] = None,
    domain: DomainFilter = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Quality score of a dataset, or of a domain with its time to acknowledge and to fix incidents."""
    from threshold.quality.score import dataset_quality, domain_quality

    check_format(fmt, ("table", "json"))
    if (dataset is None) == (domain is None):
        raise InvalidInput("name a dataset, or a domain with --domain")
    p = platform_at(home)
    data = (
        dataset_quality(p, dataset, viewer=acting(p, as_user))
        if dataset
        else domain_quality(p, str(domain), viewer=acting(p, as_user))
    )
    show(data, fmt, View(lines=lambda d: _quality_lines(d, str(dataset or domain))))


def _quality_lines(d: DatasetQuality | DomainQuality, name: str) -> Iterator[str]:
    from threshold.quality.results import DomainQuality

    score = "—" if d.score is None else f"{d.score:.1f}"
    yield f"{name}: quality score {score} over {d.window_days} days"
    if isinstance(d, DomainQuality):
        for t, label in ((d.time_to_acknowledge, "acknowledge"), (d.time_to_fix, "fix")):
            yield (
                f"time to {label}: median {t.median_hours} h, p90 {t.p90_hours} h over {t.count} "
                f"incidents; {t.waiting} waiting"
            )
