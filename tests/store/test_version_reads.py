"""The store reads its metadata versions on a SQLite connection of each thread's own (`Store._read_versions`):
a thread that ends takes its connection with it, so a server whose idle worker threads are retired and replaced
does not collect open connections."""

from __future__ import annotations

import gc
import os
import threading
from pathlib import Path
from typing import Any


def _open_handles(db: Path) -> int:
    """This process's open descriptors on the database file."""
    fds = Path("/proc/self/fd")
    return sum(1 for fd in os.listdir(fds) if os.path.realpath(fds / fd) == str(db.resolve()))


def test_a_threads_version_connection_closes_when_the_thread_ends(platform: Any) -> None:
    store = platform.store
    db = Path(str(store.engine.url.database))
    store.engine.dispose()  # the pool's connections aside: only the version reads' own are counted
    before = _open_handles(db)
    version = store.metadata_version()
    assert version is not None
    assert len(store._version_connections) == 1  # this thread's, kept for its next read
    seen: list[int | None] = []
    handles: list[int] = []

    def read() -> None:
        seen.append(store.metadata_version())
        seen.append(len(store._version_connections))

    for _ in range(6):
        t = threading.Thread(target=read)
        t.start()
        t.join()
        gc.collect()  # a connection's statement cache refers back to it: the collector frees the pair
        seen.append(len(store._version_connections))
        handles.append(_open_handles(db))
    assert seen == [version, 2, 1] * 6  # each thread had its own, besides this thread's, gone with the thread
    # SQLite keeps the descriptor of a closed connection for the next one while another holds the file (closing
    # it would drop that one's locks): one descriptor at most beyond this thread's, whatever the threads.
    assert handles == [handles[0]] * 6 and handles[0] <= before + 2
    store.dispose()
    assert len(store._version_connections) == 0
    assert _open_handles(db) == before
