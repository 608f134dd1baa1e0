"""Request dependencies: the platform and who is calling, as named `Annotated` aliases."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from threshold.errors import Denied, Unauthenticated
from threshold.identity.service import Person, get_person, person_for_token
from threshold.platform import Platform

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def get_platform(request: Request) -> Platform:
    return request.app.state.platform  # type: ignore[no-any-return]


PlatformDep = Annotated[Platform, Depends(get_platform)]


def client_address(request: Request) -> str:
    """The client's address as the server sees it (behind a proxy: run uvicorn with --proxy-headers)."""
    return request.client.host if request.client else "unknown"


def session_person(request: Request) -> Person | None:
    """The person signed in to the web UI, if any."""
    name = request.session.get("user") if "session" in request.scope else None
    if not name:
        return None
    try:
        return get_person(request.app.state.platform, name)
    except Exception:
        request.session.clear()
        return None


def current_person(request: Request, platform: PlatformDep) -> Person:
    """API callers: a bearer token, or the web session (then state changes need the CSRF header)."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return person_for_token(platform, auth[7:].strip())
    person = session_person(request)
    if person is None:
        raise Unauthenticated("sign in, or send an API token as 'Authorization: Bearer <token>'")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token", "")
        expected = request.session.get("csrf", "")
        if not expected or not hmac.compare_digest(sent, expected):
            raise Denied("missing or wrong CSRF token (rule: web.csrf)")
    return person


CurrentPerson = Annotated[Person, Depends(current_person)]
