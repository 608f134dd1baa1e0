"""The resident helper: a warm process per home (and per code version, settings and credentials, its key)
that runs the CLI's read commands and `threshold share` for the thin client.

It imports the command code once, then forks one child per command. The child takes the caller's stdin,
stdout, stderr, working directory, umask and whole environment, and runs the very same in-process
command (`threshold.cli.run`): the same gateway call with `interface="cli"`, so usage and audit events are
those of an in-process run, and the same output, byte for byte. The child owns the connection: it passes
the caller's Ctrl-C on as SIGINT, interrupts itself when the caller goes away, and sends the exit code.

The helper never opens the home's store or engine itself (a child does, each time, so a migrated store
or changed settings are seen at once); it exits when idle for `resident_idle_seconds`, when its code
changes (an upgrade), or when its socket is no longer its own.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import io
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from threshold.resident import COMMANDS, protocol
from threshold.resident.protocol import Refused

log = logging.getLogger(__name__)

CHECK_SECONDS = 5.0
"""How often an idle helper checks that its code and its socket are unchanged."""

PRELOAD = (
    "threshold.cli",
    "threshold.capabilities",
    "threshold.commands.data",
    "threshold.gateway.service",
    "threshold.identity.service",
    "threshold.platform",
    "threshold.store.models",
    "threshold.engines.duckdb",
    "threshold.web.render",
    "threshold.interface.exports",
    "threshold.interface.tables",
    "threshold.catalog.service",
    "threshold.usage.service",
    "sqlglot.dialects.duckdb",
    "rich.console",
    "rich.table",
    "rich._emoji_codes",
    "click",
    "sqlalchemy.connectors",
    "sqlalchemy.dialects.sqlite",
    "typer._adapters",
)
"""What the read commands import (a module missing here is imported by each child: slower, still right)."""

LATER = (
    "threshold.sharing.service",
    "threshold.sharing.readers",
    "threshold.compliance.register",
    "pyiceberg.io.pyarrow",
    "pyiceberg.catalog.sql",
    "pyarrow.parquet",
    "rich.progress",
)
"""What `threshold share` imports besides (pyiceberg's file IO brings pyarrow's datasets and pandas: ~0.4 s of
CPU). Imported once the helper has been idle for `SETTLE_SECONDS` with no command running, so that neither the
first query (which waits for the helper to start) nor a running share's conversion pays for it."""

SETTLE_SECONDS = 0.2
"""How long a new helper waits for a first command before it imports `LATER`."""


class ChildEnded:
    """Wakes the helper's loop as soon as a child ends (SIGCHLD, through the signal wake-up descriptor): the
    helper reaps it and, free again, imports `LATER` at once, instead of at its next check (`CHECK_SECONDS`), when
    a share started meanwhile (say, a few seconds after a first `threshold datasets`) would have imported them
    itself, beside its own conversion. Installed in the helper's main thread; `close` puts back what was there."""

    def __init__(self) -> None:
        self.fd, self._write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._old_fd = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        self._old_handler = signal.signal(signal.SIGCHLD, _ignore)

    def drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self.fd, 512):
                pass

    def close(self) -> None:
        """In the helper when it leaves, and in each child (which must not wake the helper's loop)."""
        signal.set_wakeup_fd(self._old_fd)
        signal.signal(signal.SIGCHLD, self._old_handler)
        os.close(self.fd)
        os.close(self._write)


def _ignore(signum: int, frame: Any) -> None:
    """A Python handler, so that the signal reaches the wake-up descriptor (SIG_DFL would not)."""


def wait_for(listener: socket.socket, ended: ChildEnded, seconds: float) -> tuple[bool, bool]:
    """Wait up to `seconds` for a caller or a child's end: (a caller is waiting, a child ended)."""
    readable, _, _ = select.select([listener.fileno(), ended.fd], [], [], seconds)
    woken = ended.fd in readable
    if woken:
        ended.drain()
    return listener.fileno() in readable, woken


