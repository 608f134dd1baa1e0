"""One worker process of `threshold serve --workers N` (started by `interface.supervisor`, never by hand).

    python -m threshold.commands.worker --fd 3 --home HOME [--pg-fd 4] --parent PID

It serves the app on the listening socket it inherited (and the PostgreSQL front door on its own one), with
its own platform: its own engine, pools, journal of usage events and jobs scheduler. Every cache it keeps of
metadata is keyed on the store's metadata version, read at the start of each use, so what another worker
changed is seen by the next request this one answers (docs/deployment.md#several-api-workers).

Each response carries `X-Threshold-Worker`: a random name this process chose at start. It tells a client
(and a test) which worker answered and nothing else: not the process id, the host or the number of workers.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import secrets
import signal
import socket
import sys
from typing import Any

HEADER = b"x-threshold-worker"


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


def _die_with(parent: int) -> None:
    """Be sent SIGTERM when the supervisor dies (Linux), and stop now if it already has."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        sys.exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="threshold-worker")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--pg-fd", type=int)
    parser.add_argument("--home", required=True)
    parser.add_argument("--parent", type=int, required=True)
    args = parser.parse_args(argv)
    _die_with(args.parent)

    from threshold.api.app import create_app
    from threshold.interface.server import serve
    from threshold.platform import Platform

    sock = socket.socket(fileno=args.fd)
    platform = Platform.open(args.home)
    app = create_app(platform)
    app.add_middleware(WorkerName, name=secrets.token_hex(4))
    door = None
    if args.pg_fd is not None:
        from threshold.pgwire.server import FrontDoor

        door = FrontDoor(platform)
        door.start(socket.socket(fileno=args.pg_fd))
    serve(platform, app, sock, stopped=door.stop if door is not None else None)


if __name__ == "__main__":
    main()
