"""My activity: what the signed-in person used, and their latest queries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from threshold.identity.service import LANGUAGES, language_of, set_language
from threshold.interface.permissions import SignedIn
from threshold.usage import service as usage
from threshold.web import i18n
from threshold.web.session import check_csrf
from threshold.web.templating import page

router = APIRouter()


@router.get("/me")
@router.get("/me.json")
def me(request: Request, person: SignedIn) -> Response:
    data = usage.person_usage(request.app.state.platform, person.name, viewer=person).to_json() | {
        "display_name": person.display_name,
        "domains": list(person.domains),
        "owner_of": list(person.owner_of),
        "language": language_of(request.app.state.platform, person.name),
        "languages": list(LANGUAGES),
    }
    return page(request, "me.html", data, person=person, title=i18n.Text("My activity"), nav="me")


@router.post("/me/language")
def choose_language(
    request: Request,
    person: SignedIn,
    language: Annotated[str, Form(max_length=10)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The person's interface language, kept with them (and in this session at once)."""
    check_csrf(request, csrf)
    request.session["language"] = set_language(request.app.state.platform, person, language)
    return RedirectResponse("/me", status_code=303)
