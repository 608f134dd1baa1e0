"""Helpers of the limits tests (a module of its own: `conftest` names clash between test folders)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

RUNAWAY = "SELECT count(*) FROM range(100000000000000) a"
"""A query that would run for days: only a limit stops it."""


@contextmanager
def store_statements(store: Any) -> Iterator[list[str]]:
    """Every statement `store` runs while inside: through its engine (sessions) and its quick reads outside the
    engine (`Store.read_row`: a version, a request's token)."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    read_row = store.read_row

    def quick(sql: str, parameters: Any = None) -> Any:
        statements.append(sql)
        return read_row(sql, parameters)

    event.listen(store.engine, "before_cursor_execute", seen)
    store.read_row = quick
    try:
        yield statements
    finally:
        del store.read_row
        event.remove(store.engine, "before_cursor_execute", seen)


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
