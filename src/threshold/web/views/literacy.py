"""Learning and one's own data use (`/learn`, `/learn/cohorts/<name>`, `/me/report`, `/teams/<domain>/report`,
each with its `.json` twin; `/me/report.pdf`). The literacy services decide who sees what (docs/literacy.md):
a path and a report are their person's alone, a cohort is for organisers, a team view is totals only."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from threshold.access import may
from threshold.errors import InvalidInput
from threshold.interface.permissions import SignedIn
from threshold.literacy import pdf, report, service
from threshold.web.session import check_csrf
from threshold.web.templating import page

router = APIRouter()
PeriodQ = Annotated[str, Query(max_length=10)]


@router.get("/learn")
@router.get("/learn.json")
def learn_page(request: Request, person: SignedIn) -> Response:
    """My path through my track(s); for organisers, the cohorts and the form to start one."""
    platform = request.app.state.platform
    organiser = bool(may(person, "cohort.organise"))
    data = {
        "learning": asdict(service.my_learning(platform, person)),
        "organiser": organiser,
        "cohorts": [asdict(c) for c in service.list_cohorts(platform, person)] if organiser else [],
        "tracks": [asdict(t) for t in service.list_tracks(platform)] if organiser else [],
    }
    return page(request, "learn.html", data, person=person, title="Learning", nav="learn")


@router.post("/learn/cohorts")
def create_cohort(
    request: Request,
    person: SignedIn,
    name: Annotated[str, Form(min_length=1, max_length=100)],
    track: Annotated[str, Form(min_length=1, max_length=100)],
    starts_on: Annotated[str, Form(min_length=1, max_length=10)],
    members: Annotated[str, Form(min_length=1, max_length=service.MAX_COHORT * 64)],
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The organiser's form: people (user names separated by commas or spaces) on a track from a day."""
    check_csrf(request, csrf)
    try:
        day = date.fromisoformat(starts_on.strip())
    except ValueError:
        raise InvalidInput(f"the start is a date YYYY-MM-DD, not {starts_on[:20]!r}") from None
    names = [m for m in members.replace(",", " ").split() if m]
    view = service.create_cohort(request.app.state.platform, person, name, track=track, starts_on=day, members=names)
    return RedirectResponse(f"/learn/cohorts/{quote(view.name, safe='')}", status_code=303)


@router.get("/learn/cohorts/{name}")
def cohort_page(request: Request, person: SignedIn, name: str) -> Response:
    """`/learn/cohorts/<name>` or its twin `/learn/cohorts/<name>.json`: progress per week and stalls."""
    if name.endswith(".json"):
        name = name[: -len(".json")]
    view = service.show_cohort(request.app.state.platform, person, name[:100])
    return page(request, "learn_cohort.html", asdict(view), person=person, title=view.name, nav="learn")


@router.get("/me/report")
@router.get("/me/report.json")
def report_page(request: Request, person: SignedIn, period: PeriodQ = "") -> Response:
    """My data use in a month or a quarter, and the domains whose totals I may see."""
    platform = request.app.state.platform
    mine = report.personal_report(platform, person, period=period or None)
    data = asdict(mine) | {"teams": report.team_domains(platform, person)}
    return page(request, "my_report.html", data, person=person, title="My data use", nav="me")


@router.get("/me/report.pdf")
def report_pdf(request: Request, person: SignedIn, period: PeriodQ = "") -> Response:
    mine = report.personal_report(request.app.state.platform, person, period=period or None)
    return Response(
        pdf.render(mine),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="data-use-{mine.person}-{mine.period}.pdf"'},
    )


@router.get("/teams/{domain}/report")
@router.get("/teams/{domain}/report.json")
def team_page(request: Request, person: SignedIn, domain: str, period: PeriodQ = "") -> Response:
    """A team's totals (its owners, when the organisation switched the team view on)."""
    totals = report.team_report(request.app.state.platform, person, domain[:100], period=period or None)
    return page(request, "team_report.html", asdict(totals), person=person, title=f"Team {totals.domain}", nav="me")
