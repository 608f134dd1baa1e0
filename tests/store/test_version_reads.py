"""The store reads its metadata versions on SQLite connections of its own (`Store.read_row`), each used by
one read at a time and handed to the next: a server whose idle worker threads are retired and replaced neither
opens a connection per new thread nor keeps one open per thread it ever had."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import text


def _open_handles(db: Path) -> int:
    """This process's open descriptors on the database file."""
    fds = Path("/proc/self/fd")
    return sum(1 for fd in os.listdir(fds) if os.path.realpath(fds / fd) == str(db.resolve()))


def test_threads_that_come_and_go_reuse_one_version_connection(platform: Any) -> None:
    store = platform.store
    db = Path(str(store.engine.url.database))
    store.engine.dispose()  # the pool's connections aside: only the version reads' own are counted
    before = _open_handles(db)
    version = store.metadata_version()
    assert version is not None
    seen: list[object] = []

    def read() -> None:
        seen.append(store.metadata_version())
        seen.append(store.waiting_versions())

    for _ in range(6):
        t = threading.Thread(target=read)
        t.start()
        t.join()
        seen.append(len(store._version_connections))
    assert seen == [version, store.waiting_versions(), 1] * 6
    assert _open_handles(db) == before + 1
    with platform.store.session() as s:  # a committed change is seen by the next read, whoever reads
        s.execute(text("UPDATE metadata_version SET version = version + 1 WHERE id = 1"))
    t = threading.Thread(target=read)
    t.start()
    t.join()
    assert seen[-2] == version + 1
    store.dispose()
    assert len(store._version_connections) == 0
    assert _open_handles(db) == before


def test_reads_at_the_same_time_each_get_a_connection(platform: Any) -> None:
    store = platform.store
    version = store.metadata_version()
    con = store._idle_versions[0]
    store._idle_versions.clear()  # as if a read in another thread held it now
    assert store.metadata_version() == version
    assert len(store._version_connections) == 2
    store._idle_versions.append(con)  # that read ends
    assert [store.metadata_version() for _ in range(3)] == [version] * 3
    assert len(store._version_connections) == 2 and len(store._idle_versions) == 2
