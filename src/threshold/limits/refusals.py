"""Busy refusals counted, not written one by one: a flood of 429s costs memory, not metadata transactions.

A person refused because they (or the server) run as many queries as they may is recorded as usage,
but a client that retries in a loop must not turn each refusal into a write. The first refusal of a
person (per interface and kind of read) opens a window of `limits.refusal_window_seconds`: it is
recorded in full at once; the refusals that follow within the window are only counted, and the
window ends with one event that carries their count. A window is closed by the watchdog at its end
(and written on a thread of its own: the watchdog never waits for the store), by the next refusal
after its end, and when the platform closes, so no refusal goes uncounted.

While a window is open its person's further refusals may be answered from memory before any other
work (`open_window`): the server already authenticated and recorded them once in this window.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from threshold.limits.watchdog import Watch, Watchdog

Key = tuple[int | None, str, str]
"""(person id, interface, kind of read): whose refusals one window counts."""
MAX_CALLERS = 16
"""Credentials remembered per window: enough for one person's tokens and session, bounded for a flood."""
Writer = Callable[[int, float, float], None]
"""Records `count` refusals seen from monotonic time `first` to `last` (one usage event)."""


@dataclass
class Window:
    opened: float
    ends: float
    write: Writer
    count: int = 0
    """Refusals in the window after the first (which was recorded when the window opened)."""
    first: float = 0.0
    last: float = 0.0
    watch: Watch | None = None
    callers: set[str] = field(default_factory=set)
    """Credentials (e.g. an API token's digest) known to be this key's person while the window is open."""


class Refusals:
    def __init__(
        self, window: float, clock: Callable[[], float], watchdog: Watchdog, *, background: bool = True
    ) -> None:
        self.window = window
        self.clock = clock
        self.watchdog = watchdog
        self.background = background
        """Write a window's count on a thread of its own, not the watchdog's (which must never wait for
        the metadata store to interrupt a query on time); False: at once (tests, without threads)."""
        self._writer: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._open: dict[Key, Window] = {}
        self._callers: dict[str, tuple[Key, str]] = {}

    def refused(self, key: Key, write: Writer) -> None:
        """Count one refusal of `key`: written at once (count 1) when it opens a window, else counted.

        `write` is how this key's refusals are recorded; the window keeps the one it was opened with."""
        now = self.clock()
        with self._lock:
            w = self._open.get(key)
            if w is not None and now < w.ends:
                w.last = now
                w.first = w.first or now
                w.count += 1
                return
            ended = self._pop(key)
            opened = Window(now, now + self.window, write)
            self._open[key] = opened
        if ended is not None:
            self._write(ended)
        write(1, now, now)
        opened.watch = self.watchdog.watch(opened.ends, lambda: self._close(key, opened))

    def remember(self, caller: str, key: Key, person: str) -> None:
        """`caller` (an opaque credential digest) authenticated as `person` and was refused as `key`: until
        the window ends its refusals may be counted without authenticating it again."""
        with self._lock:
            w = self._open.get(key)
            if w is not None and len(w.callers) < MAX_CALLERS:
                w.callers.add(caller)
                self._callers[caller] = (key, person)

    def known(self, caller: str) -> tuple[Key, str] | None:
        """The key and person `caller` was refused as, while that window is open."""
        with self._lock:
            return self._callers.get(caller)

    def count_open(self, key: Key) -> bool:
        """Count one more refusal of `key` if it has a window open now; False when it has none (the
        caller must then refuse in full, through `refused`)."""
        now = self.clock()
        with self._lock:
            w = self._open.get(key)
            if w is None or now >= w.ends:
                return False
            w.last = now
            w.first = w.first or now
            w.count += 1
            return True

    def pending(self, key: Key) -> int:
        """Refusals of `key` counted and not yet written (after the window's first)."""
        with self._lock:
            w = self._open.get(key)
            return w.count if w is not None else 0

    def flush(self) -> int:
        """Write every open window's count now (the platform is closing); returns the refusals written."""
        with self._lock:
            windows, self._open, self._callers = list(self._open.values()), {}, {}
        for w in windows:
            self._write(w)
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            writer.shutdown(wait=True)  # the windows the watchdog closed are written too
        return sum(w.count for w in windows)

    def _close(self, key: Key, w: Window) -> None:
        """The watchdog's call at a window's end."""
        with self._lock:
            if self._open.get(key) is w:
                self._pop(key)
            else:
                w = Window(0, 0, w.write, watch=w.watch)  # closed already (by a later refusal or a flush)
            writer = None
            if self.background and w.count:
                if self._writer is None:
                    self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="threshold-refusals")
                writer = self._writer
        if writer is None:
            self._write(w)
            return
        if w.watch is not None:
            self.watchdog.cancel(w.watch)
        writer.submit(self._write, w)

    def _pop(self, key: Key) -> Window | None:
        """Close `key`'s window (under the lock): its callers must authenticate again."""
        w = self._open.pop(key, None)
        for caller in w.callers if w is not None else ():
            self._callers.pop(caller, None)
        return w

    def _write(self, w: Window) -> None:
        if w.watch is not None:
            self.watchdog.cancel(w.watch)
        if w.count:
            w.write(w.count, w.first, w.last)
