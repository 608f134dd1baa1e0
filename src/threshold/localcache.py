"""This machine's cache of a warehouse on an object store: its byte bound, and the pins that keep a file
a running query reads from being evicted.

The cache holds copies of objects the store keeps (fetched to be read, or written here and uploaded).
When `storage.cache_max_bytes` is set and a fetch or an upload takes the cache over it, the copies used
least recently are removed until it fits again; a removed copy is fetched again when next read.

A query pins the files its plan reads from before they are fetched until its stream closes. A pin is an
in-process count and, for a file that is on disk, a shared `flock` on it: eviction takes an exclusive
lock without waiting and skips a file it cannot lock, so a query of another process on this machine
(several API workers share one cache) is protected too. A pinned file is re-checked after its lock is
taken (same inode as its path): a copy evicted between the fetch and the lock is fetched again.

Files written into the folder but not yet uploaded (a share converting) are never candidates: only
copies this process fetched or uploaded, and copies older than `cleanup_grace_minutes` found on disk
when the cache is first bounded (left by earlier runs: committed, or debris the sweep removes anyway).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path


class Pin:
    """Files held for one reader until `release()` (idempotent)."""

    def __init__(self, cache: LocalCache | None, paths: tuple[Path, ...]) -> None:
        self._cache = cache
        self.paths = paths

    def release(self) -> None:
        cache, self._cache = self._cache, None
        if cache is not None:
            cache.unpin(self.paths)

    def __enter__(self) -> Pin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class LocalCache:
    def __init__(self, root: Path, max_bytes: int, grace_seconds: float) -> None:
        self.root = root
        self.max_bytes = max_bytes
        """0: no bound."""
        self.grace_seconds = grace_seconds
        self._lock = threading.Lock()
        self._pins: Counter[Path] = Counter()
        self._locks: dict[Path, int] = {}
        """Pinned files on disk -> the descriptor holding their shared lock."""
        self._held: dict[Path, tuple[int, float]] = {}
        """Copies the bound may remove: path -> (size, last use)."""
        self._scanned = False

    # -- pins --------------------------------------------------------------------------------------

    def pin(self, paths: Iterable[Path]) -> Pin:
        held = tuple(paths)
        with self._lock:
            self._pins.update(held)
        return Pin(self, held)

    def unpin(self, paths: tuple[Path, ...]) -> None:
        with self._lock:
            for p in paths:
                self._pins[p] -= 1
                if self._pins[p] <= 0:
                    del self._pins[p]
                    fd = self._locks.pop(p, None)
                    if fd is not None:
                        os.close(fd)

    def hold(self, path: Path) -> bool:
        """Note a read of the copy at `path`; a pinned one is locked against other processes' eviction.
        False: the copy vanished (evicted since it was fetched) and must be fetched again."""
        with self._lock:
            size = self._held.get(path, (0, 0.0))[0]
            if path not in self._pins or path in self._locks:
                if self.max_bytes > 0:
                    self._held[path] = (size or _size(path), time.time())
                return True
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                return False
            fcntl.flock(fd, fcntl.LOCK_SH)
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                return False
            self._locks[path] = fd
            if self.max_bytes > 0:
                self._held[path] = (os.fstat(fd).st_size, time.time())
            return True

    # -- the bound ---------------------------------------------------------------------------------

    def added(self, paths: Iterable[Path]) -> list[Path]:
        """Copies that are now in the store too (fetched, or uploaded): candidates; evict what the bound asks."""
        if self.max_bytes <= 0:
            return []
        now = time.time()
        with self._lock:
            for p in paths:
                self._held[p] = (_size(p), now)
        return self.evict()

    def evict(self) -> list[Path]:
        """Remove the least recently used copies nobody pins until the cache fits its bound; the removed."""
        if self.max_bytes <= 0:
            return []
        removed: list[Path] = []
        with self._lock:
            if not self._scanned:
                self._scan()
            total = sum(size for size, _ in self._held.values())
            if total <= self.max_bytes:
                return removed
            for path, (size, _used) in sorted(self._held.items(), key=lambda kv: kv[1][1]):
                if total <= self.max_bytes:
                    break
                if path in self._pins:
                    continue
                gone = _remove_unlocked(path)
                if gone is None:
                    continue  # another process reads it now
                del self._held[path]
                total -= size
                if gone:
                    removed.append(path)
        return removed

    def size(self) -> int:
        with self._lock:
            return sum(size for size, _ in self._held.values())

    def _scan(self) -> None:
        self._scanned = True
        if not self.root.is_dir():
            return
        old = time.time() - self.grace_seconds
        for p in self.root.rglob("*"):
            if p.name.startswith(".") or p in self._held:
                continue
            try:
                st = p.lstat()
            except OSError:
                continue
            if p.is_file() and st.st_mtime <= old:
                self._held[p] = (st.st_size, st.st_mtime)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _remove_unlocked(path: Path) -> bool | None:
    """Remove `path` unless a reader (of any process) holds its shared lock: True removed, False it was
    gone already, None it is in use."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        try:
            if os.stat(path).st_ino != os.fstat(fd).st_ino:
                return False  # replaced since: not the copy we meant
        except FileNotFoundError:
            return False
        path.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)
