"""Every route × every role answers what its declared permission implies (interface/permissions.py).

Each route declares its action with `Requires(...)` in its signature; the level of an action (its audience in
threshold/access/actions.py) says who may call the route before its target is known.

`CASES` holds one realistic call per route of the core, notification and governance interfaces (path
parameters, body, the status when allowed). The walk calls each route as anonymous, carla (a plain member of
sales), anna (owner of manufacturing, the target domain of every case), gina (governance group, no domain)
and the admin, and expects:
- `public`: the allowed status for everyone;
- otherwise anonymous: 401 from the API and the JSON twins, a redirect to /login from pages;
- `signed_in`: allowed for all four people; `member`/`owner`: anna and the admin, 403 for the others;
  `owner_or_governance`: anna, gina and the admin; `governance`: gina and the admin; `admin`: the admin.
Routes of other capabilities without a case here are walked with generated calls (path parameters by name,
empty bodies) and checked for what the route level alone decides: 401 for anonymous, 403 below a
`governance`/`admin` level, never 401 for a person nor a server error.
A route without a declaration fails `test_every_route_declares_who_may_call_it`, and is refused at runtime.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from lasting_loop import LastingLoop
from threshold.api.app import create_app
from threshold.governance import controls
from threshold.governance import requests as access
from threshold.identity.service import add_user, create_token, get_person, set_password
from threshold.interface.permissions import level_of, route_rules, routes, undeclared

KPIS = "manufacturing.plant_kpis"
ROLES = ("anonymous", "carla", "anna", "gina", "admin")
ALLOWED = {
    "signed_in": {"carla", "anna", "gina", "admin"},
    "member": {"anna", "admin"},
    "owner": {"anna", "admin"},
    "owner_or_governance": {"anna", "gina", "admin"},
    "governance": {"gina", "admin"},
    "admin": {"admin"},
}
EMPTY_POLICY = "domain: manufacturing\npolicies: []\n"
_serial = itertools.count(1)


@dataclass
class Case:
    """One call of a route: `url` (or a function of the walk and the role giving it), request keywords, and
    the status when the role may call it. `fresh`: use a new client signed in as the role (sign-in, sign-out)."""

    url: str | Callable[[Walk, str], str]
    ok: int | tuple[int, ...] = 200
    json: Any = None
    """A body, or a function giving a fresh one."""
    form: dict[str, Any] | Callable[[], dict[str, Any]] | None = None
    files: Callable[[], dict[str, Any]] | None = None
    fresh: bool = False


def _unique(prefix: str) -> str:
    return f"{prefix}{next(_serial)}"


def _csv() -> dict[str, Any]:
    return {"file": (f"walk_{next(_serial)}.csv", b"plant,units\nBerlin,3\n", "text/csv")}


def _pending(walk: Walk) -> int:
    """A fresh request of ben's, waiting for manufacturing's owners."""
    return int(access.request_access(walk.platform, walk.ben, KPIS, purpose=_unique("walk ")).id)


def _grant(walk: Walk) -> int:
    return int(access.approve(walk.platform, walk.anna, _pending(walk)).grant)


def _tagged(walk: Walk) -> str:
    controls.tag(walk.platform, walk.anna, KPIS, "walk")
    return f"/api/v1/datasets/{KPIS}/tags?tag=walk"


CASES: dict[tuple[str, str], Case] = {
    ("GET", "/openapi.json"): Case("/openapi.json"),
    ("GET", "/docs"): Case("/docs"),
    ("GET", "/redoc"): Case("/redoc"),
    # Core API.
    ("GET", "/api/v1/me"): Case("/api/v1/me"),
    ("GET", "/api/v1/datasets"): Case("/api/v1/datasets?q=plant"),
    ("GET", "/api/v1/datasets/{name}"): Case(f"/api/v1/datasets/{KPIS}"),
    ("GET", "/api/v1/datasets/{name}/usage"): Case(f"/api/v1/datasets/{KPIS}/usage"),
    ("GET", "/api/v1/datasets/{name}/preview"): Case(f"/api/v1/datasets/{KPIS}/preview?limit=2"),
    ("POST", "/api/v1/query"): Case("/api/v1/query", json={"sql": f"SELECT plant FROM {KPIS}"}),
    ("POST", "/api/v1/shares"): Case("/api/v1/shares", form={"domain": "manufacturing"}, files=_csv),
    ("GET", "/api/v1/usage"): Case("/api/v1/usage"),
    # One's own usage (anyone signed in); another person's is for admins and the governance group only.
    ("GET", "/api/v1/users/{name}/usage"): Case(lambda w, role: f"/api/v1/users/{role}/usage"),
    ("GET", "/api/v1/domains"): Case("/api/v1/domains"),
    ("GET", "/api/v1/notifications"): Case("/api/v1/notifications"),
    ("POST", "/api/v1/notifications/read"): Case("/api/v1/notifications/read", json={}),
    ("GET", "/api/v1/home"): Case("/api/v1/home"),
    ("GET", "/api/v1/home/waiting"): Case("/api/v1/home/waiting"),
    # Governance API.
    ("POST", "/api/v1/auth/token"): Case("/api/v1/auth/token", json={"user": "carla", "password": "carla-pass"}),
    ("GET", "/api/v1/tokens"): Case("/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/{token_id}"): Case(lambda w, role: f"/api/v1/tokens/{w.new_token(role)}"),
    ("GET", "/api/v1/policies"): Case("/api/v1/policies"),
    ("POST", "/api/v1/policies"): Case("/api/v1/policies", json={"text": EMPTY_POLICY, "reason": "walk"}),
    ("POST", "/api/v1/policies/plan"): Case("/api/v1/policies/plan", json={"text": EMPTY_POLICY}),
    ("PUT", "/api/v1/datasets/{name}/visibility"): Case(
        f"/api/v1/datasets/{KPIS}/visibility", json={"visibility": "open"}
    ),
    ("PUT", "/api/v1/domains/{name}/visibility"): Case(
        "/api/v1/domains/manufacturing/visibility", json={"visibility": "open"}
    ),
    ("PUT", "/api/v1/datasets/{name}/purposes"): Case(f"/api/v1/datasets/{KPIS}/purposes", json={"purposes": []}),
    ("POST", "/api/v1/datasets/{name}/tags"): Case(f"/api/v1/datasets/{KPIS}/tags", json={"tag": "walk"}),
    ("DELETE", "/api/v1/datasets/{name}/tags"): Case(lambda w, role: _tagged(w)),
    ("GET", "/api/v1/datasets/{name}/explain"): Case(f"/api/v1/datasets/{KPIS}/explain?purpose=reporting"),
    ("POST", "/api/v1/requests"): Case("/api/v1/requests", json=lambda: {"dataset": KPIS, "purpose": _unique("walk ")}),
    ("GET", "/api/v1/requests"): Case("/api/v1/requests"),
    ("GET", "/api/v1/inbox"): Case("/api/v1/inbox"),
    ("POST", "/api/v1/requests/{request_id}/approve"): Case(
        lambda w, role: f"/api/v1/requests/{_pending(w)}/approve", json={}
    ),
    ("POST", "/api/v1/requests/{request_id}/deny"): Case(
        lambda w, role: f"/api/v1/requests/{_pending(w)}/deny", json={"reason": "walk"}
    ),
    ("GET", "/api/v1/grants"): Case("/api/v1/grants"),
    ("DELETE", "/api/v1/grants/{grant_id}"): Case(lambda w, role: f"/api/v1/grants/{_grant(w)}"),
    ("GET", "/api/v1/audit"): Case(f"/api/v1/audit?dataset={KPIS}"),
    ("GET", "/api/v1/governance/time-to-access"): Case("/api/v1/governance/time-to-access"),
    ("GET", "/api/v1/governance/pending"): Case("/api/v1/governance/pending"),
    # Web: signing in and out (a signed-in person asking for /login is sent on).
    ("GET", "/login"): Case("/login", ok=(200, 303), fresh=True),
    ("POST", "/login"): Case("/login", ok=303, form={"username": "carla", "password": "carla-pass"}, fresh=True),
    ("POST", "/logout"): Case("/logout", ok=303, form={}, fresh=True),
    # Web pages.
    ("GET", "/"): Case("/"),
    ("GET", "/index.json"): Case("/index.json"),
    ("GET", "/datasets"): Case("/datasets?q=plant"),
    ("GET", "/datasets.json"): Case("/datasets.json?q=plant"),
    ("GET", "/datasets/{name}"): Case(f"/datasets/{KPIS}"),
    ("GET", "/share"): Case("/share"),
    ("GET", "/share.json"): Case("/share.json"),
    ("POST", "/share"): Case("/share", ok=303, form={"domain": "manufacturing"}, files=_csv),
    ("GET", "/query"): Case("/query"),
    ("GET", "/query.json"): Case("/query.json"),
    ("POST", "/query"): Case("/query", form={"sql": f"SELECT plant FROM {KPIS}"}),
    ("POST", "/query.json"): Case("/query.json", form={"sql": f"SELECT plant FROM {KPIS}"}),
    ("POST", "/query/download"): Case("/query/download?format=csv", form={"sql": f"SELECT plant FROM {KPIS}"}),
    ("GET", "/me"): Case("/me"),
    ("GET", "/me.json"): Case("/me.json"),
    ("GET", "/governance"): Case("/governance"),
    ("GET", "/governance.json"): Case("/governance.json"),
    ("GET", "/governance/history"): Case("/governance/history"),
    ("GET", "/governance/history.json"): Case("/governance/history.json"),
    ("POST", "/governance/policies"): Case("/governance/policies", form={"text": EMPTY_POLICY, "reason": "walk"}),
    ("GET", "/inbox"): Case("/inbox"),
    ("GET", "/inbox.json"): Case("/inbox.json"),
    ("POST", "/requests"): Case("/requests", ok=303, form=lambda: {"dataset": KPIS, "purpose": _unique("walk ")}),
    ("POST", "/requests/{request_id}/approve"): Case(
        lambda w, role: f"/requests/{_pending(w)}/approve", ok=303, form={}
    ),
    ("POST", "/requests/{request_id}/deny"): Case(
        lambda w, role: f"/requests/{_pending(w)}/deny", ok=303, form={"reason": "walk"}
    ),
    ("POST", "/grants/{grant_id}/revoke"): Case(lambda w, role: f"/grants/{_grant(w)}/revoke", ok=303, form={}),
    ("GET", "/explain/{name}"): Case(f"/explain/{KPIS}"),
    ("GET", "/audit"): Case("/audit"),
    ("GET", "/audit.json"): Case("/audit.json"),
}


class _Csrf(HTMLParser):
    """The CSRF token a page carries in its `<meta name="csrf-token">`."""

    def __init__(self) -> None:
        super().__init__()
        self.token = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "meta" and a.get("name") == "csrf-token":
            self.token = a.get("content") or ""


@dataclass
class Walk:
    org: Any
    app: Any
    runner: LastingLoop
    tokens: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, tuple[httpx.AsyncClient, str]] = field(default_factory=dict)

    @property
    def platform(self) -> Any:
        return self.org.platform

    @property
    def anna(self) -> Any:
        return self.org.anna

    @property
    def ben(self) -> Any:
        return self.org.ben

    def new_token(self, role: str) -> int:
        return create_token(self.platform, role if role != "anonymous" else "carla")[0]

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)  # a crash is a 500 to check
        return httpx.AsyncClient(transport=transport, base_url="http://test")

    def signed_in(self, role: str) -> tuple[httpx.AsyncClient, str]:
        """A new web client with `role`'s session (none for anonymous) and the session's CSRF token."""
        client = self.client()
        page = self.runner.run(client.get("/login"))
        if role != "anonymous":
            form = {"csrf": _csrf_of(page.text), "username": role, "password": f"{role}-pass", "next": "/"}
            assert self.runner.run(client.post("/login", data=form)).status_code == 303
            page = self.runner.run(client.get("/"))
        return client, _csrf_of(page.text)

    def call(self, method: str, path: str, role: str, case: Case | None = None) -> httpx.Response:
        case = case or CASES[(method, path)]
        url = case.url(self, role) if callable(case.url) else case.url
        kwargs: dict[str, Any] = {}
        if case.json is not None:
            kwargs["json"] = case.json() if callable(case.json) else case.json
        if case.files is not None:
            kwargs["files"] = case.files()
        web = not path.startswith("/api/") and path not in ("/openapi.json", "/docs", "/redoc")
        if web:
            if case.fresh or role not in self.sessions:
                session = self.signed_in(role)
                if not case.fresh:
                    self.sessions[role] = session
            else:
                session = self.sessions[role]
            client, csrf = session
            if method != "GET":
                form = case.form() if callable(case.form) else dict(case.form or {})
                kwargs["data"] = form | {"csrf": csrf}
            return self.runner.run(client.request(method, url, **kwargs))
        if case.form is not None:
            kwargs["data"] = case.form() if callable(case.form) else case.form
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role != "anonymous" else {}
        client = self.client()
        try:
            return self.runner.run(client.request(method, url, headers=headers, **kwargs))
        finally:
            self.runner.run(client.aclose())


def _csrf_of(html: str) -> str:
    parser = _Csrf()
    parser.feed(html)
    assert parser.token, "the page carries no CSRF token"
    return parser.token


def _walk(org: Any) -> Iterator[Walk]:
    platform = org.platform
    add_user(platform, "gina", display_name="Gina", governance=True, password="gina-pass")
    set_password(platform, "admin", "admin-pass")
    assert get_person(platform, "gina").is_governance
    w = Walk(org, create_app(platform), LastingLoop())
    try:
        w.tokens = {role: create_token(platform, role)[1] for role in ROLES if role != "anonymous"}
        yield w
        for client, _ in w.sessions.values():
            w.runner.run(client.aclose())
    finally:
        w.runner.close()


@pytest.fixture(scope="module")
def walk(module_org: Any) -> Iterator[Walk]:
    """The walk of `CASES`, on one organisation for the module (the cases leave it as they found it)."""
    yield from _walk(module_org)


@pytest.fixture
def fresh_walk(org: Any) -> Iterator[Walk]:
    """A walk on an organisation of its own (generated calls may change what they touch)."""
    yield from _walk(org)


def test_every_route_declares_who_may_call_it(walk: Walk) -> None:
    assert undeclared(walk.app) == [], "declare who may call these routes: a Requires(...) in their signature"
    served = set(routes(walk.app))
    assert set(route_rules(walk.app)) == served
    assert sorted(f"{m} {p}" for m, p in set(CASES) - served) == [], "cases for routes that do not exist"


def test_an_undeclared_route_is_closed(org: Any) -> None:
    app = create_app(org.platform)

    @app.get("/api/v1/probe")
    def probe() -> dict[str, str]:
        return {"secret": "no permission was declared for this route"}

    assert undeclared(app) == ["GET /api/v1/probe"]
    token = create_token(org.platform, "admin")[1]
    runner = asyncio.Runner()
    try:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        for headers in ({}, {"Authorization": f"Bearer {token}"}):
            r = runner.run(client.get("/api/v1/probe", headers=headers))
            assert r.status_code == 403
            assert r.json()["detail"] == "no permission is declared for GET /api/v1/probe (rule: route.undeclared)"
        runner.run(client.aclose())
    finally:
        runner.close()


def test_the_dependencies_every_request_resolves_run_on_the_event_loop(org: Any) -> None:
    """A plain-function dependency runs on a worker thread: for the ones every route resolves (the
    fail-closed check, the platform) that is two thread hops per request, a flood's 429s included
    (BENCHMARKS.md: 430 -> 180 us of CPU per refusal without them)."""
    from threshold.interface.deps import get_platform

    app = create_app(org.platform)
    everywhere = [d.dependency for d in app.router.dependencies] + [get_platform]
    assert everywhere and all(asyncio.iscoroutinefunction(call) for call in everywhere)
    from fastapi.routing import iter_route_contexts

    query = next(c.original_route for c in iter_route_contexts(app.routes) if c.path == "/api/v1/query")

    def solved(dependant: Any) -> list[Any]:  # in the order FastAPI resolves them: sub-dependencies first
        return [call for d in dependant.dependencies for call in (*solved(d), d.call)]

    calls = solved(query.dependant)  # type: ignore[attr-defined]
    first_sync = next(i for i, call in enumerate(calls) if not asyncio.iscoroutinefunction(call))
    known = next(i for i, call in enumerate(calls) if getattr(call, "__name__", "") == "refuse_known")
    assert known < first_sync  # a refusal from memory is answered before any dependency needs a thread


def _expected(level: str, role: str, web_page: bool, ok: int | tuple[int, ...]) -> tuple[int, ...]:
    allowed = ok if isinstance(ok, tuple) else (ok,)
    if level == "public":
        return allowed
    if role == "anonymous":
        return (303,) if web_page else (401,)
    return allowed if role in ALLOWED[level] else (403,)


@pytest.mark.parametrize(("method", "path"), sorted(CASES), ids=[f"{m} {p}" for m, p in sorted(CASES)])
def test_route_answers_each_role_as_declared(walk: Walk, method: str, path: str) -> None:
    level = level_of(walk.app, method, path)
    assert level is not None, f"{method} {path} has no declared rule"
    case = CASES[(method, path)]
    web_page = not path.startswith("/api/") and not path.endswith(".json") and "/docs" not in path
    for role in ROLES:
        r = walk.call(method, path, role)
        expected = _expected(level, role, web_page, case.ok)
        assert r.status_code in expected, f"{method} {path} as {role} ({level}): {r.status_code} {r.text[:300]}"
        if role == "anonymous" and level != "public" and web_page:
            assert r.headers["location"].startswith("/login?next="), r.headers.get("location")
        if r.status_code in (401, 403) and r.headers["content-type"].startswith("application/json"):
            detail = r.json()["detail"]
            assert isinstance(detail, str) and "\n" not in detail


PARAMETERS = {"domain": "manufacturing", "column": "plant", "user": "carla"}
"""Values of path parameters by name in generated calls; `*_id`: 1; anything else names the dataset."""


def generated_case(method: str, path: str) -> Case:
    """A call of a route without a case: path parameters by name, an empty body."""
    url = path
    for name in [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]:
        value = PARAMETERS.get(name) or ("1" if name.endswith("_id") else KPIS)
        if name == "name" and ("/domains/" in path or "/users/" in path):
            value = "manufacturing" if "/domains/" in path else "carla"
        url = url.replace("{" + name + "}", value)
    if method == "GET":
        return Case(url)
    if path.startswith("/api/"):
        return Case(url, json={})
    return Case(url, form={})


def test_every_other_route_answers_what_its_level_decides(fresh_walk: Walk) -> None:
    problems = []
    others = [(m, p) for m, p in routes(fresh_walk.app) if (m, p) not in CASES]
    for method, path in others:
        level = level_of(fresh_walk.app, method, path)
        web_page = not path.startswith("/api/") and not path.endswith(".json")
        for role in ROLES:
            r = fresh_walk.call(method, path, role, generated_case(method, path))
            status = r.status_code
            if status >= 500:
                problems.append(f"{method} {path} as {role}: {status} {r.text[:200]}")
            elif level == "public" or level is None:
                continue
            elif role == "anonymous":
                login = status == 303 and r.headers.get("location", "").startswith("/login?next=")
                if not (login if web_page else status == 401):
                    problems.append(f"{method} {path} as anonymous ({level}): {status}, not a sign-in answer")
            elif status == 401:
                problems.append(f"{method} {path} as {role}: 401 for a signed-in person")
            elif level in ("governance", "admin") and (status == 403) != (role not in ALLOWED[level]):
                problems.append(f"{method} {path} as {role} ({level}): {status}")
    assert problems == []
