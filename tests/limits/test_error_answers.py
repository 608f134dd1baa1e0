"""A path no route answers costs a flood no routing scan and no store statement, and is answered exactly as
the router's own 404 (status, body, headers; the German error page for a German browser)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from threshold.api.app import create_app
from threshold.identity.service import create_token
from threshold.interface.permissions import routes
from threshold.interface.unrouted import Unrouted

GERMAN = {"Accept": "text/html", "Accept-Language": "de-DE,de;q=0.9"}
UNKNOWN = [  # (method, path, headers): requests no route answers
    ("GET", "/api/v1/nowhere", {}),
    ("POST", "/api/v1/nowhere", {"Content-Type": "application/json"}),
    ("DELETE", "/api/v1/datasets/manufacturing.plant_kpis/nowhere/else", {}),
    ("GET", "/api/v2/datasets", {}),
    ("GET", "/nowhere", GERMAN),
    ("GET", "/nowhere", {"Accept-Language": "en"}),
    ("GET", "/nowhere.json", {}),
    ("HEAD", "/datasets/a/b/c/d", GERMAN),
    ("GET", "/staticfiles/app.css", {}),
]


def _answers(app: Any, requests: list[tuple[str, str, dict[str, str]]], token: str | None) -> list[Any]:
    async def go() -> list[Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://threshold.test") as client:
            out = []
            for method, path, headers in requests:
                auth = {"Authorization": f"Bearer {token}"} if token and path.startswith("/api/") else {}
                r = await client.request(method, path, headers=headers | auth)
                out.append((r.status_code, sorted(r.headers.items()), r.content))
            return out

    return asyncio.run(go())


def _without_shortcut(platform: Any) -> Any:
    """The same app with the router answering every path itself (the middleware stack is built at first call)."""
    app = create_app(platform)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not Unrouted]
    return app


@pytest.fixture
def token(org: Any) -> str:
    return create_token(org.platform, "ben")[1]


def test_an_unknown_path_is_answered_exactly_as_the_router_answers_it(org: Any, token: str) -> None:
    shortcut = _answers(create_app(org.platform), UNKNOWN, token)
    router = _answers(_without_shortcut(org.platform), UNKNOWN, token)
    assert [a[0] for a in shortcut] == [404] * len(UNKNOWN)
    assert shortcut == router
    assert shortcut[0][2] == b'{"detail":"Not Found"}'
    german = shortcut[4][2].decode()
    assert "Nicht gefunden" in german and "Zurück zur Startseite" in german
    assert "Not found" in shortcut[5][2].decode()


def test_an_unknown_path_runs_no_store_statement(org: Any, token: str) -> None:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    app = create_app(org.platform)
    _answers(app, UNKNOWN[:1], token)  # the app's first request builds what it keeps
    event.listen(org.platform.store.engine, "before_cursor_execute", seen)
    try:
        answers = _answers(app, UNKNOWN * 3, token)
    finally:
        event.remove(org.platform.store.engine, "before_cursor_execute", seen)
    assert [a[0] for a in answers] == [404] * len(UNKNOWN) * 3
    assert statements == []
    # The control: a known route with the same token authenticates (reads the store).
    assert _answers(app, [("GET", "/api/v1/me", {})], token)[0][0] == 200


def _example(template: str) -> str:
    """A concrete path a route template matches: every parameter filled with a plain value."""
    return re.sub(
        r"\{[^}:]+:path\}", "a/b", re.sub(r"\{[^}:]+(:(int|float))\}", "1", re.sub(r"\{[^}:]+\}", "x", template))
    )


def test_every_route_and_its_slash_twin_still_reach_the_router(org: Any) -> None:
    app = create_app(org.platform)
    unrouted = Unrouted(app.router, routes_of=app)
    paths = [_example(path) for _, path in routes(app)]
    assert len(paths) > 100
    assert [p for p in paths if not unrouted.routed(p)] == []
    assert [p for p in paths if p != "/" and not unrouted.routed(p.rstrip("/") if p.endswith("/") else p + "/")] == []
    assert unrouted.routed("/static/app.css") and unrouted.routed("/static")  # the mount, and its redirect
    assert [p for _, p, _ in UNKNOWN if unrouted.routed(p)] == []


def test_a_redirect_to_the_slash_twin_is_kept(org: Any, token: str) -> None:
    ((status, headers, _),) = _answers(create_app(org.platform), [("GET", "/api/v1/me/", {})], token)
    assert status == 307 and dict(headers)["location"] == "http://threshold.test/api/v1/me"
