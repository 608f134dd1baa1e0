"""A long query yields the processor: past `limits.long_query_seconds`, while someone else has work, the
thread running it in DuckDB drops to the lowest scheduling priority (nice 19), so the short queries of
everyone else keep their speed while it runs on what the machine has spare. It gets its priority back
when nobody else has work, and when it ends.

The operating system lets a process lower a thread's priority but, without `CAP_SYS_NICE` or a
`RLIMIT_NICE` allowance, not raise it again; `supported()` tries both once (on a thread of its own) and
the demotion is skipped where the priority could not be given back.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator

from threshold.limits.watchdog import Watchdog

LOW = 19
"""The nice value of a long query's thread: it runs when nothing else wants the processor."""

_supported: bool | None = None


def _probe() -> bool:
    result: list[bool] = []

    def attempt() -> None:
        tid = threading.get_native_id()
        try:
            before = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(before + 1, LOW))
            os.setpriority(os.PRIO_PROCESS, tid, before)
            result.append(True)
        except (AttributeError, OSError):
            result.append(False)

    t = threading.Thread(target=attempt, name="threshold-priority-probe")
    t.start()
    t.join()
    return bool(result and result[0])


def supported() -> bool:
    """Whether this process may lower a thread's priority and give it back (checked once)."""
    global _supported
    if _supported is None:
        _supported = _probe()
    return _supported


class Demotion:
    """One thread's demotion: armed by the watchdog, undone when its work ends."""

    def __init__(self, tid: int) -> None:
        self.tid = tid
        self.before: int | None = None
        self._lock = threading.Lock()
        self._done = False

    def adjust(self, others_waiting: bool) -> None:
        """The watchdog's call, every quarter second past the grace: yield while others have work, take
        the priority back when they have none (a lone heavy query runs at full speed)."""
        if others_waiting:
            self.lower()
        else:
            self.raise_back()

    def raise_back(self) -> None:
        with self._lock:
            if self.before is not None and not self._done:
                with contextlib.suppress(OSError):
                    os.setpriority(os.PRIO_PROCESS, self.tid, self.before)
                self.before = None

    def lower(self) -> None:
        with self._lock:
            if self._done or self.before is not None:
                return
            try:
                before = os.getpriority(os.PRIO_PROCESS, self.tid)
                if before < LOW:
                    os.setpriority(os.PRIO_PROCESS, self.tid, LOW)
                    self.before = before
            except OSError:
                pass  # the thread is gone, or the system says no: it keeps its priority

    def restore(self) -> None:
        with self._lock:
            self._done = True
            if self.before is not None:
                with contextlib.suppress(OSError):
                    os.setpriority(os.PRIO_PROCESS, self.tid, self.before)
                self.before = None


@contextlib.contextmanager
def yields_after(
    watchdog: Watchdog,
    clock: Callable[[], float],
    seconds: float,
    others: Callable[[], bool] = lambda: True,
    *,
    enabled: bool | None = None,
    at_once: bool = False,
) -> Iterator[Demotion | None]:
    """Run the block on this thread at its priority for `seconds`, then at the lowest one while `others()`
    (someone else has work); its priority back after it. `at_once`: yield from the start (its person
    already has a long query running: this one is most likely another).

    `seconds` <= 0, or a system that would not give the priority back (`enabled` overrides the probe,
    for tests), runs the block as it is."""
    if seconds <= 0 or not (supported() if enabled is None else enabled):
        yield None
        return
    demotion = Demotion(threading.get_native_id())
    if at_once:
        demotion.adjust(others())
    watch = watchdog.watch(clock() + (watchdog.repeat if at_once else seconds), lambda: demotion.adjust(others()))
    try:
        yield demotion
    finally:
        watchdog.cancel(watch)
        demotion.restore()
