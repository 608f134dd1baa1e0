"""Writer locks: one writer at a time per dataset, across processes, released if the holder dies.

With the lock held from reading the published snapshot until publishing, a writer can tell an
unpublished commit left by a dead writer (safe to drop or roll back) from one still in progress.
SQLite homes use an flock on a file in the home; PostgreSQL uses a session advisory lock, which
also works across machines sharing the database.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from threshold.platform import Platform


def _key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"threshold:{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def dataset_lock(platform: Platform, identifier: str) -> Iterator[None]:
    if platform.settings.is_sqlite:
        folder = platform.settings.home_dir / "locks"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{hashlib.sha256(identifier.encode()).hexdigest()[:32]}.lock"
        with open(path, "a+") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        return
    with platform.store.engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _key(identifier)})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _key(identifier)})
            conn.commit()
