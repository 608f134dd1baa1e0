"""My activity: what the signed-in person used, and their latest queries."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from threshold.interface.permissions import SignedIn
from threshold.usage import service as usage
from threshold.web.templating import page

router = APIRouter()


@router.get("/me")
@router.get("/me.json")
def me(request: Request, person: SignedIn) -> Response:
    data = usage.person_usage(request.app.state.platform, person.name, viewer=person) | {
        "display_name": person.display_name,
        "domains": list(person.domains),
        "owner_of": list(person.owner_of),
    }
    return page(request, "me.html", data, person=person, title="My activity", nav="me")
