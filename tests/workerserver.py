"""A real `threshold serve --workers N` on PostgreSQL for the tests that need one (tests/workers): started on a
socket this process bound (so the address is known before any worker runs) and stopped with everything it
forked. One start and one stop for every such test, so that a change to how a server is run is made once.

The server's parent (the supervisor) is a child of the test process's warm forkserver (`tests/killed.py`), as
the single servers of tests/operations are: it starts with the CLI, the app and its route table imported (a
fresh `python` paid ~3 s of one core for them before its first worker), then runs `threshold serve` exactly
as a started one does: it opens the home, plans the jobs, preloads and forks its workers. `warm()` starts the
forkserver ahead, so that its imports run beside the caller's own set-up (copying a home)."""

from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import killed
import s3homes
from threshold.platform import Platform


def children(pid: int) -> list[int]:
    """A process's children, by the kernel's list (a supervisor's workers)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def warm() -> None:
    """Start the forkserver the servers are forked from now (once per test process; at once if it runs)."""
    killed.start_server()


@dataclass
class Server:
    url: str
    """`http://127.0.0.1:PORT`, without a path."""
    proc: killed.Child
    err: str = field(default="")
    """The server's standard error, once it has stopped."""

    def workers(self) -> list[int]:
        return children(self.proc.pid)


@contextmanager
def serving(platform: Platform, workers: int, settings: dict[str, str]) -> Iterator[Server]:
    """The server on `platform`'s home with `workers` workers and the extra `settings` (environment variables),
    stopped on leaving (SIGTERM, then SIGKILL for anything still alive); `Server.err` then holds its stderr."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # requests wait in the backlog until a worker accepts them
    env = {
        **os.environ,
        **s3homes.subprocess_env(platform.settings),
        "THRESHOLD_DATABASE_URL": str(platform.settings.database_url),
        **settings,
    }
    proc = killed.threshold(
        "serve",
        "--home",
        str(platform.settings.home_dir),
        "--workers",
        str(workers),
        env=env,
        replacements={"threshold.commands.serving:bind": functools.partial(killed.inherited, listener)},
    )
    server = Server(f"http://127.0.0.1:{listener.getsockname()[1]}", proc)
    listener.close()  # the server holds its own copy
    forked: list[int] = []
    try:
        yield server
    finally:
        forked = server.workers()
        proc.terminate()
        try:
            _, server.err = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, server.err = proc.communicate()
        for pid in forked:
            if Path(f"/proc/{pid}").exists():
                os.kill(pid, signal.SIGKILL)
