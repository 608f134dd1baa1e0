"""The one outbox: a message exists exactly when its change committed, is delivered once with retries,
and a message that failed every attempt is kept, visible, and sent again on retry."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from threshold.jobs import outbox
from threshold.jobs.models import OutboxMessage
from threshold.jobs.outbox import Channel, declare_channel
from threshold.platform import Platform
from threshold.runtime import inline


class Sink:
    def __init__(self) -> None:
        self.got: list[dict[str, object]] = []
        self.fail_next = 0
        self.on = True
        self.lock = threading.Lock()

    def send(self, platform: Platform, message: OutboxMessage) -> None:
        with self.lock:
            if self.fail_next:
                self.fail_next -= 1
                raise ConnectionError("the receiver is down")
            self.got.append(message.payload)


@pytest.fixture
def sink(any_platform: Platform) -> Iterator[Sink]:
    s = Sink()
    declare_channel(Channel("test.sink", s.send, enabled=lambda p: s.on))
    any_platform.settings.jobs.outbox_backoff_seconds = 0.0
    any_platform.executor = inline
    yield s
    outbox._CHANNELS.pop("test.sink", None)


def _statuses(p: Platform) -> list[tuple[str, int, str | None]]:
    with p.store.reader() as s:
        q = select(OutboxMessage.status, OutboxMessage.attempts, OutboxMessage.last_error).order_by(OutboxMessage.id)
        return [tuple(r) for r in s.execute(q.where(OutboxMessage.channel == "test.sink"))]  # type: ignore[misc]


def test_a_message_exists_only_when_its_transaction_commits(any_platform: Platform, sink: Sink) -> None:
    p = any_platform
    with pytest.raises(RuntimeError), p.store.session() as s:
        outbox.enqueue(s, "test.sink", {"n": 1})
        raise RuntimeError("the change failed")
    with p.store.session() as s:
        kept = outbox.enqueue(s, "test.sink", {"n": 2}, topic="t", scope="sales").id
    outbox.deliver_soon(p, [kept])
    assert sink.got == [{"n": 2}]
    assert _statuses(p) == [("delivered", 1, None)]


def test_failed_attempts_are_counted_kept_and_retried(any_platform: Platform, sink: Sink) -> None:
    p = any_platform
    with p.store.session() as s:
        ids = [outbox.enqueue(s, "test.sink", {"n": n}).id for n in (1, 2)]
    sink.fail_next = 3  # every attempt of the first message fails
    assert outbox.deliver(p, ids) == {"delivered": 1, "failed": 1}
    assert _statuses(p) == [
        ("failed", 3, "ConnectionError: the receiver is down"),
        ("delivered", 1, None),
    ]
    assert outbox.deliver(p) == {"delivered": 0, "failed": 0}  # failed ones wait for a retry
    assert outbox.deliver(p, retry_failed=True) == {"delivered": 1, "failed": 0}
    assert sink.got == [{"n": 2}, {"n": 1}] and _statuses(p)[0] == ("delivered", 4, None)


def test_a_disabled_channel_keeps_its_messages_pending(any_platform: Platform, sink: Sink) -> None:
    p = any_platform
    sink.on = False
    with p.store.session() as s:
        outbox.enqueue(s, "test.sink", {"n": 1})
    assert outbox.deliver(p) == {"delivered": 0, "failed": 0}
    assert _statuses(p) == [("pending", 0, None)]
    sink.on = True
    assert outbox.deliver(p) == {"delivered": 1, "failed": 0}


def test_several_senders_deliver_each_message_once(any_platform: Platform, sink: Sink) -> None:
    p = any_platform
    with p.store.session() as s:
        for n in range(6):
            outbox.enqueue(s, "test.sink", {"n": n})
    start = threading.Barrier(3)

    def sender() -> None:
        start.wait(30)
        outbox.deliver(p)

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(int(str(m["n"])) for m in sink.got) == list(range(6))
    assert {st for st, _, _ in _statuses(p)} == {"delivered"}
