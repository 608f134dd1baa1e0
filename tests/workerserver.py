"""A real `threshold serve --workers N` on PostgreSQL for the tests that need one (tests/workers): started on a
socket this process bound (so the address is known before any worker runs) and stopped with everything it
forked. One start and one stop for every such test, so that a change to how a server is run is made once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import s3homes
from threshold.platform import Platform

SERVE = (
    "import socket, sys\n"
    "fd, home, n = int(sys.argv[1]), sys.argv[2], sys.argv[3]\n"
    "from threshold.commands import serving\n"
    "serving.bind = lambda host, port: socket.socket(fileno=fd)\n"
    "from threshold.cli import main\n"
    "sys.argv = ['threshold', 'serve', '--home', home, '--workers', n]\n"
    "main()\n"
)
"""`threshold serve --workers N` on an inherited socket (in place of the one `bind` takes)."""


def children(pid: int) -> list[int]:
    """A process's children, by the kernel's list (a supervisor's workers)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


@dataclass
class Server:
    url: str
    """`http://127.0.0.1:PORT`, without a path."""
    proc: subprocess.Popen[str]
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
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(listener.fileno()), str(platform.settings.home_dir), str(workers)],
        pass_fds=(listener.fileno(),),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = Server(f"http://127.0.0.1:{listener.getsockname()[1]}", proc)
    listener.close()
    forked: list[int] = []
    try:
        yield server
    finally:
        forked = server.workers()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            _, server.err = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, server.err = proc.communicate()
        for pid in forked:
            if Path(f"/proc/{pid}").exists():
                os.kill(pid, signal.SIGKILL)
