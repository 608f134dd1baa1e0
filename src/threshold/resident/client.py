"""The thin client: hand a read command to the home's resident helper, or say it cannot (then the CLI runs
it in-process as always). Standard library only, and nothing printed of its own: the caller sees exactly
what the command prints, from the helper's child or from the in-process run.

    code = forward(sys.argv[1:])   # an exit code, or None: run the command here
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from threshold.resident import COMMANDS, protocol
from threshold.resident.protocol import Refused

if TYPE_CHECKING:
    from threshold.sharing.digest import SourceDigest

START_SECONDS = 10.0
"""Default of `resident_start_seconds`: how long the first call waits for a new helper to be ready."""


def forward(
    argv: list[str],
    env: Mapping[str, str] | None = None,
    stdio: tuple[int, int, int] = (0, 1, 2),
) -> int | None:
    """Run `threshold ARGV` in the home's resident helper (starting it when there is none) on these
    descriptors: the command's exit code, or None when the helper is off, cannot be trusted, is busy,
    or does not answer in time (nothing has run: the caller runs the command itself)."""
    environ = dict(os.environ if env is None else env)
    if not argv or argv[0] not in COMMANDS or not protocol.enabled(environ):
        return None
    if not hasattr(socket, "SO_PEERCRED") or not hasattr(os, "fork"):
        return None
    try:
        cwd = os.getcwd()
        home = protocol.home_dir(argv, environ, cwd)
        if not os.path.isdir(home):
            return None  # the in-process run says "no Threshold home at ..."
        protocol.private_dir(home, create=True)
        code = protocol.code_fingerprint()
        path = protocol.socket_path(home, protocol.helper_key(environ, code))
        conn, digest = _connect(path, environ), None
        if conn is None:
            conn, digest = _start(home, path, code, environ, argv)
    except (Refused, OSError, TimeoutError):
        return None  # a digest started meanwhile stays for the in-process share (`digest.for_source`)
    if conn is None:
        return None
    with conn:
        return _run(conn, argv, environ, stdio, digest)


def _connect(path: str, env: dict[str, str]) -> socket.socket | None:
    """A connection to a trusted helper at `path`, or None when there is none (or only its stale socket)."""
    try:
        protocol.check_socket_file(path)
    except FileNotFoundError:
        return None
    where, folder = protocol.address(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(protocol.answer_seconds(env))
        sock.connect(where)
        protocol.check_peer(sock)
    except (ConnectionRefusedError, FileNotFoundError):
        sock.close()
        return None
    except BaseException:
        sock.close()
        raise
    finally:
        if folder is not None:
            os.close(folder)
    return sock


def _start(
    home: str, path: str, code: str, env: dict[str, str], argv: list[str]
) -> tuple[socket.socket | None, SourceDigest | None]:
    """Start the helper (one at a time per socket: the others wait for it under a lock) and connect; and the
    digest of a shared file, started meanwhile (`threshold.sharing.digest`)."""
    started = None
    run = os.path.dirname(path)
    lock = os.open(protocol.start_lock(home), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        wait = protocol.number(env, "THRESHOLD_RESIDENT_START_SECONDS", START_SECONDS)
        with _locked(lock, wait):
            conn = _connect(path, env)  # another client started it while this one waited
            if conn is not None:
                return conn, None
            with contextlib.suppress(FileNotFoundError):
                protocol.check_socket_file(path)  # a stale socket of ours (its helper is gone): remove it
                os.unlink(path)
            extra: list[str] = []
            if argv[0] == "share":
                # The helper listens before it warms up (`helper.serve`): its first child imports what the share
                # needs beside its early conversion. The file's SHA-256 meanwhile, on the other core.
                from threshold.sharing.digest import start_early

                started = start_early(argv)
                extra.append(protocol.LISTEN_FIRST)
            if not _spawn([home, path, code], run, path, env, wait, extra):
                return None, started
            return _connect(path, env), started
    finally:
        os.close(lock)


@contextlib.contextmanager
def _locked(fd: int, seconds: float) -> Iterator[None]:
    """An exclusive lock on `fd`, given up after `seconds` (TimeoutError)."""
    import fcntl

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError("the resident helper's start lock is held")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _spawn(args: list[str], run: str, path: str, env: dict[str, str], seconds: float, extra: list[str]) -> bool:
    """Start a helper in its own session, detached from this terminal; True once it listens."""
    import select
    import subprocess

    ready, signal_ready = os.pipe()
    log = os.open(path[: -len(".sock")] + ".log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        code = "from threshold.cli import serve_resident; serve_resident()"
        subprocess.Popen(
            [sys.executable, "-c", code, *args, str(signal_ready), *extra],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            cwd=run,
            env=env,
            pass_fds=(signal_ready,),
            start_new_session=True,
        )
    finally:
        os.close(log)
        os.close(signal_ready)
    try:
        readable, _, _ = select.select([ready], [], [], seconds)
        return bool(readable) and os.read(ready, 1) == b"R"  # EOF: it failed to start
    finally:
        os.close(ready)


def _run(
    conn: socket.socket,
    argv: list[str],
    env: dict[str, str],
    stdio: tuple[int, int, int],
    digest: SourceDigest | None = None,
) -> int | None:
    """Send the command; None unless the helper takes it; else wait for its exit code, passing Ctrl-C on.
    A shared file's digest finished while the helper started goes with it (an unfinished one stops)."""
    umask = os.umask(0o077)
    os.umask(umask)
    cwd = os.open(".", os.O_RDONLY | os.O_CLOEXEC)
    try:
        request = {
            "argv": argv,
            "argv0": sys.argv[0] if sys.argv else "threshold",
            "env": env,
            "umask": umask,
            "sigint": signal.getsignal(signal.SIGINT) is not signal.SIG_IGN,  # ignored (a background job): so there
        }
        protocol.send(conn, request)
        answer, _ = protocol.receive(conn)
        if answer.get("answer") != "ready":
            return None  # busy: nothing ran
        # The descriptors go only to a helper that answered: a hung one must not hold this process's
        # stdout open (a pipe's reader would wait for it) while the command runs here instead.
        go: dict[str, object] = {"go": True}
        if digest is not None:
            from threshold.sharing.digest import handed_over

            go["digest"] = handed_over(digest)
        protocol.send(conn, go, [*stdio, cwd])  # from here on the command runs there, and only there
    except (OSError, EOFError, ValueError):
        return None
    finally:
        os.close(cwd)
    conn.settimeout(None)
    interrupted = 0

    def interrupt(signum: int, frame: object) -> None:
        nonlocal interrupted
        interrupted += 1
        if interrupted > 1:
            raise KeyboardInterrupt  # a second Ctrl-C: stop waiting (the child is told by the closed socket)
        with contextlib.suppress(OSError):
            protocol.send(conn, {"interrupt": True})

    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, interrupt)
    try:
        message, _ = protocol.receive(conn)
        code = message.get("exit")
        return code if isinstance(code, int) else 1
    except KeyboardInterrupt:
        os.write(stdio[2], b"interrupted\n")
        return 130
    except (OSError, EOFError, ValueError):
        os.write(stdio[2], b"error: the resident query helper stopped before the command finished; run it again\n")
        return 1
    finally:
        if previous is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, previous)
