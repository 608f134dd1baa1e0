"""Outgoing webhooks per domain: JSON, signed with HMAC-SHA256, retried, every attempt audited."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from typing import Any

from sqlalchemy import select

from threshold.governance.audit import append
from threshold.platform import Platform
from threshold.store.models import Domain

ATTEMPTS = 3


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(platform: Platform, domain: str | None, event: str, payload: dict[str, Any], *, wait: bool = False) -> None:
    """Send `event` to the domain's webhook in the background (or inline with `wait`), retrying with backoff."""
    if not domain:
        return
    with platform.store.session() as s:
        url = s.scalar(select(Domain.webhook_url).where(Domain.name == domain))
    if not url:
        return
    body = json.dumps({"event": event, "domain": domain, "data": payload}, default=str).encode()
    secret = platform.settings.session_secret()

    def send() -> None:
        import httpx

        last = ""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                r = httpx.post(
                    url, content=body, timeout=5,
                    headers={"Content-Type": "application/json", "X-Threshold-Event": event,
                             "X-Threshold-Signature": sign(secret, body)},
                )  # fmt: skip
                if r.status_code < 300:
                    append(platform, None, "webhook.delivered", detail={"domain": domain, "event": event,
                                                                       "attempt": attempt})  # fmt: skip
                    return
                last = f"HTTP {r.status_code}"
            except Exception as e:  # network errors are retried
                last = type(e).__name__
            time.sleep(0.2 * 2**attempt)
        append(platform, None, "webhook.failed", detail={"domain": domain, "event": event, "error": last})

    if wait:
        send()
    else:
        threading.Thread(target=send, daemon=True).start()
