"""The SHA-256 of a shared file (the catalog, lineage and OpenLineage promise it: docs/sharing.md), on a thread
of its own, started as early as the command line names the file.

Standard library only: the CLI's root and the resident helper's thin client start it before anything heavy is
imported, so that the hash runs on the core the single-threaded start-up (~1 s of imports) leaves idle, and is
usually done before DuckDB's conversion needs both cores.

- `SourceDigest`: the hashing thread (its priority follows the conversion: `pause`, `resume`).
- `start_early(argv)`: `threshold share FILE ...` starts hashing FILE at once (one per process).
- `for_source(path)`: what `share()` uses: the early digest when it is of this very file, unchanged since it
  started (same device, inode, size and modification time), else a new one.
- `handed_over(digest)` / `accept(offer)`: a first call through the resident helper hashes in the client while
  the helper starts; a finished digest goes to the helper's child with the command, which uses it under the same
  conditions (the client is the caller's own process, as an in-process run is: it widens nothing).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import threading
from pathlib import Path
from typing import Any

Identity = tuple[int, int, int, int]
"""(device, inode, size, modification time in ns): a file's bytes are taken as unchanged while these are."""

_HEX = re.compile(r"[0-9a-f]{64}")


def identity(path: str | os.PathLike[str]) -> Identity | None:
    """The identity of the regular file at `path`, or None (missing, unreadable, not a regular file)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class SourceDigest:
    """The source file's SHA-256 on a thread of its own (or a digest already known: `value`).

    It starts with the share (or earlier: `start_early`), beside the single-threaded start-up, reading and
    planning that leave a core idle. While DuckDB converts (on every core: hashing beside it at normal
    priority made the share slower) it goes on at the lowest CPU priority (nice 19, set on its thread alone),
    taking only the cycles the conversion leaves idle; as an unprivileged thread cannot come back from nice 19,
    a new thread of normal priority takes over after the conversion (the same hash object, from the same
    offset), beside commit and profiling. It is awaited before publication; a failed share cancels it.
    """

    CHUNK = 1024 * 1024

    def __init__(self, path: Path, value: str | None = None) -> None:
        self.path = path
        self.identity = identity(path)  # before the first read: what the digest is of
        self.value = value
        self._hash = hashlib.sha256()
        self._offset = 0
        self._turn = 0  # the thread whose turn it is hashes; an earlier one stops at its next chunk
        self._low = False
        self._stop = threading.Event()
        if value is not None:
            self._stop.set()  # known already: nothing to read
        self._thread = self._next(low=False)

    def _next(self, *, low: bool) -> threading.Thread:
        """Hand the hashing over to a new thread (after the current one has stopped)."""
        self._turn += 1
        self._low = low
        thread = threading.Thread(
            target=self._run, args=(self._turn, getattr(self, "_thread", None), low), name="share-sha256", daemon=True
        )
        thread.start()
        return thread

    def pause(self) -> None:
        """The conversion starts: go on only on the cycles it leaves idle."""
        if not self._low and not self.done():
            self._thread = self._next(low=True)

    def resume(self) -> None:
        """The conversion is done: go on at normal priority."""
        if self._low and not self.done():
            self._thread = self._next(low=False)

    def cancel(self) -> None:
        self._stop.set()

    def done(self) -> bool:
        """The whole file is hashed (or hashing stopped: cancelled, unreadable)."""
        return self.value is not None or self._stop.is_set()

    def result(self) -> str | None:
        """The hex digest, once the whole file is read (None if it could not be read)."""
        self.resume()
        self._thread.join()
        return self.value

    def _run(self, turn: int, before: threading.Thread | None, low: bool) -> None:
        if before is not None:
            before.join()  # one thread at a time updates the hash
        if turn != self._turn or self._stop.is_set():
            return
        if low:
            with contextlib.suppress(OSError, AttributeError):  # Linux: a thread's own nice value
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        # Into one 1 MiB buffer, unbuffered: a new 4 MiB bytes object per read cost ~0.03 s more CPU on a 766 MB
        # file (~5 % of the hash). Not mmap: a file truncated while mapped would kill the process (SIGBUS).
        buffer = bytearray(self.CHUNK)
        view = memoryview(buffer)
        try:
            with open(self.path, "rb", buffering=0) as f:
                f.seek(self._offset)
                while turn == self._turn and not self._stop.is_set():
                    n = f.readinto(buffer)
                    if not n:
                        self.value = self._hash.hexdigest()
                        return
                    self._hash.update(view[:n])
                    self._offset += n
        except OSError:
            self._stop.set()  # unreadable: no digest, and no later thread tries again


_lock = threading.Lock()
_early: SourceDigest | None = None
"""The digest `start_early` started in this process, until a share takes it."""
_offered: tuple[str, Identity, str] | None = None
"""(absolute path, identity, hex digest) the resident client handed over with the command."""


def start_early(argv: list[str]) -> SourceDigest | None:
    """For `share FILE ...` (the file first, as the command's help writes it): start hashing FILE now. Nothing
    for anything else (a preview hashes nothing, options first are left to the share itself)."""
    global _early
    if len(argv) < 2 or argv[0] != "share" or argv[1].startswith("-") or "--preview" in argv:
        return None
    path = Path(os.path.abspath(argv[1]))
    if identity(path) is None:
        return None  # the share itself says what is wrong with it
    with _lock:
        if _early is None or _early.path != path:
            if _early is not None:
                _early.cancel()
            _early = SourceDigest(path)
        return _early


def start_unless_offered(argv: list[str]) -> SourceDigest | None:
    """`start_early(argv)`, unless the client handed over a finished digest of the file (`accept`), which
    `for_source` uses instead."""
    with _lock:
        offered = _offered
    if offered is not None and len(argv) > 1 and offered[0] == os.path.abspath(argv[1]):
        return None
    return start_early(argv)


def for_source(path: Path) -> SourceDigest:
    """The digest for a share of `path`: one started early (or handed over) for this very file, unchanged since
    it was hashed from its start; else a new one, starting now."""
    global _early, _offered
    with _lock:
        early, _early = _early, None
        offered, _offered = _offered, None
    where = Path(os.path.abspath(path))
    now = identity(where)
    if early is not None:
        if now is not None and early.path == where and early.identity == now:
            return early
        early.cancel()
    if offered is not None and now is not None and offered[:2] == (str(where), now):
        return SourceDigest(path, value=offered[2])
    return SourceDigest(path)


def handed_over(digest: SourceDigest | None) -> dict[str, Any] | None:
    """What a client sends with the command: a finished digest and what it is of, or None (then the helper's
    child hashes the file itself). An unfinished one stops here: the child must not share the cores with it."""
    global _early
    if digest is None:
        return None
    with _lock:
        if _early is digest:
            _early = None
    digest.cancel()
    if digest.value is None or digest.identity is None or digest.identity != identity(digest.path):
        return None
    return {"path": str(digest.path), "identity": list(digest.identity), "sha256": digest.value}


def accept(offer: object) -> None:
    """Keep a client's finished digest for the share this process runs (anything malformed is ignored)."""
    global _offered
    if not isinstance(offer, dict):
        return
    path, ident, value = offer.get("path"), offer.get("identity"), offer.get("sha256")
    if (
        isinstance(path, str)
        and os.path.isabs(path)
        and isinstance(ident, list)
        and len(ident) == 4
        and all(isinstance(i, int) and not isinstance(i, bool) for i in ident)
        and isinstance(value, str)
        and _HEX.fullmatch(value)
    ):
        with _lock:
            _offered = (path, (ident[0], ident[1], ident[2], ident[3]), value)
