"""Tell people: an inbox message per person, and the domain's webhook (JSON signed with HMAC-SHA256).

Webhook deliveries are recorded before they are sent, retried with backoff, and a delivery that
failed every attempt stays visible (`failed`) and can be retried later: nothing is dropped silently.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from threshold.errors import NotFound
from threshold.identity.service import Person
from threshold.notifications.models import Notification, WebhookDelivery
from threshold.platform import Platform
from threshold.store.models import Domain, Membership, User

ATTEMPTS = 3
BACKOFF_SECONDS = 0.5
_outstanding: list[threading.Thread] = []


@atexit.register
def _drain(timeout: float = 10.0) -> None:
    """A short-lived process (the CLI) waits, within a bound, for deliveries it started."""
    deadline = time.monotonic() + timeout
    for t in list(_outstanding):
        t.join(max(0.0, deadline - time.monotonic()))


def notify(
    platform: Platform,
    users: Iterable[int | str],
    kind: str,
    title: str,
    *,
    body: str = "",
    link: str | None = None,
    dataset_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """Put a message in each person's inbox (ids or names; duplicates once). Returns how many."""
    wanted = list(dict.fromkeys(users))
    if not wanted:
        return 0
    with platform.store.session() as s:
        ids = {u for u in wanted if isinstance(u, int)}
        names = [u for u in wanted if isinstance(u, str)]
        if names:
            ids |= set(s.scalars(select(User.id).where(User.name.in_(names))))
        for uid in sorted(ids):
            s.add(
                Notification(
                    user_id=uid,
                    kind=kind,
                    title=title[:300],
                    body=body,
                    link=link,
                    dataset_id=dataset_id,
                    data=data or {},
                )
            )
        return len(ids)


def domain_owners(platform: Platform, domain: str) -> list[int]:
    with platform.store.session() as s:
        return list(
            s.scalars(select(Membership.user_id).join(Domain).where(Domain.name == domain, Membership.role == "owner"))
        )


def inbox(platform: Platform, person: Person, *, unread: bool = False, limit: int = 100) -> list[dict[str, Any]]:
    with platform.store.session() as s:
        q = select(Notification).where(Notification.user_id == person.id)
        if unread:
            q = q.where(Notification.read_at.is_(None))
        rows = s.scalars(q.order_by(Notification.id.desc()).limit(limit)).all()
        return [
            {
                "id": n.id,
                "kind": n.kind,
                "title": n.title,
                "body": n.body,
                "link": n.link,
                "data": n.data,
                "at": _iso(n.created_at),
                "read": n.read_at is not None,
            }
            for n in rows
        ]


def mark_read(platform: Platform, person: Person, ids: Iterable[int] | None = None) -> int:
    with platform.store.session() as s:
        q = update(Notification).where(Notification.user_id == person.id, Notification.read_at.is_(None))
        if ids is not None:
            q = q.where(Notification.id.in_(list(ids)))
        result = s.execute(q.values(read_at=datetime.now(UTC)))
        return int(getattr(result, "rowcount", 0) or 0)


def sign(secret: str, body: bytes) -> str:
    """The `X-Threshold-Signature` header: `sha256=` + HMAC-SHA256 of the body with the domain's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_secret(platform: Platform, domain: str) -> str:
    """Each domain's signing secret, derived from the server secret (show it to the domain's owners)."""
    key = platform.settings.session_secret().encode()
    return hmac.new(key, f"webhook:{domain}".encode(), hashlib.sha256).hexdigest()


def emit(
    platform: Platform, domain: str | None, event: str, payload: dict[str, Any], *, wait: bool = False
) -> int | None:
    """Record a delivery to the domain's webhook (if one is set) and send it; returns the delivery id."""
    if not domain:
        return None
    with platform.store.session() as s:
        dom = s.scalars(select(Domain).where(Domain.name == domain)).one_or_none()
        if dom is None or not dom.webhook_url:
            return None
        row = WebhookDelivery(
            domain_id=dom.id,
            event=event,
            url=dom.webhook_url,
            payload={"event": event, "domain": domain, "data": payload},
        )
        s.add(row)
        s.flush()
        delivery_id = row.id
    if wait:
        _send(platform, delivery_id)
    else:
        t = threading.Thread(target=_send, args=(platform, delivery_id), daemon=True)
        _outstanding[:] = [x for x in _outstanding if x.is_alive()] + [t]
        t.start()
    return delivery_id


def retry_failed(platform: Platform, *, domain: str | None = None) -> int:
    """Send again every delivery that is still pending or failed; returns how many were delivered."""
    with platform.store.session() as s:
        q = select(WebhookDelivery.id).where(WebhookDelivery.status.in_(("pending", "failed")))
        if domain:
            q = q.join(Domain).where(Domain.name == domain)
        ids = list(s.scalars(q.order_by(WebhookDelivery.id)))
    return sum(1 for i in ids if _send(platform, i))


def deliveries(platform: Platform, domain: str, *, limit: int = 100) -> list[dict[str, Any]]:
    with platform.store.session() as s:
        dom = s.scalars(select(Domain).where(Domain.name == domain)).one_or_none()
        if dom is None:
            raise NotFound(f"no domain {domain!r}")
        rows = s.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.domain_id == dom.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        ).all()
        return [
            {
                "id": d.id,
                "event": d.event,
                "status": d.status,
                "attempts": d.attempts,
                "error": d.last_error,
                "at": _iso(d.created_at),
                "delivered_at": _iso(d.delivered_at),
            }
            for d in rows
        ]


def _send(platform: Platform, delivery_id: int) -> bool:
    import httpx

    with platform.store.session() as s:
        d = s.get(WebhookDelivery, delivery_id)
        if d is None or d.status == "delivered":
            return False
        dom = s.get(Domain, d.domain_id)
        url, payload, domain = d.url, d.payload, dom.name if dom else ""
    body = json.dumps(payload, default=str, sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Threshold-Event": str(payload.get("event", "")),
        "X-Threshold-Delivery": str(delivery_id),
        "X-Threshold-Signature": sign(webhook_secret(platform, domain), body),
    }
    error = ""
    for attempt in range(ATTEMPTS):
        try:
            r = httpx.post(url, content=body, headers=headers, timeout=5)
            if 200 <= r.status_code < 300:
                _finish(platform, delivery_id, "delivered", None)
                return True
            error = f"HTTP {r.status_code}"
        except httpx.HTTPError as e:
            error = f"{type(e).__name__}: {str(e)[:200]}"
        _count_attempt(platform, delivery_id, error)
        if attempt < ATTEMPTS - 1:
            time.sleep(BACKOFF_SECONDS * 2**attempt)
    _finish(platform, delivery_id, "failed", error)
    return False


def _count_attempt(platform: Platform, delivery_id: int, error: str) -> None:
    with platform.store.session() as s:
        s.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .values(attempts=WebhookDelivery.attempts + 1, last_error=error)
        )


def _finish(platform: Platform, delivery_id: int, status: str, error: str | None) -> None:
    with platform.store.session() as s:
        values: dict[str, Any] = {"status": status, "last_error": error}
        if status == "delivered":
            values |= {"delivered_at": datetime.now(UTC), "attempts": WebhookDelivery.attempts + 1}
        s.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(**values))


def _iso(d: datetime | None) -> str | None:
    if d is None:
        return None
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).isoformat(timespec="seconds")
