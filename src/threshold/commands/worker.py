"""One worker process of `threshold serve --workers N` (started by `interface.supervisor`, never by hand).

The supervisor forks each worker from its own warm state (`preload`: the app's code imported and its route
table built, nothing opened), so a worker, first or replacement, starts by opening its platform. When the
supervisor cannot fork safely it starts a fresh interpreter instead:

    python -m threshold.commands.worker --fd 3 --home HOME [--pg-fd 4] --parent PID [--sweep]

Either way it serves the app on the listening socket it inherited (and the PostgreSQL front door on its own
one), with its own platform: its own engine, pools, journal of usage events and jobs scheduler. Every cache
it keeps of metadata is keyed on the store's metadata version, read at the start of each use, so what
another worker changed is seen by the next request this one answers (docs/deployment.md#several-api-workers).

Each response carries `X-Threshold-Worker`: a random name this process chose at start. It tells a client
(and a test) which worker answered and nothing else: not the process id, the host or the number of workers.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import secrets
import signal
import socket
import sys
from typing import Any

HEADER = b"x-threshold-worker"

PRELOAD = (
    "threshold.api.app",
    "threshold.interface.server",
    "threshold.jobs.scheduler",
    "threshold.cleanup",
    "threshold.engines.duckdb",
    "threshold.gateway.service",
    "threshold.usage.journal",
    "sqlglot.dialects.duckdb",
    "pyiceberg.catalog.sql",
    "pyiceberg.io.pyarrow",  # a first query's read plan: with pyarrow's datasets, ~0.4 s of CPU
)
"""What a worker imports before it answers (a module missing here is imported by each worker: slower, still
right); with `--pg-port`, the front door's too."""


class WorkerName:
    """ASGI middleware adding `X-Threshold-Worker: <name>` to every HTTP response."""

    def __init__(self, app: Any, name: str) -> None:
        self.app = app
        self.value = name.encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def named(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), (HEADER, self.value)]}
            await send(message)

        await self.app(scope, receive, named)


def preload(*, pg: bool = False) -> None:
    """Import what every worker runs and build what depends only on the code (the route table, the model
    mappers), in the supervisor, before any worker is forked: each worker then pays only for its own
    platform. Opens nothing and starts no thread (forking is safe only from a process with one thread)."""
    import importlib

    gc.disable()  # the imports' objects live as long as the process: collecting while importing finds nothing
    try:
        for name in (*PRELOAD, *(("threshold.pgwire.server",) if pg else ())):
            importlib.import_module(name)
        from sqlalchemy.orm import configure_mappers

        from threshold import capabilities
        from threshold.api.route_table import route_table

        capabilities.load()  # every capability's tables and subscriptions, as a platform's first use does
        configure_mappers()
        route_table()  # every route's dependency graph (~0.4 s of CPU), built once for all the workers
    finally:
        gc.enable()
    gc.collect()
    gc.freeze()  # the warm heap is never walked by a worker's collections (nor copied by touching it)


def _die_with(parent: int) -> None:
    """Be sent SIGTERM when the supervisor dies (Linux), and stop now if it already has."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        sys.exit(0)


def run(home: str, fd: int, pg_fd: int | None, *, parent: int, sweep: bool = False) -> None:
    """Serve as one worker on the inherited listening socket `fd` (and the front door's `pg_fd`) until
    SIGTERM; `sweep`: also clean up after killed writes in the background, as a starting server does (the
    supervisor asks its first worker)."""
    _die_with(parent)

    from threshold.api.app import create_app
    from threshold.interface.server import serve
    from threshold.platform import Platform

    sock = socket.socket(fileno=fd)
    platform = Platform.open(home)
    app = create_app(platform)
    app.add_middleware(WorkerName, name=secrets.token_hex(4))
    door = None
    if pg_fd is not None:
        from threshold.pgwire.server import FrontDoor

        door = FrontDoor(platform)
        door.start(socket.socket(fileno=pg_fd))
    if sweep:
        from threshold.cleanup import sweep_in_background

        sweep_in_background(platform, lambda line: print(line, file=sys.stderr, flush=True))
    serve(platform, app, sock, stopped=door.stop if door is not None else None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="threshold-worker")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--pg-fd", type=int)
    parser.add_argument("--home", required=True)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--sweep", action="store_true")
    args = parser.parse_args(argv)
    run(args.home, args.fd, args.pg_fd, parent=args.parent, sweep=args.sweep)


if __name__ == "__main__":
    main()
