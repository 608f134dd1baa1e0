"""A writer waiting for a lock gets it when the holder lets go, not at its next poll; a wait that
passes says so and leaves nothing behind (no lock, no changed connection setting)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
from sqlalchemy import Connection, event, text

from threshold import locks
from threshold.errors import TransientError
from threshold.platform import Platform

HOUR = 3600.0

Lock = Callable[[Platform, float], AbstractContextManager[None]]

CASES: dict[str, tuple[Lock, Lock, str]] = {
    "writer after writer": (
        lambda p, wait: locks.dataset_lock(p, "d.t", wait=wait),
        lambda p, wait: locks.dataset_lock(p, "d.t", wait=wait),
        "d.t",
    ),
    "backup after deleter": (
        lambda p, wait: locks.deletions(p, wait=wait),
        lambda p, wait: locks.deletions(p, exclusive=True, wait=wait),
        locks.DELETIONS,
    ),
    "deleter after backup": (
        lambda p, wait: locks.deletions(p, exclusive=True, wait=wait),
        lambda p, wait: locks.deletions(p, wait=wait),
        locks.DELETIONS,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_waiter_gets_the_lock_when_it_is_let_go_not_at_its_next_poll(
    any_platform: Platform, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    hold, ask, name = CASES[case]

    def hourly() -> Iterator[float]:
        while True:
            yield HOUR

    monkeypatch.setattr(locks, "_backoff", hourly)  # a waiter that polls gets nothing within this test
    waiting, got = threading.Event(), threading.Event()
    waits = locks._waits

    def watched_waits(asked: str) -> None:
        waits(asked)
        waiting.set()

    monkeypatch.setattr(locks, "_waits", watched_waits)

    def waiter() -> None:
        with ask(any_platform, HOUR):
            got.set()

    with hold(any_platform, HOUR):
        t = threading.Thread(target=waiter, daemon=True)  # daemon: a broken lock leaves it waiting for an hour
        t.start()
        assert waiting.wait(60), "the waiter's first try must be refused while the lock is held"
        assert not got.is_set()
    t.join(60)
    assert got.is_set() and not t.is_alive(), "the release must wake the waiter"
    assert locks.held_locks(any_platform, [name]) == []


def test_a_wait_that_passes_is_told_and_leaves_the_lock_free(any_platform: Platform) -> None:
    """The holder's lock and the waiter's are separate (flock: separate open files; PostgreSQL: separate
    sessions), so the test thread itself can be the one in the way."""
    with locks.dataset_lock(any_platform, "d.t"):
        with pytest.raises(TransientError, match=r"d.t is being written by another .* within 0.05 s"):
            with locks.dataset_lock(any_platform, "d.t", wait=0.05):
                pass
        assert locks.held_locks(any_platform, ["d.t"]) == ["d.t"]
    assert locks.held_locks(any_platform, ["d.t"]) == []
    with locks.dataset_lock(any_platform, "d.t", wait=0.05):
        assert locks.held_locks(any_platform, ["d.t"]) == ["d.t"]
    assert locks.held_locks(any_platform, ["d.t"]) == []


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_postgres_wait_leaves_its_pooled_connection_as_it_was_whether_it_got_the_lock_or_not(
    any_platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    def settings(conn: Connection) -> list[object]:
        try:
            return [conn.execute(text(f"SHOW {s}")).scalar() for s in ("lock_timeout", "statement_timeout")]
        finally:
            conn.commit()

    waiting = threading.Event()
    waits = locks._waits

    def watched_waits(name: str) -> None:
        waits(name)
        waiting.set()

    monkeypatch.setattr(locks, "_waits", watched_waits)
    engine = any_platform.store.engine
    with engine.connect() as conn:
        before = settings(conn)
        with locks.dataset_lock(any_platform, "d.t"):
            assert not locks._advisory_lock(conn, "d.t", shared=False, wait=0.05)
            assert waiting.is_set() and not conn.in_transaction()
            assert settings(conn) == before  # the store's own lock_timeout, not the wait's

            waiting.clear()
            outcome: list[bool] = []
            t = threading.Thread(
                target=lambda: outcome.append(locks._advisory_lock(conn, "d.t", shared=False, wait=HOUR)),
                daemon=True,
            )
            t.start()
            assert waiting.wait(60)
        t.join(60)
        assert outcome == [True] and not conn.in_transaction()
        assert settings(conn) == before
        assert locks.held_locks(any_platform, ["d.t"]) == ["d.t"]
        assert conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": locks._key("d.t")}).scalar()
        conn.commit()
    assert locks.held_locks(any_platform, ["d.t"]) == []


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_long_postgres_wait_is_several_short_blocking_tries_and_still_gets_the_lock(
    any_platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A blocked statement holds its snapshot (VACUUM keeps what died after it): an hour's wait is made of
    tries of at most `BLOCK_SECONDS`, and the release still wakes the waiter within its current try."""
    monkeypatch.setattr(locks, "BLOCK_SECONDS", 0.02)
    tries: list[str] = []
    several = threading.Event()

    def counted(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "pg_advisory_lock(" in statement:
            tries.append(statement)
            if len(tries) >= 3:
                several.set()

    engine = any_platform.store.engine
    event.listen(engine, "before_cursor_execute", counted)
    try:
        got = threading.Event()

        def waiter() -> None:
            with locks.dataset_lock(any_platform, "d.t", wait=HOUR):
                got.set()

        with locks.dataset_lock(any_platform, "d.t"):
            t = threading.Thread(target=waiter, daemon=True)
            t.start()
            assert several.wait(60), tries
            assert not got.is_set()
        t.join(60)
        assert got.is_set() and not t.is_alive()
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    assert locks.held_locks(any_platform, ["d.t"]) == []