@dataclass
class Idle:
    """When an idle helper leaves: `seconds` after its last command ended, never while one runs."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    running: int = 0
    since: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.since = self.clock()

    def started(self) -> None:
        self.running += 1

    def ended(self) -> None:
        self.running = max(0, self.running - 1)
        self.since = self.clock()

    def remaining(self) -> float | None:
        """Seconds until the helper leaves; None while a command runs."""
        if self.running:
            return None
        return max(0.0, self.since + self.seconds - self.clock())


def serve(home: str, path: str, ready: int, expected: str, run: Callable[[], None], *, warm_first: bool = True) -> None:
    """Listen on `path` for the home at `home`, write b"R" on the descriptor `ready` once listening, and
    serve until idle; `expected` is the client's code fingerprint, `run` the in-process CLI (`cli.run`).

    `warm_first`: import and build what the read commands use before listening (their first one waits ~1 s
    for it, then answers at once). Off for a helper a `share` starts: it listens at once, and its first child
    imports what it needs beside its own early conversion, as an in-process share does; the helper warms up
    (`WARM`, then `LATER`) once that child has ended, a module at a time, letting a caller go first (`_preload`)."""
    from threshold.settings import Settings

    settings = Settings()
    if warm_first:
        _warm()
    code = protocol.code_fingerprint()
    if code != expected:
        return  # not the code of the client that started it (upgraded meanwhile): it runs the command itself
    _clear_stale(protocol.private_dir(home, create=True))
    listener = _listen(path)
    own = os.stat(path).st_ino
    os.write(ready, b"R")
    os.close(ready)
    idle = Idle(settings.resident_idle_seconds)
    children: set[int] = set()
    later = list(LATER) if warm_first else [*WARM, *LATER]
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    ended = ChildEnded()
    try:
        while True:
            _forget(children, idle)
            left = idle.remaining()
            if left is not None and left <= 0:
                return
            wait = CHECK_SECONDS if left is None else min(CHECK_SECONDS, left)
            if later and not children:
                wait = min(wait, SETTLE_SECONDS)
            calling, woken = wait_for(listener, ended, wait)
            if calling:
                with contextlib.suppress(OSError):
                    conn, _ = listener.accept()
                    _forget(children, idle)  # commands that ended while this one waited free their place
                    child = _take(conn, listener, ended, settings.resident_queries - len(children), run)
                    if child is not None:
                        children.add(child)
                        idle.started()
                    elif not _still_current(path, own, code):
                        return  # e.g. a new helper's probe (`_clear_stale`) after an upgrade: make way at once
            elif woken:
                continue  # a child ended: reaped at the top of the loop, then `LATER` after the settling wait
            elif later and not children:
                later = _preload(later, listener)
            elif not _still_current(path, own, code):
                return
    finally:
        ended.close()
        listener.close()
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == own:
                os.unlink(path)
                os.unlink(path[: -len(".sock")] + ".log")  # kept only when it did not leave on its own


BUILD = "(build)"
"""In a preload list: every capability's tables and subscriptions (as a platform's first use loads them), the
mappers, the commands as Click objects (Typer builds their options from the signatures), sqlglot's generators."""

WARM = (*PRELOAD, BUILD)
"""What the read commands use: imported and built before a helper listens, or, for a helper a first `share`
started, once that share has ended."""


def _warm() -> None:
    _preload(list(WARM), None)


def _build() -> None:
    from sqlalchemy.orm import configure_mappers

    from threshold import capabilities
    from threshold.commands.index import load

    capabilities.load()
    configure_mappers()
    load("data")
    _warm_sqlglot()


def _preload(names: list[str], listener: socket.socket | None) -> list[str]:
    """Import (or `BUILD`) these, one at a time, and keep them out of the children's collections (frozen: nor
    copied by touching them). A caller waiting on `listener` comes first: what is left is returned, for the next
    idle moment (that caller's child imports what it needs itself)."""
    gc.disable()  # what is imported lives as long as the helper: collecting meanwhile finds nothing
    try:
        for i, name in enumerate(names):
            if listener is not None and select.select([listener.fileno()], [], [], 0)[0]:
                return names[i:]
            if name == BUILD:
                _build()
                continue
            try:
                _import(name)
            except ImportError as e:  # an optional part missing: the child that needs it says so itself
                log.info("resident helper: cannot preload %s: %s", name, e)
        return []
    finally:
        gc.freeze()
        gc.enable()


