"""The HTTP server process: uvicorn serving the app, and how it stops.

On SIGTERM or SIGINT the server stops accepting connections and, at once, interrupts every query still
running in DuckDB (`limits.stop_all`): a request waiting for a runaway query is answered (503, "the server
is stopping"), a streamed result ends with that line, and no request holds the stop for its query's
time limit. Connections that still have not finished after `GRACE_SECONDS` are closed. The platform is
closed last (usage events written, the engine and the store released) and the process exits normally,
so nothing it was writing is left half-done.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn

from threshold.platform import Platform

GRACE_SECONDS = 3
"""How long a stopping server waits for its open connections once their queries were interrupted."""


class Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, platform: Platform) -> None:
        super().__init__(config)
        self.platform = platform

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        # uvicorn raises the signal again once it has stopped; the default action of SIGTERM would end the
        # process there, before the platform is closed (usage events still in the journal lost).
        captured = getattr(self, "_captured_signals", None)
        if isinstance(captured, list):
            captured.clear()
        # Signal handlers run on the main thread between two bytecodes, possibly while it holds a lock
        # of the admission: the queries are interrupted from a thread of their own.
        threading.Thread(target=self.platform.limits.stop_all, name="threshold-stop", daemon=True).start()


def serve(platform: Platform, app: Any, sock: Any, *, stopped: Callable[[], None] | None = None) -> None:
    """Serve `app` on the bound socket `sock` until a signal stops it, then call `stopped` (what else the
    process served, e.g. the PostgreSQL front door) and close `platform`."""
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=GRACE_SECONDS)
    try:
        Server(config, platform).run(sockets=[sock])
    finally:
        try:
            if stopped is not None:
                stopped()
        finally:
            platform.close()
        # The interpreter's last full collection walks every object left (seconds on a server's heap);
        # frozen objects are skipped, and the process is ending anyway.
        gc.freeze()
