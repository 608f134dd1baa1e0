"""Several API workers behind one address: the parent process of `threshold serve --workers N`.

The parent binds the listening socket once and starts N worker processes (`commands.worker`) that inherit
it: the kernel hands each new connection to one of the workers waiting in `accept`, so uploads, streamed
results and keep-alive connections stay with the worker that accepted them. The parent serves nothing
itself. It

- starts another worker when one exits (killed, crashed, out of memory), unless workers keep exiting at
  start (a configuration error: `MAX_EXITS` exits within `EXIT_WINDOW_SECONDS` stop the server, with
  the workers' own errors above the last line);
- stops every worker on SIGTERM or SIGINT by sending each one SIGTERM (each stops as one server does,
  `interface.server`: its queries interrupted, its connections answered, its platform closed), and kills
  those that have not exited `KILL_AFTER_SECONDS` later.

Workers run in a session of their own (a terminal's Ctrl-C reaches the parent only, which stops them in
order) and are told by the kernel when the parent dies, so a killed parent leaves no worker behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from types import FrameType

MAX_EXITS = 3
"""Worker exits within `EXIT_WINDOW_SECONDS`, beyond one per worker, after which the server stops."""
EXIT_WINDOW_SECONDS = 30.0
KILL_AFTER_SECONDS = 30.0
"""A worker that has not stopped this long after SIGTERM is killed (its own grace is `server.GRACE_SECONDS`)."""


class Supervisor:
    """Run `command(index)` as `workers` processes sharing the inherited `fds`; keep them running until a signal."""

    def __init__(
        self,
        command: Callable[[int], Sequence[str]],
        workers: int,
        *,
        fds: Sequence[int],
        env: dict[str, str],
        say: Callable[[str], None],
    ) -> None:
        self.command = command
        self.workers = workers
        self.fds = tuple(fds)
        self.env = env
        self.say = say
        self._children: dict[int, tuple[int, subprocess.Popen[bytes]]] = {}
        self._stopping = False
        self._exits: deque[float] = deque()
        self._killer: threading.Timer | None = None
        self.failed = False

    def run(self) -> int:
        """Serve until SIGTERM or SIGINT (0), or until workers keep exiting (1)."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for index in range(self.workers):
                self._spawn(index)
            while self._children:
                try:
                    pid, status = os.wait()  # returns when a worker exits; a signal's handler runs meanwhile
                except ChildProcessError:
                    break
                entry = self._children.pop(pid, None)
                if entry is None:
                    continue
                index, proc = entry
                code = os.waitstatus_to_exitcode(status)
                proc.returncode = code  # reaped here, not by Popen.wait
                if not self._stopping:
                    self._replace(index, pid, code)
        finally:
            if self._killer is not None:
                self._killer.cancel()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 1 if self.failed else 0

    def pids(self) -> list[int]:
        return sorted(self._children)

    def _spawn(self, index: int) -> None:
        proc = subprocess.Popen(
            list(self.command(index)), pass_fds=self.fds, env=self.env, start_new_session=True, close_fds=True
        )
        self._children[proc.pid] = (index, proc)
        if self._stopping:  # the signal came while it was starting
            _signal(proc.pid, signal.SIGTERM)

    def _replace(self, index: int, pid: int, code: int) -> None:
        now = time.monotonic()
        self._exits.append(now)
        while self._exits and self._exits[0] < now - EXIT_WINDOW_SECONDS:
            self._exits.popleft()
        how = f"signal {-code}" if code < 0 else f"code {code}"
        if len(self._exits) > self.workers + MAX_EXITS:
            self.say(
                f"workers keep exiting ({len(self._exits)} in {EXIT_WINDOW_SECONDS:.0f} s, the last with {how}): "
                "stopping the server; their errors are above"
            )
            self.failed = True
            self._stop()
            return
        self.say(f"worker {index + 1} (pid {pid}) exited with {how}; starting another")
        self._spawn(index)

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        for pid in list(self._children):
            _signal(pid, signal.SIGTERM)
        self._killer = threading.Timer(KILL_AFTER_SECONDS, self._kill_remaining)
        self._killer.daemon = True
        self._killer.start()

    def _kill_remaining(self) -> None:
        for pid in list(self._children):
            self.say(f"worker pid {pid} did not stop within {KILL_AFTER_SECONDS:.0f} s of SIGTERM: killed")
            _signal(pid, signal.SIGKILL)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
