"""Paths no route answers get their 404 at once, without the router's linear scan.

The router tries each of the app's ~300 routes in turn, and for a path none matches tries them all again
with the trailing slash toggled (its redirect): about 1 ms of CPU per unknown path, seven times a flood's
refused query (BENCHMARKS.md, "Error answers"). `Unrouted` asks one regular expression made of every
route's own path pattern first; only when neither the path nor its slash-toggled twin can match any route
does it answer, through the app's own handler of `HTTPException(404)`, so the answer (JSON under /api,
the error page elsewhere) is the one the router's 404 gets. Anything that might match goes to the router.
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


def any_route(app: FastAPI) -> re.Pattern[str]:
    """One pattern matching exactly the paths some route (or mount) of `app` matches, whatever the method."""
    parts = []
    for context in iter_route_contexts(app.routes):
        pattern = getattr(context, "path_regex", None)
        if pattern is None:
            continue
        text = _GROUP.sub("(?:", pattern.pattern)  # the routes' parameter names repeat across routes
        parts.append(f"(?:{text})")
    return re.compile("|".join(parts) or r"(?!)")


class Unrouted:
    """ASGI middleware: 404 for a path no route of `routes_of` matches, as the router would answer it."""

    def __init__(self, inner: ASGIApp, *, routes_of: FastAPI) -> None:
        self.inner = inner
        self.routes_of = routes_of
        self._pattern: re.Pattern[str] | None = None
        self._built_for = -1

    def routed(self, path: str) -> bool:
        """Whether the router could answer `path` (a route, or its redirect to the slash-toggled path)."""
        router = self.routes_of.router
        if self._pattern is None or self._built_for != len(router.routes):  # routes added after the first request
            self._pattern, self._built_for = any_route(self.routes_of), len(router.routes)
        if self._pattern.match(path):
            return True
        if not router.redirect_slashes or path == "/":
            return False
        return self._pattern.match(path[:-1] if path.endswith("/") else path + "/") is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.routed(get_route_path(scope)):
            await self.inner(scope, receive, send)
            return
        handler = self.routes_of.exception_handlers[HTTPException]
        response = handler(Request(scope, receive), HTTPException(status_code=404))
        response = await response if inspect.isawaitable(response) else response
        await response(scope, receive, send)
