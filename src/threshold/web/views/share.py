"""Sharing a file from the browser: the form (JS uploads to the API with progress) and its no-JS post."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from threshold.errors import ThresholdError
from threshold.identity.service import Person, list_domains
from threshold.interface.bodies import accepts_upload
from threshold.interface.uploads import receive_and_share
from threshold.platform import Platform
from threshold.sharing.readers import EXTENSIONS
from threshold.sharing.service import MODES
from threshold.web.session import check_csrf, signed_in
from threshold.web.templating import page

router = APIRouter()


def _form(platform: Platform, person: Person, **values: Any) -> dict[str, Any]:
    """The form's choices: the domains this person may share into (all of them for an admin)."""
    domains = [
        {"name": d["name"], "title": d["title"]}
        for d in list_domains(platform)
        if person.is_admin or d["name"] in person.domains
    ]
    defaults = {
        "domain": person.domain or "",
        "name": "",
        "mode": "create",
        "sheet": "",
        "description": "",
        "purpose": "",
        "evolve": False,
    }
    return {
        "accept": ",".join([*sorted(EXTENSIONS), ".gz"]),  # what the readers registry can share
        "domains": domains,
        "modes": list(MODES),
        "values": defaults | values,
        "error": None,
        "results": [],
    }


@router.get("/share")
@router.get("/share.json")
def share_form(request: Request) -> Response:
    person = signed_in(request)
    data = _form(request.app.state.platform, person)
    return page(request, "share.html", data, person=person, title="Share data", nav="share")


@router.post("/share")
@accepts_upload
def share(
    request: Request,
    file: Annotated[UploadFile, File()],
    domain: Annotated[str, Form(max_length=100)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=100)] = "",
    mode: Annotated[str, Form(max_length=20)] = "create",
    sheet: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=10_000)] = "",
    purpose: Annotated[str, Form(max_length=1000)] = "",
    evolve: Annotated[bool, Form()] = False,
) -> Response:
    """The form without JavaScript: share, then go to the dataset (or show the form with the error)."""
    person = signed_in(request)
    check_csrf(request, csrf)
    platform: Platform = request.app.state.platform
    try:
        results = receive_and_share(
            platform,
            person,
            file,
            domain,
            name.strip() or None,
            mode,
            sheet.strip() or None,
            description,
            purpose,
            evolve,
        )
    except ThresholdError as e:
        values = {
            "domain": domain,
            "name": name,
            "mode": mode,
            "sheet": sheet,
            "description": description,
            "purpose": purpose,
            "evolve": evolve,
        }
        data = _form(platform, person, **values) | {"error": str(e)}
        return page(request, "share.html", data, person=person, status=e.status, title="Share data", nav="share")
    if len(results) == 1:
        return RedirectResponse(f"/datasets/{results[0].dataset}", status_code=303)
    # A workbook with several sheets becomes several datasets: list them.
    data = _form(platform, person) | {"results": [asdict(r) for r in results]}
    return page(request, "share.html", data, person=person, title="Shared", nav="share")
