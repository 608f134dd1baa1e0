"""The clock and the executor of the jobs core, injected through the platform (`platform.clock`,
`platform.executor`) so that tests replace them and never sleep.

- a clock returns the current time (UTC, aware);
- an executor runs a piece of work "soon": `background` in a daemon thread (a short-lived process such
  as the CLI waits for those at exit, within a bound), `inline` at once in the caller's thread.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Executor = Callable[[Callable[[], object]], None]

_outstanding: list[threading.Thread] = []
_lock = threading.Lock()


def system_clock() -> datetime:
    return datetime.now(UTC)


def inline(work: Callable[[], object]) -> None:
    """Run `work` now, in the caller's thread (tests; a command that must finish its sends)."""
    _quietly(work)


def background(work: Callable[[], object]) -> None:
    """Run `work` in a daemon thread; `drain()` (at exit) waits for it within a bound."""
    t = threading.Thread(target=_quietly, args=(work,), name="threshold-job", daemon=True)
    with _lock:
        _outstanding[:] = [x for x in _outstanding if x.is_alive()] + [t]
    t.start()


@atexit.register
def drain(timeout: float = 10.0) -> None:
    """Wait, within `timeout` seconds, for background work started by this process, and for the work
    that work started meanwhile (tests call this instead of polling for a delivery)."""
    deadline = time.monotonic() + timeout
    while True:
        with _lock:
            threads = [t for t in _outstanding if t.is_alive()]
        if not threads or time.monotonic() >= deadline:
            return
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))


def _quietly(work: Callable[[], object]) -> None:
    try:
        work()
    except Exception:  # background work records its own outcome; the thread must not die loudly
        log.exception("background work failed")
