"""Signing in to the web UI, the CSRF token of the session, and safe redirect targets (who may open a page is
declared by the page: `interface/permissions.py`)."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import quote, urlsplit

from fastapi import Request

from threshold.errors import Denied
from threshold.identity.service import Person, language_of


def sign_in(request: Request, person: Person) -> None:
    """A new session for `person`: nothing of the anonymous session survives (no fixation)."""
    request.session.clear()
    request.session["user"] = person.name
    request.session["csrf"] = secrets.token_urlsafe(32)
    request.session["language"] = language_of(request.app.state.platform, person.name)


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (the login form needs one before sign-in)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


def check_csrf(request: Request, sent: str | None) -> None:
    """Every state-changing form carries the session's token (hidden field or X-CSRF-Token header)."""
    sent = sent or request.headers.get("x-csrf-token", "")
    expected = request.session.get("csrf", "")
    if not expected or not sent or not hmac.compare_digest(str(sent), str(expected)):
        raise Denied("the form expired or came from another site; reload the page and try again (rule: web.csrf)")


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target that stays on this site: a local path, never `//host` or `/\\host`."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ch in target for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def login_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(safe_next(here), safe="/")
