"""The jobs page (`/jobs`, `.json` twin): scheduled jobs, declared kinds, newest runs; "run now" (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from threshold.interface.permissions import RULES
from threshold.jobs import service as jobs
from threshold.web.session import check_csrf, signed_in
from threshold.web.templating import page

router = APIRouter()

RULES.update({("GET", "/jobs"): "admin", ("GET", "/jobs.json"): "admin", ("POST", "/jobs/{kind}/{key}/run"): "admin"})


@router.get("/jobs")
@router.get("/jobs.json")
def jobs_page(request: Request) -> Response:
    person = signed_in(request)
    data = jobs.overview(request.app.state.platform, person)
    return page(request, "jobs.html", data, person=person, title="Jobs", nav="jobs")


@router.post("/jobs/{kind}/{key}/run")
def run_now(request: Request, kind: str, key: str, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    """The "run now" button: run the job, then show the page again (its outcome is in the history)."""
    person = signed_in(request)
    check_csrf(request, csrf)
    jobs.must_operate(person)
    jobs.run_now(request.app.state.platform, kind, key)
    return RedirectResponse("/jobs", status_code=303)
