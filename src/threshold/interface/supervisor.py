"""Several API workers behind one address: the parent process of `threshold serve --workers N`.

The parent binds the listening socket once and starts N worker processes (`commands.worker`) that inherit
it: the kernel hands each new connection to one of the workers waiting in `accept`, so uploads, streamed
results and keep-alive connections stay with the worker that accepted them. The parent serves nothing
itself. A worker is the parent forked (`fork`): the parent imported the workers' code once and holds
nothing open but the listening sockets, so a worker, first or replacement, starts by opening its own
platform, as gunicorn's `--preload` does. Forking is safe only while the parent runs one Python thread (a
lock held by another thread at the fork stays held forever in the child): when it runs more, a worker is
a fresh interpreter running `command` instead. The parent

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

import atexit
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from types import FrameType

MAX_EXITS = 3
"""Worker exits within `EXIT_WINDOW_SECONDS`, beyond one per worker, after which the server stops."""
EXIT_WINDOW_SECONDS = 30.0
KILL_AFTER_SECONDS = 30.0
"""A worker that has not stopped this long after SIGTERM is killed (its own grace is `server.GRACE_SECONDS`)."""


class Supervisor:
    """Run `workers` worker processes sharing the inherited `fds`, with the environment `env`; keep them
    running until a signal.

    A worker is this process forked, running what `fork(index)` returned (called here, before the fork); or,
    without `fork` or when forking is unsafe, the program `command(index)` started with only `fds` open."""

    def __init__(
        self,
        command: Callable[[int], Sequence[str]],
        workers: int,
        *,
        fds: Sequence[int],
        env: dict[str, str],
        say: Callable[[str], None],
        fork: Callable[[int], Callable[[], None]] | None = None,
    ) -> None:
        self.command = command
        self.fork = fork
        self.workers = workers
        self.fds = tuple(fds)
        self.env = env
        self.say = say
        self._children: dict[int, tuple[int, subprocess.Popen[bytes] | None]] = {}
        self._said_unsafe = False
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
                if proc is not None:
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
        threads = _threads()
        if self.fork is not None and threads == 1:
            pid, proc = self._forked(self.fork(index)), None
        else:
            if self.fork is not None and not self._said_unsafe and not self._stopping:  # stopping: the killer's thread
                self._said_unsafe = True
                self.say(f"the supervisor runs {threads} threads: workers start as new processes (slower)")
            proc = subprocess.Popen(
                list(self.command(index)), pass_fds=self.fds, env=self.env, start_new_session=True, close_fds=True
            )
            pid = proc.pid
        self._children[pid] = (index, proc)
        if self._stopping:  # the signal came while it was starting
            _signal(pid, signal.SIGTERM)

    def _forked(self, work: Callable[[], None]) -> int:
        """Fork a worker that runs `work` and exits with its code; its pid (in this process)."""
        for stream in (sys.stdout, sys.stderr):
            stream.flush()  # what this process buffered is written once, by it, not again by each worker
        pid = os.fork()
        if pid:
            return pid
        code = 70
        try:
            os.setsid()  # a session of its own, as a started worker: a terminal's Ctrl-C reaches the parent only
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent's handlers are not the worker's
            signal.signal(signal.SIGINT, signal.default_int_handler)
            os.environ.clear()
            os.environ.update(self.env)  # what a started worker would be given (its share of the limits)
            work()
            code = 0
        except SystemExit as e:
            if isinstance(e.code, int) or e.code is None:
                code = e.code or 0
            else:
                print(e.code, file=sys.stderr)
                code = 1
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            try:
                atexit._run_exitfuncs()  # what the interpreter does when a started worker ends
                for stream in (sys.stdout, sys.stderr):
                    stream.flush()
            finally:
                os._exit(code)  # never back into the supervisor's loop

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


def _threads() -> int:
    """Python threads running in this process. One is the condition for forking: a lock another Python thread
    holds at the fork (logging's, a pool's, the import lock) stays held forever in the child. The native
    threads libraries keep while idle (jemalloc's, OpenBLAS's, Arrow's pools) stop or reset themselves around
    a fork (`pthread_atfork`); DuckDB's end when its connection closes (the platform is closed before)."""
    return threading.active_count()


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
