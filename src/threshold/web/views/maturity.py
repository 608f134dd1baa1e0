"""The maturity model's pages, each with its `.json` twin: `/maturity` (domains x dimensions and the trend),
`/maturity/<domain>` (scores with their signals, next step, actions, self-assessment and target proposal
forms) and `/target-picture` (the editor with its history and the domains' proposals). The services decide
who may do what (docs/maturity.md); the pages render and translate forms."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from threshold.access import may
from threshold.errors import InvalidInput
from threshold.interface.permissions import SignedIn
from threshold.maturity import assessment, service, snapshots, target
from threshold.maturity.picture import DIMENSIONS, MAX_DOCUMENT
from threshold.web.session import check_csrf
from threshold.web.templating import page

router = APIRouter()
Against = Annotated[str, Query(pattern="^(then|now)$")]
Csrf = Annotated[str, Form(max_length=200)]


@router.get("/maturity")
@router.get("/maturity.json")
def dashboard_page(request: Request, person: SignedIn, against: Against = "then") -> Response:
    board = service.dashboard(request.app.state.platform, person, against=against)
    return page(request, "maturity.html", asdict(board), person=person, title="Maturity", nav="maturity")


@router.post("/maturity/snapshot")
def take_snapshot(request: Request, person: SignedIn, csrf: Csrf = "") -> Response:
    check_csrf(request, csrf)
    snapshots.take(request.app.state.platform, person)
    return RedirectResponse("/maturity", status_code=303)


@router.get("/target-picture")
@router.get("/target-picture.json")
def target_page(
    request: Request, person: SignedIn, version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None
) -> Response:
    platform = request.app.state.platform
    versions = target.history(platform, person)
    shown = versions[0] if version is None else next((v for v in versions if v.version == version), versions[0])
    data = {
        "shown": asdict(shown),
        "in_force": versions[0].version,
        "versions": [asdict(v) for v in versions],
        "proposals": [asdict(p) for p in target.proposals(platform, person)],
        "may_edit": bool(may(person, "maturity.target.set")),
    }
    return page(request, "maturity_target.html", data, person=person, title="Target picture", nav="maturity")


@router.post("/target-picture")
def set_target(
    request: Request,
    person: SignedIn,
    document: Annotated[str, Form(min_length=1, max_length=MAX_DOCUMENT)],
    reason: Annotated[str, Form(max_length=target.MAX_REASON)] = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    target.set_picture(request.app.state.platform, person, document.replace("\r\n", "\n"), reason=reason)
    return RedirectResponse("/target-picture", status_code=303)


@router.post("/target-picture/proposals/{proposal}")
def decide(
    request: Request,
    person: SignedIn,
    proposal: int,
    verdict: Annotated[str, Form(pattern="^(approve|reject)$")],
    note: Annotated[str, Form(max_length=target.MAX_REASON)] = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    target.decide(request.app.state.platform, person, proposal, approve=verdict == "approve", note=note)
    return RedirectResponse("/target-picture", status_code=303)


@router.get("/maturity/{domain}")
def domain_page(request: Request, person: SignedIn, domain: str, against: Against = "then") -> Response:
    """`/maturity/<domain>` or its twin `/maturity/<domain>.json`."""
    if domain.endswith(".json"):
        domain = domain[: -len(".json")]
    shown = service.standing(request.app.state.platform, person, domain, against=against)
    data = asdict(shown) | {"all_dimensions": list(DIMENSIONS)}
    return page(request, "maturity_domain.html", data, person=person, title=shown.title, nav="maturity")


@router.post("/maturity/{domain}/assess")
async def assess(request: Request, person: SignedIn, domain: str) -> Response:
    form = await request.form(max_files=0, max_fields=60)
    check_csrf(request, str(form.get("csrf", "")))
    answers = {}
    for key, value in form.items():
        if key.startswith("q_") and str(value).strip() != "":
            if not str(value).isdigit():
                raise InvalidInput(f"{key[2:]}: answer {str(value)[:10]!r} is not between 0 and 4")
            answers[key[2:]] = int(str(value))
    note = str(form.get("note", ""))[:2000]
    shown = assessment.assess(request.app.state.platform, person, domain, answers, note=note)
    return RedirectResponse(f"/maturity/{quote(shown.domain, safe='')}#assessment", status_code=303)


@router.post("/maturity/{domain}/propose")
async def propose(request: Request, person: SignedIn, domain: str) -> Response:
    form = await request.form(max_files=0, max_fields=40)
    check_csrf(request, str(form.get("csrf", "")))
    levels = {}
    for key, value in form.items():
        if key.startswith("t_") and str(value).strip():
            if not str(value).isdigit():
                raise InvalidInput(f"{key[2:]}: level {str(value)[:10]!r} is not a number")
            levels[key[2:]] = int(str(value))
    reason = str(form.get("reason", ""))[: target.MAX_REASON]
    shown = target.propose(request.app.state.platform, person, domain, levels, reason=reason)
    return RedirectResponse(f"/maturity/{quote(shown.domain, safe='')}#target", status_code=303)
