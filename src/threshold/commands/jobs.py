"""`threshold jobs list|history|run`: the jobs core's scheduled jobs, their runs, and running them now."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from threshold.access import require
from threshold.cli import As, Format, Home, _check_format, _emit_json, _person, _platform, app, err, lazy_module, out
from threshold.errors import InvalidInput

service = lazy_module("threshold.jobs.service")

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
    _check_format(fmt, ("table", "json"))
    p = _platform(home)
    require(_person(p, as_user), "jobs.operate")
    rows = service.listing(p, kind=kind)
    if fmt == "json":
        _emit_json(rows)
        return
    t = Table("kind", "key", "job", "schedule", "next run", "last run", "status")
    for r in rows:
        status = "running" if r["running_on"] else (r["last_status"] or "")
        if r["attempts"]:
            status += f" (retry {r['attempts']})"
        t.add_row(
            r["kind"], r["key"], r["label"], r["schedule"] or "", r["next_run_at"] or "", r["last_run_at"] or "", status
        )
    out.print(t)


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
    _check_format(fmt, ("table", "json"))
    p = _platform(home)
    require(_person(p, as_user), "jobs.operate")
    rows = service.history(p, kind=kind, key=key, limit=limit)
    if fmt == "json":
        _emit_json(rows)
        return
    t = Table("started", "kind", "job", "trigger", "attempt", "status", "error")
    for r in rows:
        t.add_row(
            r["started_at"] or "", r["kind"], r["label"], r["trigger"], str(r["attempt"]), r["status"], r["error"] or ""
        )
    out.print(t)


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
    _check_format(fmt, ("table", "json"))
    p = _platform(home)
    require(_person(p, as_user), "jobs.operate")
    if due == bool(kind or key):
        raise InvalidInput("give a KIND and KEY, or --due")
    if not due and not (kind and key):
        raise InvalidInput("give both the job's KIND and KEY (see `threshold jobs list`)")
    outcomes = service.run_due(p) if due else [service.run_now(p, str(kind), str(key))]
    rows = [service.outcome_dict(o) for o in outcomes]
    if fmt == "json":
        _emit_json(rows)
    else:
        t = Table("kind", "job", "trigger", "status", "next run", "error")
        for r in rows:
            t.add_row(r["kind"], r["label"], r["trigger"], r["status"], r["next_run_at"] or "", r["error"] or "")
        out.print(t)
    if any(r["status"] == "failed" for r in rows):
        err.print(f"{sum(r['status'] == 'failed' for r in rows)} job(s) failed")
        raise typer.Exit(1)
