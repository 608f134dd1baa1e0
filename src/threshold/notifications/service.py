"""Tell people: an inbox message per person, and the domain's webhook (JSON signed with HMAC-SHA256).

Webhook calls are messages of the `webhook` channel of the one outbox (`threshold.jobs.outbox`,
declared in `registration.py`): recorded before they are sent, retried with backoff, and a delivery
that failed every attempt stays visible (`failed`) and can be retried later: nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select, update

from threshold.access import hidden_names, knowable_or_none, scrub
from threshold.errors import InvalidInput, NotFound
from threshold.identity.service import Person
from threshold.jobs import outbox
from threshold.jobs.models import OutboxMessage
from threshold.notifications.models import Notification
from threshold.notifications.results import Delivery, InboxMessage, WebhookSet
from threshold.platform import Platform
from threshold.store.models import Dataset, Domain, Membership, User

WEBHOOK = "webhook"
"""The outbox channel of domain webhooks (scope: the domain's name)."""


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


WITHDRAWALS = ("product.retired",)
"""Messages telling their reader that a dataset was withdrawn from them: they stay readable after it is."""


def inbox(platform: Platform, person: Person, *, unread: bool = False, limit: int = 100) -> list[InboxMessage]:
    """`person`'s messages, newest first, as they may see them today: none about a dataset they may not know
    exists (any more) but the notice that it was withdrawn, and no such dataset named in one (a message may
    list what is built on a dataset)."""
    with platform.store.session() as s:
        q = select(Notification).where(
            Notification.user_id == person.id,
            or_(knowable_or_none(person, Notification.dataset_id), Notification.kind.in_(WITHDRAWALS)),
        )
        if unread:
            q = q.where(Notification.read_at.is_(None))
        rows = s.scalars(q.order_by(Notification.id.desc()).limit(limit)).all()
        unseen = hidden_names(s, person)
        withdrawn = dict(
            s.execute(
                select(Dataset.id, Dataset.full_name).where(
                    Dataset.id.in_([n.dataset_id for n in rows if n.kind in WITHDRAWALS and n.dataset_id])
                )
            ).all()
        )

        def hidden(n: Notification) -> list[str]:
            subject = withdrawn.get(n.dataset_id) if n.kind in WITHDRAWALS and n.dataset_id else None
            return [x for x in unseen if x != subject] if subject else unseen

        return [
            InboxMessage(
                id=n.id,
                kind=n.kind,
                title=scrub(n.title, hidden(n)) or "",
                body=scrub(n.body, hidden(n)) or "",
                link=scrub(n.link, hidden(n)),
                data=_scrubbed(n.data, hidden(n)),
                at=_iso(n.created_at),
                read=n.read_at is not None,
            )
            for n in rows
        ]


def mark_read(platform: Platform, person: Person, ids: Iterable[int] | None = None) -> int:
    with platform.store.session() as s:
        q = update(Notification).where(Notification.user_id == person.id, Notification.read_at.is_(None))
        if ids is not None:
            q = q.where(Notification.id.in_(list(ids)))
        result = s.execute(q.values(read_at=datetime.now(UTC)))
        return int(getattr(result, "rowcount", 0) or 0)


def _scrubbed(value: Any, names: list[str]) -> Any:
    """`value` (JSON) with every string scrubbed of `names`."""
    if not names:
        return value
    if isinstance(value, str):
        return scrub(value, names)
    if isinstance(value, list):
        return [_scrubbed(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _scrubbed(v, names) for k, v in value.items()}
    return value


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
        # What the domain's own systems receive names only datasets its members may know exist.
        member = Person(0, f"{domain} webhook", "", False, (domain,), ())
        delivery_id = outbox.enqueue(
            s,
            WEBHOOK,
            {"event": event, "domain": domain, "data": _scrubbed(payload, hidden_names(s, member))},
            topic=event,
            scope=domain,
            destination=dom.webhook_url,
        ).id
    if wait:
        outbox.deliver(platform, [delivery_id])
    else:
        outbox.deliver_soon(platform, [delivery_id])
    return delivery_id


def retry_failed(platform: Platform, *, domain: str | None = None) -> int:
    """Send again every delivery that is still pending or failed; returns how many were delivered."""
    counts = outbox.deliver(platform, channel_name=WEBHOOK, scope=domain, retry_failed=True)
    return counts["delivered"]


def deliveries(platform: Platform, domain: str, *, limit: int = 100) -> list[Delivery]:
    """The domain's webhook deliveries, with their status and attempts."""
    with platform.store.session() as s:
        if s.scalars(select(Domain.id).where(Domain.name == domain)).one_or_none() is None:
            raise NotFound(f"no domain {domain!r}")
    return [
        Delivery(
            id=d.id,
            event=d.topic,
            status=d.status,
            attempts=d.attempts,
            error=d.last_error,
            at=_iso(d.created_at),
            delivered_at=_iso(d.delivered_at),
        )
        for d in outbox.messages(platform, WEBHOOK, scope=domain, limit=limit)
    ]


def set_webhook(platform: Platform, person: Person, domain: str, url: str) -> WebhookSet:
    """Send `domain`'s events to `url` (http/https; its owners only); with the secret that signs them."""
    from threshold.access import DomainRef, require

    if not url.startswith(("http://", "https://")) or len(url) > 500:
        raise InvalidInput("the webhook URL must start with http:// or https://")
    require(person, "domain.own", DomainRef(domain))
    with platform.store.session() as s:
        dom = s.scalars(select(Domain).where(Domain.name == domain)).one_or_none()
        if dom is None:
            raise NotFound(f"no domain {domain!r}")
        dom.webhook_url = url
    return WebhookSet(domain=domain, url=url, secret=webhook_secret(platform, domain))


def send_webhook(platform: Platform, message: OutboxMessage) -> None:
    """The `webhook` channel: POST the signed JSON to the URL the domain had when the event happened."""
    import httpx

    from threshold.tls import client_context

    body = json.dumps(message.payload, default=str, sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Threshold-Event": str(message.payload.get("event", "")),
        "X-Threshold-Delivery": str(message.id),
        "X-Threshold-Signature": sign(webhook_secret(platform, message.scope or ""), body),
    }
    r = httpx.post(
        str(message.destination),
        content=body,
        headers=headers,
        timeout=platform.settings.jobs.outbox_timeout_seconds,
        verify=client_context(),
    )
    if not 200 <= r.status_code < 300:
        raise RuntimeError(f"HTTP {r.status_code}")


def _iso(d: datetime | None) -> str | None:
    if d is None:
        return None
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).isoformat(timespec="seconds")
