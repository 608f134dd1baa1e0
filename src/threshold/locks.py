"""Writer locks: one writer at a time per dataset, across processes, released if the holder dies.

With the lock held from reading the published snapshot until publishing, a writer can tell an
unpublished commit left by a dead writer (safe to drop or roll back) from one still in progress;
the clean-up takes the same lock (without waiting) before it touches a dataset's files, so a
running writer is never touched. SQLite homes use an flock on a file in the home; PostgreSQL uses
a session advisory lock, which also works across machines sharing the database.

A second, home-wide lock guards deleting files a published snapshot may still name (snapshot
expiry): deleters hold it shared, `threshold backup` holds it exclusively while it copies, so a
backup never finds a file gone that its catalog state names.

Waits are bounded (`writer_wait_seconds`) and say who is in the way when they give up. A waiter gets
the lock as soon as it is let go: PostgreSQL queues it in the server (a blocking advisory lock bounded
by `lock_timeout`); with flock, a release in this process wakes this process's waiters, and a holder in
another process is polled every few milliseconds (`POLL_SECONDS`).
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from threshold.errors import TransientError
from threshold.platform import Platform

DELETIONS = "home:deletions"
"""The lock name of deleting files published snapshots may name."""


def _key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"threshold:{name}".encode()).digest()[:8], "big", signed=True)


def lock_file(platform: Platform, name: str) -> Path:
    folder = platform.settings.home_dir / "locks"
    return folder / f"{hashlib.sha256(name.encode()).hexdigest()[:32]}.lock"


POLL_SECONDS = 0.05
"""The longest pause between two tries at an flock another process holds (flock cannot wake a waiter
in another process; a try is one system call)."""

BLOCK_SECONDS = 2.0
"""The longest one blocking try at a PostgreSQL advisory lock lasts; a longer wait takes several."""

LOCK_NOT_AVAILABLE = "55P03"
"""PostgreSQL's error when `lock_timeout` passed before the lock was got."""


def _backoff() -> Iterator[float]:
    """The pauses between tries at an flock held by someone else: short at first, then `POLL_SECONDS`."""
    delay = 0.005
    while True:
        yield delay
        delay = min(delay * 2, POLL_SECONDS)


def _waits(name: str) -> None:
    """Called once when a try at the lock `name` was refused and the caller goes on waiting (tests watch it)."""


class _Releases:
    """This process's releases of one lock file: a waiter sleeps until the count moves past what it saw."""

    def __init__(self) -> None:
        self.count = 0
        self.changed = threading.Condition()

    def released(self) -> None:
        with self.changed:
            self.count += 1
            self.changed.notify_all()

    def wait(self, seen: int, timeout: float) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self.count != seen, timeout)


_releases: dict[Path, _Releases] = {}
"""One entry per lock file this process took (a few hundred bytes per dataset written)."""
_releases_guard = threading.Lock()


def _releases_of(path: Path) -> _Releases:
    with _releases_guard:
        return _releases.setdefault(path, _Releases())


