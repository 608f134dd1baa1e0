"""An event loop for tests that drive the ASGI app call by call, whose worker threads outlive each call.

`asyncio.Runner().run(coro)` makes each call its own root task; anyio stops the worker threads of a root
task when it ends, so every request of a walk started a new thread for the app's sync dependencies and
endpoints, and every new thread opened its own SQLite connection for the store's version reads (about
1.7 ms of CPU each, more than most requests cost). A server keeps its workers; `LastingLoop` does the same:
the loop runs in a thread of its own under one lasting task (anyio's blocking portal, as Starlette's
`TestClient` does), and `run` hands it each coroutine. Close it in a `finally`: its threads are not daemons,
and a loop left open keeps the test process from exiting.
"""

from __future__ import annotations

from collections.abc import Coroutine
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

T = TypeVar("T")


class LastingLoop:
    """`run` and `close` as `asyncio.Runner`'s, on one loop whose worker threads stay between calls."""

    def __init__(self) -> None:
        self._started: AbstractContextManager[BlockingPortal] = start_blocking_portal()
        self._portal = self._started.__enter__()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        async def awaited() -> T:
            return await coro

        return self._portal.call(awaited)

    def close(self) -> None:
        self._started.__exit__(None, None, None)
