"""The request-body guard: no request body may be larger than its limit, and none is read past it.

Upload routes (marked with `@accepts_upload`) may take `limits.upload_bytes`; every other route
`limits.request_bytes`. A request that declares a larger `Content-Length` is refused before its body is
read; one that sends more than it declared, or streams without declaring, is cut off the moment it
passes the limit (HTTP 413, the message naming the setting), so an upload is never spooled whole first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI, HTTPException
from fastapi.routing import iter_route_contexts
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from threshold.limits.allowance import human_size
from threshold.limits.settings import LimitSettings

F = TypeVar("F", bound=Callable[..., Any])
_MARK = "__threshold_upload__"
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def accepts_upload(endpoint: F) -> F:
    """Mark a route's endpoint as taking a file upload (its body may be up to `limits.upload_bytes`)."""
    setattr(endpoint, _MARK, True)
    return endpoint


class BodyLimit:
    """ASGI middleware applying the body limits; `app` is the FastAPI app whose routes it reads the marks of."""

    def __init__(self, inner: ASGIApp, *, routes_of: FastAPI, settings: LimitSettings) -> None:
        self.inner = inner
        self.routes_of = routes_of
        self.settings = settings
        self._uploads: list[tuple[set[str], re.Pattern[str]]] | None = None

    def _limit(self, scope: Scope) -> tuple[int, str, str]:
        """(bytes, setting, what) for this request."""
        if self._uploads is None:
            self._uploads = [
                (set(c.methods or ()), re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", c.path) + "$"))
                for c in iter_route_contexts(self.routes_of.routes)
                if c.path is not None and getattr(getattr(c, "endpoint", None), _MARK, False)
            ]
        method, path = scope["method"], scope["path"]
        if any(method in methods and pattern.match(path) for methods, pattern in self._uploads):
            return self.settings.upload_bytes, "upload_bytes", "upload"
        return self.settings.request_bytes, "request_bytes", "request body"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.inner(scope, receive, send)
            return
        limit, field, what = self._limit(scope)
        message = f"the {what} is larger than {human_size(limit)}, the most allowed ({self.settings.setting(field)})"
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self.inner(scope, _refuse(message), send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, detail=message)
            return msg

        await self.inner(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _refuse(message: str) -> Receive:
    """A receive that refuses at the first read: the route answers 413 without the body being sent."""

    async def receive() -> Message:
        raise HTTPException(413, detail=message)

    return receive
