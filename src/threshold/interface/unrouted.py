"""Requests no route takes get their 404 or 405 at once, without the router's linear scan.

The router tries each of the app's ~300 routes in turn; a path none matches is tried against them all
again with the trailing slash toggled (its redirect), and a method no matching route takes is only
refused after every route was tried: 0.6-1.1 ms of CPU per request, four to seven times a flood's refused
query (BENCHMARKS.md, "Error answers"). `Unrouted` asks regular expressions made of the routes' own path
patterns first (one per method, one for every route): when no route takes the request it answers through
the app's own handler of the `HTTPException` the router would raise (404; 405 with the `Allow` of the
first route whose path matches), so the answer (JSON under /api, the error page elsewhere) is the
router's. Anything a route takes, or a redirect to the slash twin, goes to the router.
"""

from __future__ import annotations

import inspect
import re

from fastapi import FastAPI, Request
from fastapi.routing import iter_route_contexts
from starlette._utils import get_route_path
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

_GROUP = re.compile(r"\(\?P<[^>]+>")
_ANY = "*"
"""The key of the pattern of routes that take every method (mounts)."""


class Routes:
    """Every route's path pattern, joined into one regular expression per method (a route that takes the
    method, or any method) and one for every route, in the router's order."""

    def __init__(self, app: FastAPI) -> None:
        self.allowed: list[str] = []
        """Per route, in order, its `Allow` header (empty: it takes every method)."""
        by_method: dict[str, list[str]] = {}
        texts: list[str] = []
        for context in iter_route_contexts(app.routes):
            pattern = getattr(context, "path_regex", None)
            if pattern is None:
                continue
            text = _GROUP.sub("(?:", pattern.pattern)  # the routes' parameter names repeat across routes
            methods = context.methods or set()
            texts.append(f"(?P<r{len(self.allowed)}>{text})")
            self.allowed.append(", ".join(methods))
            for method in methods or {_ANY}:
                by_method.setdefault(method, []).append(f"(?:{text})")
        anywhere = by_method.get(_ANY, [])
        self.any_route = re.compile("|".join(texts) or "(?!)")
        self.taking = {m: re.compile("|".join(t + anywhere) or "(?!)") for m, t in by_method.items() if m != _ANY}
        self.other = re.compile("|".join(anywhere) or "(?!)")
        """Paths of a method no route names (only a mount takes those)."""

    def answer(self, method: str, path: str, redirect_slashes: bool) -> tuple[int, str] | None:
        """What the router answers `method path` without a route to run: (404, "") when no route matches the
        path or its slash twin, (405, Allow) when routes match the path but none takes the method; None
        when a route takes it (or the router redirects to the slash twin)."""
        if self.taking.get(method, self.other).match(path):
            return None
        found = self.any_route.match(path)
        if found is not None:
            first = int((found.lastgroup or "r0")[1:])  # the first route in order whose path matches
            return 405, self.allowed[first]
        if redirect_slashes and path != "/":
            if self.any_route.match(path[:-1] if path.endswith("/") else path + "/"):
                return None
        return 404, ""


class Unrouted:
    """ASGI middleware: 404 or 405 for a request no route of `routes_of` takes, as the router would answer it."""

    def __init__(self, inner: ASGIApp, *, routes_of: FastAPI) -> None:
        self.inner = inner
        self.routes_of = routes_of
        self._routes: Routes | None = None
        self._built_for = -1

    def answer(self, method: str, path: str) -> tuple[int, str] | None:
        """(status, Allow) the router would refuse `method path` with, or None when it runs a route for it."""
        router = self.routes_of.router
        if self._routes is None or self._built_for != len(router.routes):  # routes added after the first request
            self._routes, self._built_for = Routes(self.routes_of), len(router.routes)
        return self._routes.answer(method, path, router.redirect_slashes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = self.answer(scope["method"], get_route_path(scope)) if scope["type"] == "http" else None
        if refused is None:
            await self.inner(scope, receive, send)
            return
        status, allow = refused
        error = HTTPException(status_code=status, headers={"Allow": allow} if status == 405 else None)
        handler = self.routes_of.exception_handlers[HTTPException]
        response = handler(Request(scope, receive), error)
        response = await response if inspect.isawaitable(response) else response
        await response(scope, receive, send)
