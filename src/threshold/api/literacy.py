"""REST API of literacy and the personal report under /api/v1: my path, tracks, cohorts (organisers), my
report (JSON and PDF) and a team's totals (its owners, when the organisation switched the team view on).

A report names no person in its path: it is always the caller's own. Asking for someone else's
(`?person=`) is answered as for a report that does not exist.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from threshold.interface.deps import PlatformDep
from threshold.interface.permissions import API, SignedIn
from threshold.literacy import pdf, report, service

router = APIRouter(prefix=API, tags=["literacy"])
PeriodQ = Annotated[str, Query(max_length=10, description="YYYY-MM or YYYY-Qn; empty: this month")]
Name = Annotated[str, Path(min_length=1, max_length=100)]


class CohortIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    track: str = Field(min_length=1, max_length=100)
    starts_on: date
    members: list[Annotated[str, Field(min_length=1, max_length=63)]] = Field(
        min_length=1, max_length=service.MAX_COHORT
    )


@router.get("/learning", summary="My learning path: what is done (when, by which action) and what to try next")
def my_path(platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(service.my_learning(platform, person))


@router.get("/learning/tracks", summary="The organisation's learning tracks")
def tracks(platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return {"tracks": [asdict(t) for t in service.list_tracks(platform)]}


@router.get("/learning/cohorts", summary="Cohorts and their week (organisers)")
def cohorts(platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return {"cohorts": [asdict(c) for c in service.list_cohorts(platform, person)]}


@router.post("/learning/cohorts", status_code=201, summary="Put people on a track from a start date (organisers)")
def create_cohort(body: CohortIn, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    view = service.create_cohort(
        platform, person, body.name, track=body.track, starts_on=body.starts_on, members=body.members
    )
    return asdict(view)


@router.get("/learning/cohorts/{name}", summary="A cohort's progress per week and where people stall (totals)")
def cohort(name: Name, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(service.show_cohort(platform, person, name))


@router.get("/report", summary="My data use in a period (month or quarter)")
def my_report(
    platform: PlatformDep,
    person: SignedIn,
    period: PeriodQ = "",
    of: Annotated[str, Query(alias="person", max_length=63)] = "",
) -> dict[str, Any]:
    return asdict(report.personal_report(platform, person, period=period or None, of=of or None))


@router.get("/report.pdf", summary="My data use in a period, as a PDF for a review conversation")
def my_report_pdf(
    platform: PlatformDep,
    person: SignedIn,
    period: PeriodQ = "",
    of: Annotated[str, Query(alias="person", max_length=63)] = "",
) -> Response:
    r = report.personal_report(platform, person, period=period or None, of=of or None)
    return Response(
        pdf.render(r),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="data-use-{r.person}-{r.period}.pdf"'},
    )


@router.get("/report/teams/{domain}", summary="A team's totals in a period (its owners, when the team view is on)")
def team(domain: Name, platform: PlatformDep, person: SignedIn, period: PeriodQ = "") -> dict[str, Any]:
    return asdict(report.team_report(platform, person, domain, period=period or None))
