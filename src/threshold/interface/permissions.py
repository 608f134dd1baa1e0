"""Who may call each route: one declared table for every API route and web page, enforced for every request.

Levels, from open to closed:
- `public`: anyone, signed in or not.
- `signed_in`: any signed-in person (web session or API token); services narrow what they see.
- `member`: members of the target's domain (and admins); the service checks the domain.
- `owner`: owners of the target's domain (and admins); the service checks the domain.
- `owner_or_governance`: as `owner`, and the governance group too (classification: tags, visibility, purposes).
- `governance`: the governance group and admins.
- `admin`: platform admins only.

A capability may declare the rules of its own routes next to them, `RULES.update({...})` at import (as
api/products.py and api/lineage.py do). `enforce`, a dependency of every route added by `create_app`, answers
401 when a non-public route has no caller, 403 when the level needs a role the caller lacks, and 403 for a
route with no declared rule (fail closed). `undeclared(app)` lists routes missing from `RULES`: the
permission test fails on any. Static files are a mount, outside this table.
"""

from __future__ import annotations

from typing import Literal

from fastapi import FastAPI, Request
from fastapi.routing import iter_route_contexts

from threshold.errors import Denied, Unauthenticated
from threshold.identity.service import Person, person_for_token

Level = Literal["public", "signed_in", "member", "owner", "owner_or_governance", "governance", "admin"]
LEVELS: tuple[Level, ...] = ("public", "signed_in", "member", "owner", "owner_or_governance", "governance", "admin")

API = "/api/v1"

RULES: dict[tuple[str, str], Level] = {
    # FastAPI's own documentation of the API (no data in it).
    ("GET", "/openapi.json"): "public",
    ("GET", "/docs"): "public",
    ("GET", "/docs/oauth2-redirect"): "public",
    ("GET", "/redoc"): "public",
    # Core API (api/routes.py).
    ("GET", f"{API}/me"): "signed_in",
    ("GET", f"{API}/datasets"): "signed_in",
    ("GET", f"{API}/datasets/{{name}}"): "signed_in",
    ("GET", f"{API}/datasets/{{name}}/usage"): "signed_in",
    ("GET", f"{API}/datasets/{{name}}/preview"): "signed_in",
    ("POST", f"{API}/query"): "signed_in",
    ("POST", f"{API}/shares"): "member",
    ("GET", f"{API}/usage"): "signed_in",
    ("GET", f"{API}/users/{{name}}/usage"): "signed_in",
    ("GET", f"{API}/domains"): "signed_in",
    # Notifications (api/notifications.py).
    ("GET", f"{API}/notifications"): "signed_in",
    ("POST", f"{API}/notifications/read"): "signed_in",
    # Governance (api/governance.py).
    ("POST", f"{API}/auth/token"): "public",
    ("GET", f"{API}/tokens"): "signed_in",
    ("DELETE", f"{API}/tokens/{{token_id}}"): "signed_in",
    ("GET", f"{API}/policies"): "signed_in",
    ("POST", f"{API}/policies"): "owner",
    ("PUT", f"{API}/datasets/{{name}}/visibility"): "owner_or_governance",
    ("PUT", f"{API}/domains/{{name}}/visibility"): "owner",
    ("PUT", f"{API}/datasets/{{name}}/purposes"): "owner_or_governance",
    ("POST", f"{API}/datasets/{{name}}/tags"): "owner_or_governance",
    ("DELETE", f"{API}/datasets/{{name}}/tags"): "owner_or_governance",
    ("GET", f"{API}/datasets/{{name}}/explain"): "signed_in",
    ("POST", f"{API}/requests"): "signed_in",
    ("GET", f"{API}/requests"): "signed_in",
    ("GET", f"{API}/inbox"): "signed_in",
    ("POST", f"{API}/requests/{{request_id}}/approve"): "owner",
    ("POST", f"{API}/requests/{{request_id}}/deny"): "owner",
    ("GET", f"{API}/grants"): "signed_in",
    ("DELETE", f"{API}/grants/{{grant_id}}"): "owner",
    ("GET", f"{API}/audit"): "signed_in",
    ("GET", f"{API}/governance/time-to-access"): "signed_in",
    ("GET", f"{API}/governance/pending"): "governance",
    # Web pages: signing in (views/auth.py).
    ("GET", "/login"): "public",
    ("POST", "/login"): "public",
    ("POST", "/logout"): "public",
    # Web pages: finding data, sharing, querying, my activity.
    ("GET", "/"): "signed_in",
    ("GET", "/index.json"): "signed_in",
    ("GET", "/datasets"): "signed_in",
    ("GET", "/datasets.json"): "signed_in",
    ("GET", "/datasets/{name}"): "signed_in",
    ("GET", "/share"): "signed_in",
    ("GET", "/share.json"): "signed_in",
    ("POST", "/share"): "member",
    ("GET", "/query"): "signed_in",
    ("GET", "/query.json"): "signed_in",
    ("POST", "/query"): "signed_in",
    ("POST", "/query.json"): "signed_in",
    ("POST", "/query/download"): "signed_in",
    ("GET", "/me"): "signed_in",
    ("GET", "/me.json"): "signed_in",
    # Web pages: governance (views/governance.py).
    ("GET", "/governance"): "signed_in",
    ("GET", "/governance.json"): "signed_in",
    ("GET", "/governance/history"): "signed_in",
    ("GET", "/governance/history.json"): "signed_in",
    ("POST", "/governance/policies"): "owner",
    ("GET", "/inbox"): "signed_in",
    ("GET", "/inbox.json"): "signed_in",
    ("POST", "/requests"): "signed_in",
    ("POST", "/requests/{request_id}/approve"): "owner",
    ("POST", "/requests/{request_id}/deny"): "owner",
    ("POST", "/grants/{grant_id}/revoke"): "owner",
    ("GET", "/explain/{name}"): "signed_in",
    ("GET", "/audit"): "signed_in",
    ("GET", "/audit.json"): "signed_in",
}
"""(method, path template) -> level. HEAD is answered as GET."""


