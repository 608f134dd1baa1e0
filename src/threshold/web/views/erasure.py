"""Erasure pages for the governance group (each with its `.json` twin): `/erasure` (a request: subjects and
reason; the certificates), `/erasure/plan` (what would be removed, confirmed by a button carrying the
plan's token), `/erasure/certificates/<id>` and `/erasure/access` (the subject access report, CSV too).
The erasure service decides (`subject.erase`, `subject.access`); the pages only render and translate forms.
Subjects travel in POST bodies, never in a URL."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from threshold.erasure import service, subject_access
from threshold.erasure.subjects import MAX_SUBJECTS, MAX_VALUE
from threshold.identity.service import Person
from threshold.interface.permissions import Requires
from threshold.web.session import check_csrf
from threshold.web.templating import page

router = APIRouter()
Erases = Annotated[Person, Requires("subject.erase")]
Reports = Annotated[Person, Requires("subject.access")]
SubjectsField = Annotated[str, Form(min_length=3, max_length=MAX_SUBJECTS * (MAX_VALUE + 102))]


def _subjects(text: str) -> list[str]:
    """One `TAG=VALUE` per line."""
    return [line.strip() for line in text.splitlines() if line.strip()]


@router.get("/erasure")
@router.get("/erasure.json")
def erasure_page(request: Request, person: Erases) -> Response:
    found = service.certificates(request.app.state.platform, person)
    data: dict[str, Any] = {"certificates": [c.as_dict() for c in found]}
    return page(request, "erasure.html", data, person=person, title="Erasure", nav="erasure")


@router.post("/erasure/plan")
@router.post("/erasure/plan.json")
def plan_page(
    request: Request,
    person: Erases,
    subjects: SubjectsField,
    reason: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(request, csrf)
    shown = service.plan(request.app.state.platform, person, _subjects(subjects))
    data = {
        "subjects": subjects,
        "reason": reason,
        "tags": shown.subjects,
        "token": shown.token,
        "rows": shown.rows,
        "erase": len(shown.to_erase),
        "items": [asdict(i) for i in shown.items],
    }
    return page(request, "erasure_plan.html", data, person=person, title="Erasure plan", nav="erasure")


@router.post("/erasure/run")
def run(
    request: Request,
    person: Erases,
    subjects: SubjectsField,
    reason: Annotated[str, Form(min_length=1, max_length=2000)],
    token: Annotated[str, Form(min_length=1, max_length=64)],
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The confirm button of a plan: erase as planned, then show the certificate."""
    check_csrf(request, csrf)
    cert = service.erase(request.app.state.platform, person, _subjects(subjects), reason=reason, confirm=token)
    return RedirectResponse(f"/erasure/certificates/{cert.id}", status_code=303)


@router.get("/erasure/certificates/{cert_id}")
def certificate_page(request: Request, person: Erases, cert_id: str) -> Response:
    """`/erasure/certificates/<id>` or its twin (the certificate's JSON export) `/erasure/certificates/<id>.json`."""
    number = cert_id.removesuffix(".json")
    if not number.isdigit() or len(number) > 12:
        from threshold.errors import NotFound

        raise NotFound(f"no erasure certificate {number[:20]}")
    cert = service.certificate(request.app.state.platform, person, int(number))
    return page(
        request, "erasure_certificate.html", cert.as_dict(), person=person, title=f"Erasure {cert.id}", nav="erasure"
    )


@router.post("/erasure/access")
@router.post("/erasure/access.json")
def access_page(
    request: Request,
    person: Reports,
    subjects: SubjectsField,
    download: Annotated[str, Form(pattern="^(|csv|json)$")] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(request, csrf)
    report = subject_access.report(request.app.state.platform, person, _subjects(subjects))
    if download:
        body, kind = (report.as_csv(), "text/csv") if download == "csv" else (report.as_json(), "application/json")
        return Response(
            body,
            media_type=f"{kind}; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="subject-access.{download}"'},
        )
    data = asdict(report) | {"subjects": subjects}
    return page(request, "erasure_access.html", data, person=person, title="Subject access", nav="erasure")