def _flock(path: Path, name: str, *, shared: bool, wait: float) -> IO[str] | None:
    """The open lock file with the lock held, or None when `wait` passed first (0: do not wait).

    Each call opens the file anew: flock belongs to the open file, so threads of one process exclude
    each other as processes do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "a+")  # noqa: SIM115 (kept open while the lock is held)
    mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
    releases = _releases_of(path)
    deadline = time.monotonic() + wait
    pauses: Iterator[float] | None = None
    while True:
        seen = releases.count  # before the try: a release after a refused try is never missed
        try:
            fcntl.flock(f.fileno(), mode)
            break
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                f.close()
                return None
            if pauses is None:
                _waits(name)
                pauses = _backoff()
            releases.wait(seen, min(next(pauses), left))
    if not shared and f.tell() == 0 and os.fstat(f.fileno()).st_size == 0:
        f.write(name)  # so that `threshold doctor` can say which dataset a held lock belongs to
        f.flush()
    return f


def _advisory_lock(conn: Connection, name: str, *, shared: bool, wait: float) -> bool:
    """Take the session advisory lock of `name` on `conn` (True), or False when `wait` passed first.

    The wait is the server's (it grants the lock the moment it is let go), bounded by `lock_timeout`
    for this transaction only (set_config(..., true) ends with it), so the pooled connection keeps its
    own settings; a session lock outlives the transaction that took it."""
    suffix = "_shared" if shared else ""
    deadline = time.monotonic() + wait
    got = bool(conn.execute(text(f"SELECT pg_try_advisory_lock{suffix}(:k)"), {"k": _key(name)}).scalar())
    conn.commit()
    if got or wait <= 0:
        return got
    _waits(name)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        # In slices of at most `BLOCK_SECONDS`: a waiting statement holds its snapshot, which keeps VACUUM
        # from removing what died after it; a wait of minutes would hold back the whole store's clean-up.
        ms = max(1, math.ceil(min(left, BLOCK_SECONDS) * 1000))  # 0 would mean no bound
        try:
            conn.execute(
                text("SELECT set_config('lock_timeout', :ms, true), set_config('statement_timeout', '0', true)"),
                {"ms": str(ms)},
            )
            conn.execute(text(f"SELECT pg_advisory_lock{suffix}(:k)"), {"k": _key(name)})
        except DBAPIError as e:
            conn.rollback()
            if getattr(e.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
                continue
            raise
        conn.commit()
        return True


@contextmanager
def _lock(platform: Platform, name: str, *, shared: bool = False, wait: float) -> Iterator[bool]:
    """Hold the lock `name` for the block; yields False (without holding it) when `wait` seconds passed."""
    if platform.settings.is_sqlite:
        path = lock_file(platform, name)
        f = _flock(path, name, shared=shared, wait=wait)
        if f is None:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
            f.close()
            _releases_of(path).released()
        return
    suffix = "_shared" if shared else ""
    with platform.store.engine.connect() as conn:
        if not _advisory_lock(conn, name, shared=shared, wait=wait):
            yield False
            return
        try:
            yield True
        finally:
            conn.execute(text(f"SELECT pg_advisory_unlock{suffix}(:k)"), {"k": _key(name)})
            conn.commit()


@contextmanager
def dataset_lock(platform: Platform, identifier: str, *, wait: float | None = None) -> Iterator[None]:
    """Be the one writer of `identifier` for the block, waiting up to `writer_wait_seconds` for another."""
    limit = platform.settings.writer_wait_seconds if wait is None else wait
    with _lock(platform, identifier, wait=limit) as held:
        if not held:
            raise TransientError(
                f"{identifier} is being written by another share, repair or compaction, which did not finish "
                f"within {limit:g} s (THRESHOLD_WRITER_WAIT_SECONDS); nothing was changed, try again later"
            )
        yield


@contextmanager
def try_dataset_lock(platform: Platform, identifier: str) -> Iterator[bool]:
    """Hold `identifier`'s writer lock for the block if nobody does (True), else do nothing (False)."""
    with _lock(platform, identifier, wait=0) as held:
        yield held


@contextmanager
def deletions(platform: Platform, *, exclusive: bool = False, wait: float | None = None) -> Iterator[None]:
    """Shared: may delete files published snapshots name. Exclusive: nobody may (a backup is copying)."""
    limit = platform.settings.writer_wait_seconds if wait is None else wait
    with _lock(platform, DELETIONS, shared=not exclusive, wait=limit) as held:
        if not held:
            doing = "another backup" if exclusive else "a backup"
            raise TransientError(
                f"{doing} is copying this home's files and did not finish within {limit:g} s; try again later"
            )
        yield


@contextmanager
def deletions_if_free(platform: Platform) -> Iterator[bool]:
    """Like `deletions()`, without waiting: False while a backup runs (the clean-up then deletes nothing)."""
    with _lock(platform, DELETIONS, shared=True, wait=0) as held:
        yield held


def held_locks(platform: Platform, names: list[str]) -> list[str]:
    """Which of the locks `names` some process holds right now (for `threshold doctor`)."""
    held = []
    if platform.settings.is_sqlite:
        for name in names:
            path = lock_file(platform, name)
            if not path.exists():
                continue
            with _lock(platform, name, wait=0) as free:
                if not free:
                    held.append(name)
        return held
    keys = {_key(n): n for n in names}
    with platform.store.engine.connect() as conn:
        rows: list[Any] = list(
            conn.execute(
                text(
                    "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks "
                    "WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database "
                    "WHERE datname = current_database()) AND objsubid = 1"
                )
            )
        )
    for (k,) in rows:
        signed = k - (1 << 64) if k >= (1 << 63) else k
        if signed in keys:
            held.append(keys[signed])
    return sorted(set(held))
