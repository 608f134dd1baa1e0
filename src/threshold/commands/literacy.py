"""`threshold learn status|tracks|cohort create|cohort list|cohort show` and `threshold my-report`: learning
by doing, and one's own data use for a review conversation (docs/literacy.md)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from threshold.commands.options import As, Format, Home
from threshold.commands.support import acting, check_format, emit, lazy_module, platform_at, show
from threshold.interface.rendering import Plain, View
from threshold.interface.tables import Col, TableSpec, when

if TYPE_CHECKING:  # what mypy checks the calls against; at run time imported on first use
    from threshold.literacy import pdf as pdf_mod
    from threshold.literacy import report as report_mod
    from threshold.literacy import service
else:
    service = lazy_module("threshold.literacy.service")
    report_mod = lazy_module("threshold.literacy.report")
    pdf_mod = lazy_module("threshold.literacy.pdf")

app = typer.Typer()  # registered onto `threshold` by threshold.cli (GROUPS)
learn_app = typer.Typer(no_args_is_help=True, help="Learning by doing: your path, the tracks, cohorts.")
cohort_app = typer.Typer(no_args_is_help=True, help="Cohorts of people on a track (organisers).")
learn_app.add_typer(cohort_app, name="cohort")
app.add_typer(learn_app, name="learn")

TASKS = TableSpec(
    Col("week", "week", justify="right"),
    Col("task", "title", id=True),
    Col("done", "done_at", fmt=when),
    Col("by", "done_by"),
    Col("about", "ref"),
)
TRACKS = TableSpec(
    Col("track", "key", id=True),
    Col("title", "title"),
    Col("weeks", "weeks", justify="right"),
    Col("tasks", "tasks", justify="right"),
)
COHORTS = TableSpec(
    Col("cohort", "name", id=True),
    Col("track", "track"),
    Col("starts", "starts_on"),
    Col("week", "current_week", justify="right"),
    Col("people", "members", justify="right"),
)
WEEKS = TableSpec(
    Col("week", "number", justify="right", id=True),
    Col("title", "title"),
    Col("done", lambda w: f"{round(w.done_share * 100)}%", justify="right"),
    Col("tasks", lambda w: ", ".join(f"{t.title} {t.done}/{t.done + t.not_done}" for t in w.tasks)),
)


@learn_app.command("status")
def status_cmd(as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Your path: what is done (when, by which action) and what to try next."""
    check_format(fmt)
    p = platform_at(home)
    mine = service.my_learning(p, acting(p, as_user))
    show(mine, fmt, View(lines=_learning_lines))


def _learning_lines(mine: Any) -> Iterator[Any]:
    for path in mine.paths:
        where = f" (cohort {path.cohort}, week {path.current_week})" if path.cohort else ""
        tasks = [t for w in path.weeks for t in w.tasks]
        yield TASKS.rich(tasks, title=f"{path.title}{where}: {path.done} of {path.total} done")
        if path.next is not None:
            yield Plain(f"Next: {path.next.title} - {path.next.hint} ({path.next.link})")


@learn_app.command("tracks")
def tracks_cmd(home: Home = None, fmt: Format = "table") -> None:
    """The organisation's learning tracks."""
    check_format(fmt)
    emit(service.list_tracks(platform_at(home)), TRACKS, fmt)


@cohort_app.command("create")
def cohort_create_cmd(
    name: Annotated[str, typer.Argument(help="The cohort's name, e.g. 'Spring 2027'.")],
    track: Annotated[str, typer.Option("--track", help="The track's key (threshold learn tracks).")],
    starts: Annotated[str, typer.Option("--starts", help="The first day, YYYY-MM-DD.")],
    member: Annotated[list[str], typer.Option("--member", help="A person's user name (repeat).")],
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Put people on a track from a start date (the governance group)."""
    check_format(fmt)
    from threshold.errors import InvalidInput

    try:
        starts_on = date.fromisoformat(starts.strip())
    except ValueError:
        raise InvalidInput(f"--starts is a date YYYY-MM-DD, not {starts[:20]!r}") from None
    p = platform_at(home)
    view = service.create_cohort(p, acting(p, as_user), name, track=track, starts_on=starts_on, members=member)
    _cohort(view, fmt, said=f"cohort {view.name}: {view.members} people on {view.track} from {view.starts_on}")


@cohort_app.command("list")
def cohort_list_cmd(as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Every cohort and its week (the governance group)."""
    check_format(fmt)
    p = platform_at(home)
    emit(service.list_cohorts(p, acting(p, as_user)), COHORTS, fmt)


@cohort_app.command("show")
def cohort_show_cmd(
    name: Annotated[str, typer.Argument(help="The cohort's name.")],
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """A cohort's progress per week and where people stall (totals, no names)."""
    check_format(fmt)
    p = platform_at(home)
    _cohort(service.show_cohort(p, acting(p, as_user), name), fmt)


def _cohort(view: Any, fmt: str, *, said: str = "") -> None:
    show(view, fmt, View(lines=lambda v: _cohort_lines(v, said)))


def _cohort_lines(view: Any, said: str) -> Iterator[Any]:
    if said:
        yield Plain(said)
    title = f"{view.name}: {view.track_title}, week {view.current_week} of {view.weeks_total}, {view.members} people"
    yield WEEKS.rich(view.weeks, title=title)
    for s in view.stalls[:5]:
        yield Plain(f"Stalled: {s.title} (week {s.week}): {s.not_done} not done")


@app.command("my-report")
def report_cmd(
    period: Annotated[str | None, typer.Option("--period", help="YYYY-MM or YYYY-Qn (default: this month).")] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="Also write the report as a PDF to this file.")] = None,
    team: Annotated[
        str | None, typer.Option("--team", help="A domain you own: its totals (when the team view is on).")
    ] = None,
    person: Annotated[str | None, typer.Option("--person", help="Whose report: only ever your own.")] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Your data use in a period, for you first (and a PDF for a review conversation)."""
    check_format(fmt)
    p = platform_at(home)
    me = acting(p, as_user)
    if team is not None:
        totals = report_mod.team_report(p, me, team, period=period)
        show(totals, fmt, View(lines=lambda t: [Plain(f"{k.replace('_', ' ')}: {v}") for k, v in vars(t).items()]))
        return
    r = report_mod.personal_report(p, me, period=period, of=person)
    if pdf is not None:
        pdf.write_bytes(pdf_mod.render(r))
    show(r, fmt, View(lines=lambda r: _report_lines(r, pdf)))


def _report_lines(r: Any, pdf: Path | None) -> Iterator[Plain]:
    yield Plain(f"Data use of {r.display_name}, {r.period}: {r.queries} queries")
    for u in r.datasets_used:
        yield Plain(f"  used {u.dataset}: {u.queries} queries")
    for i in r.insights:
        domains = ", ".join(f"{c.domain} {c.people}" for c in i.by_domain)
        yield Plain(f"  insight {i.title}: {i.viewers} viewers ({domains or 'nobody yet'})")
    for d in r.shared:
        domains = ", ".join(f"{c.domain} {c.people}" for c in d.by_domain)
        yield Plain(f"  shared {d.dataset}: {d.consumers} people ({domains or 'nobody yet'})")
    yield Plain(
        f"  described {r.descriptions} datasets, wrote {r.terms} glossary terms, fixed {r.incidents_fixed} incidents"
    )
    for learning in r.learning:
        yield Plain(f"  learning {learning.track}: {learning.done} of {learning.total} tasks done")
    if pdf is not None:
        yield Plain(f"PDF written to {pdf}")
