"""REST API of erasure under /api/v1: plan, erase (with the plan's token), certificates, subject access.

For the governance group only (`subject.erase`, `subject.access`); the service asks the decision point too.
A subject is `TAG=VALUE`; it travels in a request body, never in a URL (URLs end up in logs).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from threshold.erasure import service, subject_access
from threshold.erasure.subjects import MAX_SUBJECTS, MAX_VALUE
from threshold.identity.service import Person
from threshold.interface.deps import PlatformDep
from threshold.interface.params import Id
from threshold.interface.permissions import API, Requires

router = APIRouter(prefix=API, tags=["erasure"])
Erases = Annotated[Person, Requires("subject.erase")]
Reports = Annotated[Person, Requires("subject.access")]
Subject = Annotated[str, Field(min_length=3, max_length=MAX_VALUE + 101)]


class SubjectsIn(BaseModel):
    subjects: list[Subject] = Field(min_length=1, max_length=MAX_SUBJECTS)
    """`TAG=VALUE` each, e.g. `personal.email=ada@example.org`."""


class EraseIn(SubjectsIn):
    reason: str = Field(min_length=1, max_length=2000)
    confirm: str = Field(min_length=1, max_length=64)
    """The `token` of the plan the person saw (POST /erasure/plan): refused when the plan changed since."""


class AccessIn(SubjectsIn):
    format: str = Field(default="json", pattern="^(json|csv)$")


@router.post("/erasure/plan", summary="What erasing the subjects would remove (changes nothing)")
def plan(body: SubjectsIn, platform: PlatformDep, person: Erases) -> dict[str, Any]:
    shown = service.plan(platform, person, body.subjects)
    return {
        "subjects": shown.subjects,
        "token": shown.token,
        "rows": shown.rows,
        "items": [vars(i) for i in shown.items],
    }


@router.post("/erasure", summary="Erase the subjects as planned; answers with the certificate")
def erase(body: EraseIn, platform: PlatformDep, person: Erases) -> dict[str, Any]:
    cert = service.erase(platform, person, body.subjects, reason=body.reason, confirm=body.confirm)
    return cert.as_dict()


@router.get("/erasure/certificates", summary="Every erasure certificate, newest first")
def certificates(platform: PlatformDep, person: Erases) -> list[dict[str, Any]]:
    return [c.as_dict() for c in service.certificates(platform, person)]


@router.get("/erasure/certificates/{cert_id}", summary="One erasure certificate (JSON: its export)")
def certificate(cert_id: Id, platform: PlatformDep, person: Erases) -> dict[str, Any]:
    return service.certificate(platform, person, cert_id).as_dict()


@router.post("/subject-access", summary="Everything held about the subjects (JSON or CSV)", response_model=None)
def access(body: AccessIn, platform: PlatformDep, person: Reports) -> Response | dict[str, Any]:
    report = subject_access.report(platform, person, body.subjects)
    if body.format == "csv":
        return Response(report.as_csv(), media_type="text/csv; charset=utf-8")
    from dataclasses import asdict

    return asdict(report)