def level_of(method: str, path: str) -> Level | None:
    return RULES.get(("GET" if method == "HEAD" else method, path))


def routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path template) the app answers, static files excepted."""
    out: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        methods = getattr(context, "methods", None)
        if not methods or context.path is None:
            continue  # a mount (static files)
        out.update((m, context.path) for m in methods if m != "HEAD")
    return sorted(out)


def undeclared(app: FastAPI) -> list[str]:
    """Routes of `app` without a rule in `RULES` (a new route must declare who may call it)."""
    return [f"{m} {p}" for m, p in routes(app) if level_of(m, p) is None]


def caller(request: Request) -> Person | None:
    """Who is calling: an API token wins over the web session; None when neither."""
    from threshold.interface.deps import session_person

    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return person_for_token(request.app.state.platform, auth[7:].strip())
    return session_person(request)


def allows(level: Level, person: Person | None) -> bool:
    """Whether `level` lets `person` reach the route (owner and member levels: the service checks the target)."""
    if level == "public":
        return True
    if person is None:
        return False
    if level == "governance":
        return person.is_governance or person.is_admin
    if level == "admin":
        return person.is_admin
    return True


def enforce(request: Request) -> None:
    """The route's declared level, checked before anything else of the route runs."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    level = level_of(request.method, path) if path else None
    if level is None:
        raise Denied(f"no permission is declared for {request.method} {path} (rule: route.undeclared)")
    if level == "public":
        return
    person = caller(request)
    if person is None:
        if request.url.path.startswith(API + "/"):
            raise Unauthenticated("sign in, or send an API token as 'Authorization: Bearer <token>'")
        raise Unauthenticated("sign in to see this page")
    if not allows(level, person):
        raise Denied(
            f"{person.name} may not call {request.method} {path}: it needs the {level} level (rule: route.{level})"
        )
