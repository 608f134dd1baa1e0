"""Helpers of the limits tests (a module of its own: `conftest` names clash between test folders)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

RUNAWAY = "SELECT count(*) FROM range(100000000000000) a"
"""A query that would run for days: only a limit stops it."""


def until_done(thread: threading.Thread, step: Callable[[], None]) -> None:
    """Call `step` (move the clock, run the watchdog) until `thread` ends; no sleeping, no wall-clock bound."""
    while thread.is_alive():
        step()
        thread.join(0.02)


def in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Run `fn` in a thread; its result or error lands in the returned dict."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = fn()
        except BaseException as e:  # noqa: BLE001  (handed to the test)
            out["error"] = e

    t = threading.Thread(target=run)
    t.start()
    return t, out


def serve(listener: Any, home: str) -> None:
    """In a child (`tests/killed.py`): `threshold serve --home HOME` on the inherited listening socket `listener`
    (in place of the one `bind` takes); SIGUSR1 prints where its threads are (faulthandler, on its stderr)."""
    import faulthandler
    import signal
    import sys

    from threshold.cli import main
    from threshold.commands import serving

    faulthandler.register(signal.SIGUSR1)
    serving.bind = lambda host, port: listener
    sys.argv = ["threshold", "serve", "--home", home]
    main()
