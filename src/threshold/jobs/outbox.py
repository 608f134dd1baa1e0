"""The outbox: everything Threshold sends outside (webhooks, OpenLineage events, later mail), one table.

A message is written with `enqueue` in the transaction of the change it tells about (or just after it),
so a committed change always has its message and a rolled-back one never has. `deliver` sends
messages through their declared `Channel`: each one is claimed first (compare-and-set, with a lease a
dead sender's claim expires from), tried up to `THRESHOLD_JOBS__OUTBOX_ATTEMPTS` times with backoff, and
ends `delivered` or `failed`; a failed message stays visible and is sent again by `deliver(...,
retry_failed=True)`. `deliver_soon` hands delivery to the platform's executor (a background thread in a
server, inline in tests). Declaring a channel is one statement in a capability's `registration.py`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from threshold.jobs.models import OutboxMessage
from threshold.platform import Platform

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class Channel:
    name: str
    send: Callable[[Platform, OutboxMessage], None]
    """Deliver one message; raise (any exception) when this attempt failed."""
    enabled: Callable[[Platform], bool] = lambda platform: True
    """False: nothing is enqueued or sent on this channel (e.g. no OpenLineage URL is set)."""


_CHANNELS: dict[str, Channel] = {}
_locks: dict[str, threading.Lock] = {}


def declare_channel(channel: Channel) -> Channel:
    known = _CHANNELS.get(channel.name)
    if known is not None and known != channel:
        raise ValueError(f"outbox channel {channel.name!r} is declared twice")
    _CHANNELS[channel.name] = channel
    _locks.setdefault(channel.name, threading.Lock())
    return channel


def channel(name: str) -> Channel:
    from threshold.capabilities import load

    load()
    return _CHANNELS[name]


def enqueue(
    s: Session,
    channel_name: str,
    payload: dict[str, Any],
    *,
    topic: str = "",
    scope: str | None = None,
    destination: str | None = None,
) -> OutboxMessage:
    """Write a message in the caller's transaction (its id is set on return)."""
    row = OutboxMessage(
        channel=channel_name,
        topic=topic[:100],
        scope=scope,
        destination=destination,
        payload=payload,
        status="pending",
        attempts=0,
    )
    s.add(row)
    s.flush()
    return row


def deliver(
    platform: Platform,
    ids: Sequence[int] | None = None,
    *,
    channel_name: str | None = None,
    scope: str | None = None,
    retry_failed: bool = False,
) -> dict[str, int]:
    """Send pending messages (the given ones, or every one of a channel), oldest first; with
    `retry_failed` also the failed ones. Returns how many were delivered and how many failed."""
    now = platform.clock()
    states = ("pending", "failed") if retry_failed else ("pending",)
    with platform.store.reader() as s:
        q = select(OutboxMessage.id, OutboxMessage.channel).where(
            or_(
                OutboxMessage.status.in_(states),
                and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until < now),
            )
        )
        if ids is not None:
            q = q.where(OutboxMessage.id.in_(list(ids)))
        if channel_name is not None:
            q = q.where(OutboxMessage.channel == channel_name)
        if scope is not None:
            q = q.where(OutboxMessage.scope == scope)
        todo = s.execute(q.order_by(OutboxMessage.id)).all()
    counts = {"delivered": 0, "failed": 0}
    for message_id, name in todo:
        ch = channel(name)
        if not ch.enabled(platform):
            continue  # kept pending until the channel is configured
        with _locks[name]:  # one sender per channel in a process: events leave in the order they happened
            outcome = _deliver_one(platform, ch, message_id, states)
        if outcome is not None:
            counts[outcome] += 1
    return counts


def deliver_soon(platform: Platform, ids: Sequence[int] | None = None, *, channel_name: str | None = None) -> None:
    """Hand `deliver` to the platform's executor (background thread; inline in tests)."""
    platform.executor(lambda: deliver(platform, ids, channel_name=channel_name))


def _deliver_one(platform: Platform, ch: Channel, message_id: int, states: tuple[str, ...]) -> str | None:
    now = platform.clock()
    with platform.store.session() as s:
        moved = s.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                or_(
                    OutboxMessage.status.in_(states),
                    and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until < now),
                ),
            )
            .values(status="sending", claimed_until=now + LEASE)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            return None  # another sender has it, or it was delivered meanwhile
        message = s.get(OutboxMessage, message_id)
        assert message is not None
        s.expunge(message)
    settings = platform.settings.jobs
    error = ""
    for attempt in range(settings.outbox_attempts):
        try:
            ch.send(platform, message)
            _finish(platform, message_id, "delivered", None)
            return "delivered"
        except Exception as e:  # any failure of this attempt: counted, retried, kept
            error = f"{type(e).__name__}: {str(e)[:300]}"
        _count_attempt(platform, message_id, error)
        if attempt < settings.outbox_attempts - 1 and settings.outbox_backoff_seconds:
            time.sleep(settings.outbox_backoff_seconds * 2**attempt)
    _finish(platform, message_id, "failed", error)
    return "failed"


def _count_attempt(platform: Platform, message_id: int, error: str) -> None:
    with platform.store.session() as s:
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(attempts=OutboxMessage.attempts + 1, last_error=error)
        )


def _finish(platform: Platform, message_id: int, status: str, error: str | None) -> None:
    values: dict[str, Any] = {"status": status, "last_error": error, "claimed_until": None}
    if status == "delivered":
        values |= {"delivered_at": platform.clock(), "attempts": OutboxMessage.attempts + 1}
    with platform.store.session() as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))


def messages(
    platform: Platform, channel_name: str, *, scope: str | None = None, limit: int = 100
) -> list[OutboxMessage]:
    """The newest messages of a channel (of one scope, e.g. a domain's webhook)."""
    with platform.store.reader() as s:
        q = select(OutboxMessage).where(OutboxMessage.channel == channel_name)
        if scope is not None:
            q = q.where(OutboxMessage.scope == scope)
        return list(s.scalars(q.order_by(OutboxMessage.id.desc()).limit(max(1, min(limit, 1000)))))