def _import(name: str) -> None:
    importlib.import_module(name)


def _warm_sqlglot() -> None:
    """Build the SQL generators' dispatch tables once (each child would pay ~40 ms per dialect)."""
    import sqlglot

    tree = sqlglot.parse_one("select 1 as x from t where y = 'z' group by 1 order by 1 limit 1", read="duckdb")
    tree.sql()
    tree.sql(dialect="duckdb")


def _clear_stale(run: str) -> None:
    """Remove the sockets (and logs) of helpers that are gone, whatever their key: their clients (an older
    version, other settings) would clear only their own. Safe: helpers start one at a time per home (the
    client that starts one holds the home's start lock), so no other is between its bind and its listen."""
    for name in os.listdir(run):
        if not (name.startswith("query-") and name.endswith(".sock")):
            continue
        path = os.path.join(run, name)
        where, folder = protocol.address(path)
        try:
            protocol.check_socket_file(path)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.connect(where)
        except ConnectionRefusedError:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                os.unlink(path[: -len(".sock")] + ".log")
        except (OSError, Refused):
            pass
        finally:
            if folder is not None:
                os.close(folder)


def _listen(path: str) -> socket.socket:
    with contextlib.suppress(FileNotFoundError):
        protocol.check_socket_file(path)
        os.unlink(path)  # stale: the client that started this helper holds the start lock
    where, folder = protocol.address(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    umask = os.umask(0o177)  # the socket is born 0600
    try:
        listener.bind(where)
    finally:
        os.umask(umask)
        if folder is not None:
            os.close(folder)
    os.chmod(path, 0o600)
    listener.listen(16)
    return listener


def _still_current(path: str, own: int, code: str) -> bool:
    """The socket is still this helper's, and the installed code is still the code it runs."""
    try:
        if os.stat(path).st_ino != own:
            return False
    except FileNotFoundError:
        return False
    return protocol.code_fingerprint() == code


def _forget(children: set[int], idle: Idle) -> None:
    for pid in _reap(children):
        children.discard(pid)
        idle.ended()


def _reap(children: set[int]) -> list[int]:
    ended = []
    for pid in list(children):
        with contextlib.suppress(ChildProcessError):
            done, _ = os.waitpid(pid, os.WNOHANG)
            if not done:
                continue
        ended.append(pid)
    return ended


def _take(
    conn: socket.socket, listener: socket.socket, ended: ChildEnded, free: int, run: Callable[[], None]
) -> int | None:
    """Check the caller and its request, and fork the child that runs it; its pid, or None."""
    fds: list[int] = []
    try:
        conn.settimeout(protocol.ANSWER_SECONDS)
        protocol.check_peer(conn)
        request, _ = protocol.receive(conn)
        argv, env = request.get("argv"), request.get("env")
        if (
            not isinstance(argv, list)
            or not all(isinstance(a, str) for a in argv)
            or not argv
            or argv[0] not in COMMANDS
            or not isinstance(env, dict)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
            or not isinstance(request.get("umask"), int)
        ):
            raise ValueError("not a request")
        if free <= 0:
            protocol.send(conn, {"answer": "busy"})
            return None
        protocol.send(conn, {"answer": "ready"})
        go, fds = protocol.receive(conn, fds=4)
        if not go.get("go") or len(fds) != 4:
            return None
        request["digest"] = go.get("digest")
        pid = os.fork()
        if pid == 0:
            try:
                ended.close()
                _child(conn, listener, request, fds, run)
            finally:
                os._exit(70)  # a child never returns into the helper's loop
        return pid
    except (Refused, OSError, EOFError, ValueError) as e:
        log.info("resident helper: a caller was refused: %s", e)
        return None
    finally:
        conn.close()
        for fd in fds:
            os.close(fd)


def _child(
    conn: socket.socket, listener: socket.socket, request: dict[str, object], fds: list[int], run: Callable[[], None]
) -> None:
    """Become the caller's `threshold` process for one command, then exit with its code."""
    code = 70
    try:
        listener.close()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler if request.get("sigint", True) else signal.SIG_IGN)
        env = request["env"]
        assert isinstance(env, dict)
        os.environ.clear()
        os.environ.update(env)
        time.tzset()
        umask = request["umask"]
        assert isinstance(umask, int)
        os.umask(umask)
        stdin, stdout, stderr, cwd = fds
        os.fchdir(cwd)
        for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        fds.clear()
        _stdio()
        argv = request["argv"]
        assert isinstance(argv, list)
        sys.argv = [str(request.get("argv0") or "threshold"), *argv]
        if argv[0] == "share":
            # What a child of a helper that listened first imports lives to its end: no full collection walks it
            # (as `cli.main` does for an in-process share).
            gc.set_threshold(*gc.get_threshold()[:2], 1_000_000)
            if request.get("digest") is not None:
                from threshold.sharing.digest import accept

                accept(request["digest"])  # the client's, finished while this helper started
        conn.settimeout(None)
        threading.Thread(target=_watch, args=(conn,), daemon=True).start()
        code = _exit_code(run)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # done: a late Ctrl-C (or the caller leaving) changes nothing
        atexit._run_exitfuncs()  # what the in-process run does at exit (e.g. waiting for its deliveries)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
    except BaseException as e:  # a fault of the helper itself: one line, as the CLI says its own faults
        with contextlib.suppress(OSError):
            os.write(2, f"internal error ({type(e).__name__}): {str(e).splitlines()[0] if str(e) else ''}\n".encode())
    finally:
        with contextlib.suppress(OSError):
            protocol.send(conn, {"exit": code})
        os._exit(code)


