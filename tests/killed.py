"""Real child processes for the tests that kill one at a fault point (SIGKILL) or need one that has exited.

A fresh `python` per child pays a second or more of imports before it does anything. Here every child is
forked by a `multiprocessing` forkserver whose server imported this module, and with it the threshold
modules a child runs, once per test process: the child starts with everything imported, but with no
thread and no open DuckDB, SQLite or PostgreSQL connection (the server only imports: fork after DuckDB has
been opened is not safe). It is still a process of its own with its own pid, environment and descriptors:
it writes its own files, takes its own locks, dies by SIGKILL where the test puts the fault, and its exit
status is what `waitpid` says. What it leaves behind is checked exactly as after a `python -c` child.

    child = killed.threshold("share", csv, "--domain", "d", "--home", home, env=env,
                             kill_at="threshold.sharing.service:_publish")
    assert child.wait(60) == -signal.SIGKILL

`Child` answers like `subprocess.Popen` (`pid`, `poll`, `wait`, `communicate`, `returncode`, `terminate`);
its stdout and stderr go to files read when it has ended. Tests that need the installed entry point
itself (`python -m threshold.cli`: its exit code, its imports) keep a real `subprocess` instead.
"""

from __future__ import annotations

import atexit
import importlib
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any

PRELOAD = (
    "threshold.cli",
    "threshold.commands.data",
    "threshold.commands.serving",
    "threshold.catalog.search",
    "threshold.gateway.service",
    "threshold.identity.service",
    "threshold.interface.uploads",
    "threshold.interface.server",
    "threshold.platform",
    "threshold.sharing.service",
    "threshold.staging",
    "threshold.api.app",
    "threshold.engines.duckdb",
    "threshold.interface.exports",
    "threshold.interface.tables",
)
"""What the children run, imported once by the forkserver: the CLI and the commands the tests start,
sharing, the gateway, the server. Importing opens nothing."""

LAZY = (
    "pandas",
    "pyarrow.dataset",
    "pyiceberg.catalog.sql",
    "pyiceberg.io.pyarrow",
    "rich.console",
    "rich.markup",
    "rich.progress",
    "rich.table",
    "sqlalchemy.dialects.postgresql.psycopg",
    "threshold.resident.client",
    "threshold.sharing.readers.csv",
)
"""What those import only when they run (a share's first Iceberg commit, its progress bar, a PostgreSQL
store ...): ~400 modules, 0.3-0.4 s of every child's CPU when each imports them again."""

_SERVER = "TESTS_KILLED_FORKSERVER"
"""Set in the environment the forkserver starts with: importing this module there warms it up."""


def _warm() -> None:
    """In the forkserver: import `PRELOAD` and every capability with its event subscriptions (what a
    first share imports when it publishes), and build the app's route table (FastAPI's routes and their
    dependency graphs, a second or more that every `threshold serve` pays at start), with what else a
    child would do first (`LAZY`, the ORM's mappers, the learning tracks); then freeze it all out of the
    collector's walks. None of it leaves a file or a connection open or starts a thread."""
    import gc

    for name in (*PRELOAD, *LAZY):
        importlib.import_module(name)
    from sqlalchemy.orm import configure_mappers

    from threshold import capabilities
    from threshold.api.route_table import route_table
    from threshold.literacy import tracks

    capabilities.load()
    route_table()
    configure_mappers()  # the store's ORM mappers, which a child's first query would configure
    tracks.load()  # the shipped learning tracks (read once per process, by the first share's publication)
    # What is here now lives as long as the server and every child: no collection needs to walk it again
    # (in a child each walk would also copy every page it touches).
    gc.freeze()


if os.environ.get(_SERVER) == "1":
    _warm()

_CONTEXT: ForkServerContext | None = None


def _context() -> ForkServerContext:
    """The forkserver context, its server started (once per test process) and warmed up by importing this
    module. The server is started with this folder on PYTHONPATH: Python 3.11's forkserver imports its
    preload before it would take this process's `sys.path`."""
    global _CONTEXT
    if _CONTEXT is None:
        context = multiprocessing.get_context("forkserver")
        assert isinstance(context, ForkServerContext)
        context.set_forkserver_preload([__name__])
        saved = dict(os.environ)
        here = str(Path(__file__).resolve().parent)
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [here, saved.get("PYTHONPATH")]))
        os.environ[_SERVER] = "1"
        try:
            multiprocessing.forkserver.ensure_running()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        # Stopped and waited for when this process exits (multiprocessing leaves it to end on its own): its
        # CPU time and its children's then count in this process's, as a subprocess's do.
        atexit.register(multiprocessing.forkserver._forkserver._stop)  # type: ignore[attr-defined]
        _CONTEXT = context
    return _CONTEXT


def start_server() -> None:
    """Start the forkserver now rather than at the first child: its imports (seconds of one core) then run
    beside the caller's own set-up, such as a large file to generate, instead of before the first child."""
    _context()


class Child:
    """A started child: `subprocess.Popen`'s answers over a `multiprocessing.Process`."""

    def __init__(self, process: multiprocessing.process.BaseProcess, out: Path, err: Path) -> None:
        self.process, self._files = process, (out, err)
        self.returncode: int | None = None
        self._output = ("", "")

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def poll(self) -> int | None:
        """The exit status once the child has ended (then its output is read and its files removed)."""
        if self.returncode is None and not self.process.is_alive():
            self.process.join()
            self.returncode = self.process.exitcode
            out, err = (p.read_text(encoding="utf-8", errors="replace") for p in self._files)
            self._output = (out, err)
            for p in self._files:
                p.unlink(missing_ok=True)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self.process.join(timeout)
        if self.poll() is None:
            raise subprocess.TimeoutExpired(f"child {self.pid}", timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """Wait for the end, then (stdout, stderr)."""
        self.wait(timeout)
        return self._output

    def terminate(self) -> None:
        if self.poll() is None:
            os.kill(self.pid, signal.SIGTERM)

    def kill(self) -> None:
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)


