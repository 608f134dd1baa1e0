"""A request no route takes (unknown path: 404, wrong method: 405) costs a flood no routing scan and no store
statement, and is answered exactly as the router's own refusal (status, body, headers; the German error
page for a German browser)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from limits_support import store_statements
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
WRONG_METHOD = [  # requests whose path routes match, none of them taking the method
    ("GET", "/api/v1/query", {}),
    ("DELETE", "/api/v1/me", {}),
    ("PROPFIND", "/api/v1/datasets", {}),
    ("PUT", "/datasets", GERMAN),
    ("PATCH", "/datasets.json", {}),
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


def test_a_method_no_route_takes_is_answered_exactly_as_the_router_answers_it(org: Any, token: str) -> None:
    shortcut = _answers(create_app(org.platform), WRONG_METHOD, token)
    router = _answers(_without_shortcut(org.platform), WRONG_METHOD, token)
    assert [a[0] for a in shortcut] == [405] * len(WRONG_METHOD)
    assert shortcut == router
    assert shortcut[0][2] == b'{"detail":"Method Not Allowed"}' and ("allow", "POST") in shortcut[0][1]
    assert "Hier nicht erlaubt" in shortcut[3][2].decode()


def test_an_unknown_path_or_method_runs_no_store_statement(org: Any, token: str) -> None:
    app = create_app(org.platform)
    _answers(app, UNKNOWN[:1], token)  # the app's first request builds what it keeps
    with store_statements(org.platform.store) as statements:
        answers = _answers(app, (UNKNOWN + WRONG_METHOD) * 3, token)
    assert [a[0] for a in answers] == ([404] * len(UNKNOWN) + [405] * len(WRONG_METHOD)) * 3
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
    requests = [(method, _example(path)) for method, path in routes(app)]
    assert len(requests) > 100
    assert [r for r in requests if unrouted.answer(*r) is not None] == []
    twins = [(m, p.rstrip("/") if p.endswith("/") else p + "/") for m, p in requests if p != "/"]
    assert [r for r in twins if unrouted.answer(*r) == (404, "")] == []  # the router redirects them
    for method in ("GET", "POST", "PROPFIND"):  # the mount takes every method, and redirects its bare path
        assert unrouted.answer(method, "/static/app.css") is None and unrouted.answer(method, "/static") is None
    assert [unrouted.answer(m, p) for m, p, _ in UNKNOWN] == [(404, "")] * len(UNKNOWN)
    assert [unrouted.answer(m, p) for m, p, _ in WRONG_METHOD][:2] == [(405, "POST"), (405, "GET")]


def test_a_redirect_to_the_slash_twin_is_kept(org: Any, token: str) -> None:
    ((status, headers, _),) = _answers(create_app(org.platform), [("GET", "/api/v1/me/", {})], token)
    assert status == 307 and dict(headers)["location"] == "http://threshold.test/api/v1/me"


def test_a_request_without_credentials_is_refused_without_a_store_statement(org: Any) -> None:
    app = create_app(org.platform)
    anonymous = [("GET", "/api/v1/me", {}), ("POST", "/api/v1/query", {}), ("GET", "/datasets", GERMAN)]
    _answers(app, anonymous[:1], None)
    with store_statements(org.platform.store) as statements:
        (me, query, page) = _answers(app, anonymous, None)
    detail = (
        b'{"detail":"sign in, or send an API token as \'Authorization: Bearer <token>\'","error":"Unauthenticated"}'
    )
    assert (me[0], me[2]) == (query[0], query[2]) == (401, detail)
    assert page[0] == 303 and dict(page[1])["location"] == "/login?next=/datasets"
    assert statements == []


def test_a_wrong_token_is_still_looked_up_and_refused(org: Any) -> None:
    app = create_app(org.platform)
    with store_statements(org.platform.store) as statements:
        ((status, _, body),) = _answers(app, [("GET", "/api/v1/me", {})], "not-a-token-anyone-has")
    assert (status, body) == (401, b'{"detail":"invalid or revoked API token","error":"Unauthenticated"}')
    assert any("api_tokens" in s for s in statements)


def test_a_refusal_with_a_valid_token_is_decided_on_the_event_loop_without_a_session(
    org: Any, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refusal of a signed-in caller (a 403, a 422 of a query parameter or a body, on a route with a dataset in
    its path too) reads the token and the metadata version (quick reads), and nothing through a session: the
    person and the path's dataset are kept for the version, and the decision is made without a hop to a worker
    thread. The token is still read each time (a revocation counts at once)."""
    import threshold.interface.permissions as permissions

    app = create_app(org.platform)
    requests = [
        ("GET", "/api/v1/admin/doctor", {}),
        ("GET", "/api/v1/datasets?per_page=0", {}),
        ("POST", "/api/v1/query", {"Content-Type": "application/json"}),
        ("PUT", "/api/v1/datasets/manufacturing.plant_kpis/visibility", {"Content-Type": "application/json"}),
    ]
    first = _answers(app, requests, token)  # the person and the dataset as ben may know it, kept
    hops: list[str] = []

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(func, "__qualname__", repr(func)))
        return func(*args, **kwargs)

    monkeypatch.setattr(permissions, "run_in_threadpool", counted)
    engine: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        engine.append(statement)

    event.listen(org.platform.store.engine, "before_cursor_execute", seen)
    try:
        with store_statements(org.platform.store) as statements:
            again = _answers(app, requests, token)
    finally:
        event.remove(org.platform.store.engine, "before_cursor_execute", seen)
    assert [a[0] for a in again] == [403, 422, 422, 403] and again == first
    assert (hops, engine) == ([], [])
    assert sum("api_tokens" in s for s in statements) == len(requests)
