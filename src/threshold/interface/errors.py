"""How an error is answered over HTTP beyond its status: the headers it needs (API and pages alike)."""

from __future__ import annotations

from typing import Any

from threshold.errors import Busy, ThresholdError


def error_body(exc: ThresholdError) -> dict[str, Any]:
    """The JSON of an error: its message, its kind, and what the person can do about it when there is something."""
    body: dict[str, Any] = {"detail": str(exc), "error": type(exc).__name__}
    if exc.suggestions:
        body["suggestions"] = list(exc.suggestions)
    if exc.request_access:
        body["request_access"] = {"dataset": exc.request_access, "href": "/api/v1/requests"}
    return body


def error_headers(exc: ThresholdError) -> dict[str, str]:
    """`Retry-After` on a 429 (too many queries, too many failed sign-ins)."""
    return {"Retry-After": str(exc.retry_after)} if isinstance(exc, Busy) else {}
