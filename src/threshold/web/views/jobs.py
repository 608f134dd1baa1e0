"""The jobs page (`/jobs`, `.json` twin): scheduled jobs, declared kinds, newest runs; "run now" (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from threshold.identity.service import Person
from threshold.interface.permissions import Requires
from threshold.jobs import service as jobs
from threshold.web import i18n
from threshold.web.session import check_csrf
from threshold.web.templating import page

router = APIRouter()
Operator = Annotated[Person, Requires("jobs.operate")]


@router.get("/jobs")
@router.get("/jobs.json")
def jobs_page(request: Request, person: Operator) -> Response:
    data = jobs.overview(request.app.state.platform).to_json()
    return page(request, "jobs.html", data, person=person, title=i18n.Text("Jobs"), nav="jobs")


@router.post("/jobs/{kind}/{key}/run")
def run_now(
    request: Request, person: Operator, kind: str, key: str, csrf: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """The "run now" button: run the job, then show the page again (its outcome is in the history)."""
    check_csrf(request, csrf)
    jobs.run_now(request.app.state.platform, kind, key)
    return RedirectResponse("/jobs", status_code=303)