def call(
    fn: Callable[..., Any],
    *args: Any,
    env: Mapping[str, str] | None = None,
    kill_at: str | None = None,
    replacements: Mapping[str, Any] | None = None,
    tmpfs: tuple[Path, str] | None = None,
) -> Child:
    """Start `fn(*args)` in a new child (`fn` a module-level function, `args` picklable; a socket is passed
    on as a descriptor). `env`: its whole environment (else this process's). `kill_at` ("module:attribute"):
    that function kills the child with SIGKILL when it is called. `replacements`: {"module:attribute":
    value} set in the child before `fn` runs. `tmpfs` (folder, size such as "4m"): the child first enters a
    user and mount namespace of its own (as `unshare -rm` does) and mounts a tmpfs of that size on the
    folder, which only it sees; when it cannot, it exits with `NO_NAMESPACE` and says why on stderr."""
    return _start(fn, args, env, kill_at, replacements or {}, tmpfs)


def threshold(
    *argv: str | Path,
    env: Mapping[str, str] | None = None,
    kill_at: str | None = None,
    replacements: Mapping[str, Any] | None = None,
) -> Child:
    """`threshold ARGV` (the CLI's `main`) in a new child; see `call`."""
    return _start(_cli, (tuple(map(str, argv)),), env, kill_at, replacements or {}, None)


def _start(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    env: Mapping[str, str] | None,
    kill_at: str | None,
    replacements: Mapping[str, Any],
    tmpfs: tuple[Path, str] | None,
) -> Child:
    out, err = (_output_file(name) for name in ("out", "err"))
    process = _context().Process(
        target=_child,
        args=(
            fn,
            args,
            dict(os.environ if env is None else env),
            str(out),
            str(err),
            kill_at,
            dict(replacements),
            tmpfs,
        ),
        daemon=False,
    )
    main = sys.modules["__main__"]
    script = main.__dict__.pop("__file__", None)  # else the child runs this process's main script again
    try:
        process.start()
    finally:
        if script is not None:
            main.__file__ = script
    return Child(process, out, err)


def _output_file(name: str) -> Path:
    fd, path = tempfile.mkstemp(prefix=f"threshold-child-{name}-")
    os.close(fd)
    return Path(path)


def _child(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    env: dict[str, str],
    out: str,
    err: str,
    kill_at: str | None,
    replacements: dict[str, Any],
    tmpfs: tuple[Path, str] | None,
) -> None:
    """In the child: take the environment and the output files, put the fault in place, run, exit as a
    process exits (its `atexit` work done: a usage journal flushed, background work drained)."""
    os.environ.clear()
    os.environ.update(env)
    for path, fd in ((out, 1), (err, 2)):
        target = os.open(path, os.O_WRONLY | os.O_TRUNC)
        os.dup2(target, fd)
        os.close(target)
    if tmpfs is not None:
        _mount_private_tmpfs(*tmpfs)
    if kill_at is not None:
        replacements = {**replacements, kill_at: _die}
    for where, value in replacements.items():
        module, attribute = where.split(":")
        setattr(importlib.import_module(module), attribute, value)
    try:
        fn(*args)
    finally:
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()


NO_NAMESPACE = 77
"""The exit code of a child that could not make the namespace for its `tmpfs`."""


def _mount_private_tmpfs(folder: Path, size: str) -> None:
    """`unshare -rm` then `mount -t tmpfs -o size=SIZE tmpfs FOLDER`, in this (single-threaded) child."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    clone_newns, clone_newuser, ms_rec, ms_private = 0x00020000, 0x10000000, 0x4000, 0x40000

    def check(result: int, what: str) -> None:
        if result != 0:
            print(
                f"cannot make a private mount namespace here: {what}: {os.strerror(ctypes.get_errno())}",
                file=sys.stderr,
            )
            sys.stderr.flush()
            os._exit(NO_NAMESPACE)

    check(libc.unshare(clone_newuser | clone_newns), "unshare")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
    Path("/proc/self/gid_map").write_text(f"0 {gid} 1")
    check(libc.mount(b"none", b"/", None, ms_rec | ms_private, None), "mount --make-rprivate /")
    check(libc.mount(b"tmpfs", str(folder).encode(), b"tmpfs", 0, f"size={size}".encode()), "mount tmpfs")


def _die(*args: Any, **kwargs: Any) -> None:
    """The fault: this process dies by SIGKILL, right here."""
    os.kill(os.getpid(), signal.SIGKILL)


def _cli(argv: tuple[str, ...]) -> None:
    from threshold.cli import main

    sys.argv = ["threshold", *argv]
    main()


def inherited(sock: Any, host: str, port: int) -> Any:
    """In place of `threshold.commands.serving.bind`: the listening socket the test bound and passed on."""
    return sock


def while_converting(home: Path, proc: Any) -> None:
    """Return once a share has written Parquet bytes into the home's staging folder (waiting on the process
    itself — a `subprocess.Popen` or a `Child` — which ends the wait at once if the share ends first)."""
    while not any(p.stat().st_size > 0 for p in (home / "staging").glob("*/*.parquet") if p.exists()):
        try:
            proc.wait(timeout=0.02)
        except subprocess.TimeoutExpired:
            continue
        raise AssertionError(f"the share ended before it could be interrupted: {proc.communicate()}")
