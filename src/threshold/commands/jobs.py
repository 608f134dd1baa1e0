"""`threshold jobs list|history|run`: the jobs core's scheduled jobs, their runs, and running them now."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from threshold.commands.options import As, Format, Home
from threshold.commands.support import acting, check_format, err, lazy_module, platform_at, show
from threshold.errors import InvalidInput
from threshold.interface.rendering import View
from threshold.interface.tables import Col, TableSpec, when

if TYPE_CHECKING:
    from threshold.jobs.results import JobRow

if TYPE_CHECKING:  # what mypy checks the calls against; at run time imported on first use
    from threshold import access
    from threshold.jobs import service
else:
    access = lazy_module("threshold.access")
    service = lazy_module("threshold.jobs.service")

app = typer.Typer()  # registered onto `threshold` by threshold.cli (GROUPS)
jobs_app = typer.Typer(no_args_is_help=True, help="Scheduled jobs (refreshes, checks): list, history, run now.")
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("list")
def list_cmd(
    kind: Annotated[str | None, typer.Option("--kind", help="Only jobs of this kind.")] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Every scheduled job with its next run and last outcome (admins)."""
    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    access.require(acting(p, as_user), "jobs.operate")
    show(service.listing(p, kind=kind), fmt, View(table=JOBS))


def _job_status(r: JobRow) -> str:
    status = "running" if r.running_on else (r.last_status or "")
    return status + (f" (retry {r.attempts})" if r.attempts else "")


JOBS = TableSpec(
    Col("kind", "kind", id=True),
    Col("key", "key", id=True),
    Col("job", "label"),
    Col("schedule", "schedule"),
    Col("next run", "next_run_at", fmt=when),
    Col("last run", "last_run_at", fmt=when),
    Col("status", _job_status),
)


@jobs_app.command("history")
def history_cmd(
    kind: Annotated[str | None, typer.Option("--kind", help="Only runs of this kind.")] = None,
    key: Annotated[str | None, typer.Option("--key", help="Only runs of this job.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Runs of jobs, newest first (admins)."""
    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    access.require(acting(p, as_user), "jobs.operate")
    show(service.history(p, kind=kind, key=key, limit=limit), fmt, View(table=RUNS))


RUNS = TableSpec(
    Col("started", "started_at", id=True, fmt=when),
    Col("kind", "kind", id=True),
    Col("job", "label"),
    Col("trigger", "trigger"),
    Col("attempt", "attempt", justify="right"),
    Col("status", "status"),
    Col("error", "error"),
)


@jobs_app.command("run")
def run_cmd(
    kind: Annotated[str | None, typer.Argument(help="Job kind, e.g. derivation.refresh.")] = None,
    key: Annotated[str | None, typer.Argument(help="The job's key (see `threshold jobs list`).")] = None,
    due: Annotated[bool, typer.Option("--due", help="Run every due job (for cron).")] = False,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Run one job now, or with --due every job whose time has come (admins). Exit 1 if a run failed."""
    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    access.require(acting(p, as_user), "jobs.operate")
    if due == bool(kind or key):
        raise InvalidInput("give a KIND and KEY, or --due")
    if not due and not (kind and key):
        raise InvalidInput("give both the job's KIND and KEY (see `threshold jobs list`)")
    outcomes = service.run_due(p) if due else [service.run_now(p, str(kind), str(key))]
    rows = [service.outcome_row(o) for o in outcomes]
    show(rows, fmt, View(table=OUTCOMES))
    if any(r.status == "failed" for r in rows):
        err.print(f"{sum(r.status == 'failed' for r in rows)} job(s) failed")
        raise typer.Exit(1)


OUTCOMES = TableSpec(
    Col("kind", "kind", id=True),
    Col("job", "label"),
    Col("trigger", "trigger"),
    Col("status", "status"),
    Col("next run", "next_run_at", fmt=when),
    Col("error", "error"),
)
