"""The home's health for admins: the doctor's report (`/health`, `/health.json`) and its fix button."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from threshold.interface.permissions import Admin
from threshold.operations.doctor import diagnose
from threshold.web import i18n
from threshold.web.session import check_csrf
from threshold.web.templating import page

router = APIRouter()
Csrf = Annotated[str, Form(max_length=200)]


@router.get("/health")
@router.get("/health.json")
def health(request: Request, person: Admin, deep: Annotated[bool, Query()] = False) -> Response:
    report = diagnose(request.app.state.platform, person, deep=deep)
    return page(
        request, "health.html", report.as_dict(), person=person, title=i18n.Text("Health of this home"), nav="health"
    )


@router.post("/health/fix")
def fix(request: Request, person: Admin, csrf: Csrf = "") -> Response:
    """Clean up what dead writers left, then show the report again with what was done."""
    check_csrf(request, csrf)
    report = diagnose(request.app.state.platform, person, fix=True)
    return page(
        request, "health.html", report.as_dict(), person=person, title=i18n.Text("Health of this home"), nav="health"
    )
