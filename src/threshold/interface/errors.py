"""How an error is answered over HTTP beyond its status: the headers it needs (API and pages alike)."""

from __future__ import annotations

from threshold.errors import Busy, ThresholdError


def error_headers(exc: ThresholdError) -> dict[str, str]:
    """`Retry-After` on a 429 (too many queries, too many failed sign-ins)."""
    return {"Retry-After": str(exc.retry_after)} if isinstance(exc, Busy) else {}
