"""One thread that stops work which outlives its deadline (a query past its time limit).

`watch(deadline, stop)` registers a stop function; at the deadline the watchdog calls it, and again
every `repeat` seconds until the watch is cancelled, because an interrupt that lands between two
steps of a query (before DuckDB started it, while the result waits for a slow client) must not be
lost. The clock is injected: tests pass their own and call `check()` instead of starting the thread.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]


@dataclass
class Watch:
    deadline: float
    stop: Callable[[], None]
    id: int
    fired: bool = False
    """The deadline passed and `stop` was called at least once."""
    next_at: float = field(default=0.0)
    cancelled: bool = False


class Watchdog:
    def __init__(self, clock: Clock = time.monotonic, *, thread: bool = True, repeat: float = 0.25) -> None:
        self.clock = clock
        self.repeat = repeat
        self._watches: dict[int, Watch] = {}
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None
        if thread:
            self._thread = threading.Thread(target=self._loop, name="threshold-watchdog", daemon=True)
            self._thread.start()

    def watch(self, deadline: float, stop: Callable[[], None]) -> Watch:
        with self._cond:
            w = Watch(deadline, stop, next(self._ids), next_at=deadline)
            self._watches[w.id] = w
            self._cond.notify()
        return w

    def cancel(self, w: Watch) -> None:
        with self._cond:
            w.cancelled = True
            self._watches.pop(w.id, None)

    def check(self) -> int:
        """Call `stop` of every watch whose time has come; returns how many were called."""
        now = self.clock()
        with self._cond:
            due = [w for w in self._watches.values() if w.next_at <= now]
            for w in due:
                w.fired = True
                w.next_at = now + self.repeat
        for w in due:
            if not w.cancelled:
                try:
                    w.stop()
                except Exception:  # a stop that fails (query already gone) must not stop the watchdog
                    pass
        return len(due)

    def __len__(self) -> int:
        with self._cond:
            return len(self._watches)

    def stop(self) -> None:
        """End the watchdog's thread (the platform is closing)."""
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def _loop(self) -> None:
        while not self._stopped:
            with self._cond:
                if self._stopped:
                    return
                if self._watches:
                    wait = min(w.next_at for w in self._watches.values()) - self.clock()
                else:
                    wait = None
                if wait is None or wait > 0:
                    self._cond.wait(timeout=wait)
            self.check()
