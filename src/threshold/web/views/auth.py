"""Sign in and sign out."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from threshold.errors import Busy, Unauthenticated
from threshold.identity.service import authenticate, demo_people
from threshold.interface.deps import client_address, session_person
from threshold.interface.errors import error_headers
from threshold.interface.permissions import Public
from threshold.web import i18n
from threshold.web.session import check_csrf, csrf_token, safe_next, sign_in
from threshold.web.templating import page

router = APIRouter()


@router.get("/login")
def login_form(request: Request, caller: Public, next: str = "/") -> Response:
    target = safe_next(next)
    if session_person(request) is not None:
        return RedirectResponse(target, status_code=303)
    csrf_token(request)
    data = {"next": target, "error": None, "username": "", "demo_people": _demo(request)}
    return page(request, "login.html", data, person=None, title=i18n.Text("Sign in"))


@router.post("/login")
def login(
    request: Request,
    caller: Public,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(request, csrf)
    target = safe_next(next)
    try:
        person = authenticate(request.app.state.platform, username.strip(), password, address=client_address(request))
    except (Unauthenticated, Busy) as e:
        data = {"next": target, "error": str(e), "username": username.strip(), "demo_people": _demo(request)}
        response = page(request, "login.html", data, person=None, status=e.status, title=i18n.Text("Sign in"))
        response.headers.update(error_headers(e))
        return response
    sign_in(request, person)
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request, caller: Public, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    check_csrf(request, csrf)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def _demo(request: Request) -> list[dict[str, str]]:
    """The demo's people (name, role, password hint) when this home is the demo; nobody on any other home."""
    return [asdict(p) for p in demo_people(request.app.state.platform)]
