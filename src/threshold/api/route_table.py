"""The app's routes (REST API, documentation, static files, pages), built once per process and shared by
every app `create_app` makes.

What a route is depends only on the code: its path, its endpoint, the dependency graph FastAPI builds
from its signature (pydantic adapters for every parameter: ~0.4 s of CPU for the ~300 routes) and the
permission it declares. FastAPI builds that graph per inclusion, that is per app, so a process that
makes many apps (the tests: one per test, a worker pool, the demo) paid it each time. Here the routers
are included once into one `APIRouter` that holds no app: every app puts the same included routers in
its own list of routes (routes added to one app stay that app's own) and copies the permission table
(`interface.permissions.route_rules`). What belongs to an app (its platform, settings, middleware, error
handlers, state) stays on the app.

The table has no dependency-override provider: `app.dependency_overrides` does not reach these routes
(nothing in Threshold overrides a dependency; the tests run the real ones).
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import _IncludedRouter, iter_route_contexts
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from threshold.interface.permissions import Public, Rule, enforce, route_rules

docs = APIRouter(include_in_schema=False)
"""FastAPI's own documentation of the API (no data in it), served as routes that declare who may read them."""

CAPABILITY_ROUTERS = (
    "compliance",
    "connectors",
    "erasure",
    "glossary",
    "governance",
    "home",
    "insights",
    "jobs",
    "lineage",
    "literacy",
    "maturity",
    "notifications",
    "operations",
    "products",
    "quality",
    "shares",
)
"""The modules of `threshold.api` whose `router` serves a capability's routes (besides `routes.py`)."""


@docs.get("/openapi.json")
def openapi(request: Request, person: Public) -> dict[str, Any]:
    return request.app.openapi()  # type: ignore[no-any-return]


@docs.get("/docs")
def swagger(person: Public) -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Threshold API")


@docs.get("/redoc")
def redoc(person: Public) -> HTMLResponse:
    return get_redoc_html(openapi_url="/openapi.json", title="Threshold API")


@dataclass(frozen=True)
class RouteTable:
    """Every route of the app in the order the router tries them, and their declared permissions."""

    routes: tuple[BaseRoute, ...]
    rules: Mapping[tuple[str, str], Rule]
    """(method, path template) -> the route's permission (read-only: an app gets a copy)."""


_lock = threading.Lock()
_built: tuple[APIRouter, list[APIRouter], tuple[int, ...], RouteTable] | None = None
"""The table router, the routers included into it, their route counts when the table was built, the table."""


def route_table() -> RouteTable:
    """The routes every app serves: built on the first call in a process, rebuilt only when a router
    gained a route since (the table is keyed on what can change it)."""
    global _built
    with _lock:
        if _built is None:
            router, included = _include_all()
        else:
            router, included, counts, table = _built
            if counts == _counts(included):
                return table
        # Walking the routes builds each one's dependency graph now, once, rather than on a first request.
        table = RouteTable(tuple(router.routes), MappingProxyType(route_rules(router)))
        for route in table.routes:
            _Prefiltered.install(route)
        _built = router, included, _counts(included), table
        return table


_GROUP = re.compile(r"\(\?P<[^>]+>")


class _Prefiltered:
    """An included router's `matches` that asks one regular expression made of its routes' own path patterns
    first, and answers "no match" at once when none of them takes the path.

    The app's router tries its included routers in turn, and each one tries every route it holds (FastAPI
    0.165), so a request for a page paid a scan of every API route before it: ~250 route matches per
    request, the largest part of the router's cost in the permission walk (tests/access/test_walk.py).
    Whether a router can match depends only on its routes' paths (Starlette matches a route's `path_regex`
    against the path before anything else, for a full or a partial match), so the answer is the router's
    own; rebuilt when the router gains a route. A router with routes of low priority (frontend routes) or
    a route without a path pattern is left as it is."""

    def __init__(self, included: Any) -> None:
        self.included = included
        self.matches = included.matches  # the router's own, bound before this one shadows it
        self._pattern: re.Pattern[str] | None = None
        self._built_for = -1

    @classmethod
    def install(cls, route: BaseRoute) -> None:
        if isinstance(route, _IncludedRouter) and not isinstance(route.__dict__.get("matches"), cls):
            route.matches = cls(route)  # type: ignore[method-assign]

    def pattern(self) -> re.Pattern[str] | None:
        count = len(self.included.original_router.routes)
        if count != self._built_for:
            texts: list[str] = []
            for context in iter_route_contexts([self.included]):
                regex = getattr(context, "path_regex", None)
                if regex is None:
                    texts = []
                    break
                texts.append("(?:" + _GROUP.sub("(?:", regex.pattern) + ")")  # parameter names repeat
            low_priority = self.included.effective_low_priority_routes()
            self._pattern = re.compile("|".join(texts)) if texts and not low_priority else None
            self._built_for = count
        return self._pattern

    def __call__(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] in ("http", "websocket"):
            pattern = self.pattern()
            if pattern is not None and pattern.match(get_route_path(scope)) is None:
                return Match.NONE, {}
        return self.matches(scope)  # type: ignore[no-any-return]


def _counts(routers: list[APIRouter]) -> tuple[int, ...]:
    return tuple(len(r.routes) for r in routers)


def _include_all() -> tuple[APIRouter, list[APIRouter]]:
    """One router holding every route, in the order the app tries them: the API, its documentation,
    the static files, the pages. `enforce` is a dependency of every route (a route that declares no
    permission is refused, interface/permissions.py)."""
    from threshold.api.routes import router as core
    from threshold.web.routes import page_routers, static_files

    table = APIRouter(dependencies=[Depends(enforce)])
    api = [docs, core, *(importlib.import_module(f"threshold.api.{name}").router for name in CAPABILITY_ROUTERS)]
    for router in api:
        table.include_router(router)
    table.routes.append(static_files())  # before the pages: a page path pattern never catches /static/...
    pages = page_routers()
    for router in pages:
        table.include_router(router, include_in_schema=False)
    return table, api + pages