def _exit_code(run: Callable[[], None]) -> int:
    try:
        run()
    except SystemExit as e:
        if e.code is None:
            return 0
        if isinstance(e.code, int):
            return e.code
        sys.stderr.write(f"{e.code}\n")
        return 1
    except KeyboardInterrupt:  # what the interpreter does with an interrupt that reached the top
        sys.stderr.write("interrupted\n")
        return 130
    return 0


def _stdio() -> None:
    """sys.stdin/stdout/stderr over descriptors 0-2, made as the interpreter makes them at start-up
    (a terminal's stdout is line-buffered; stderr always is)."""
    made = []
    for fd, mode, like in ((0, "rb", sys.__stdin__), (1, "wb", sys.__stdout__), (2, "wb", sys.__stderr__)):
        raw = io.FileIO(fd, mode, closefd=False)
        buffered: Any = io.BufferedReader(raw) if fd == 0 else io.BufferedWriter(raw)
        made.append(
            io.TextIOWrapper(
                buffered,
                encoding=getattr(like, "encoding", None) or "utf-8",
                errors=getattr(like, "errors", None) or ("backslashreplace" if fd == 2 else "strict"),
                line_buffering=fd == 2 or (fd == 1 and os.isatty(1)),
                write_through=bool(getattr(like, "write_through", False)),  # python -u
            )
        )
    sys.stdin, sys.stdout, sys.stderr = made
    for name, stream in zip(("__stdin__", "__stdout__", "__stderr__"), made, strict=True):
        setattr(sys, name, stream)  # Rich and friends look at these too


def _watch(conn: socket.socket) -> None:
    """The caller's Ctrl-C becomes this process's SIGINT; a caller gone (killed, closed) interrupts the
    command too, and ends this process if the command does not stop within a few seconds."""
    while True:
        try:
            message, _ = protocol.receive(conn)
        except (OSError, EOFError, ValueError):
            os.kill(os.getpid(), signal.SIGINT)
            threading.Timer(10.0, os._exit, args=(130,)).start()
            return
        if message.get("interrupt"):
            os.kill(os.getpid(), signal.SIGINT)
