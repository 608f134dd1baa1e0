"""What the thin client and the resident helper agree on: where the socket lives and how it is checked,
which helper serves which caller (its key), and how messages are framed.

Standard library only: every `threshold query` imports this before anything else.

Trust: the socket lives in `<home>/run/` (a folder of mode 0700 owned by the person running `threshold`),
is itself mode 0600, and both ends check the other's user id with SO_PEERCRED: a helper serves only its
own user, and a client hands its terminal only to a helper of its own user. Anyone who may use the home
may already run any command on it (the CLI acts as `--as` says, default the admin), so the helper widens
nothing as long as it is the same user's process running the same command.
"""

from __future__ import annotations

import array
import hashlib
import json
import os
import socket
import stat
import struct
import sys

RUN_DIR = "run"
"""Folder inside the home that holds the helpers' sockets and spawn lock."""

ENV_PREFIXES = ("THRESHOLD_", "PYTHON", "LC_", "LANG")
"""Environment a helper is started with and keyed on: Threshold's settings and what shapes the interpreter
(its flags, its text encoding). The child that runs a command gets the caller's whole environment."""

ANSWER_SECONDS = 2.0
"""Default of `resident_answer_seconds` (how long a client waits for a running helper to answer before it runs
the command itself); and how long a helper waits for a caller's request."""

CLIENT_ONLY = frozenset({"THRESHOLD_RESIDENT_START_SECONDS", "THRESHOLD_RESIDENT_ANSWER_SECONDS"})
"""Settings only the client reads (how long it waits for a helper): not part of a helper's key, so that a
caller with another patience is served by the same helper."""

MAX_FRAME = 4 * 1024 * 1024
"""Largest message (a request carries the command line and the environment)."""

_FDS = 4  # stdin, stdout, stderr and the working directory


class Refused(Exception):
    """The other end, or the socket's place, cannot be trusted or used: run the command in-process."""


LISTEN_FIRST = "listen-first"
"""The helper's optional argument after READY-FD: listen before warming up (`helper.serve`), as a first `share`
starts it."""


def truthy(value: str) -> bool | None:
    """A boolean setting as pydantic reads it (True, False, or None when it is not a boolean)."""
    v = value.strip().lower()
    if v in ("1", "true", "t", "yes", "y", "on"):
        return True
    if v in ("0", "false", "f", "no", "n", "off"):
        return False
    return None


def enabled(env: dict[str, str] | os._Environ[str]) -> bool:
    """`THRESHOLD_RESIDENT` decides when it is set; unset, the helper is on except under pytest or CI."""
    if "THRESHOLD_RESIDENT" in env:
        return truthy(env["THRESHOLD_RESIDENT"]) is True
    if "PYTEST_CURRENT_TEST" in env or env.get("CI", "").strip().lower() not in ("", "0", "false"):
        return False
    return not under_pytest()


def under_pytest(levels: int = 4) -> bool:
    """A process above this one is pytest (tests often run `threshold` with an environment of their own)."""
    pid = os.getpid()
    for _ in range(levels):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                pid = int(f.read().rsplit(b")", 1)[1].split()[1])
            if pid <= 1:
                return False
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"pytest" in f.read():
                    return True
        except (OSError, ValueError, IndexError):
            return False
    return False


def number(env: dict[str, str] | os._Environ[str], name: str, default: float) -> float:
    """A numeric setting from the environment (the helper validates it with the settings module)."""
    try:
        return float(env.get(name, default))
    except ValueError:
        return default


def answer_seconds(env: dict[str, str] | os._Environ[str]) -> float:
    """`resident_answer_seconds`: how long a client waits for a helper's answer (a hung one costs this much)."""
    seconds = number(env, "THRESHOLD_RESIDENT_ANSWER_SECONDS", ANSWER_SECONDS)
    return seconds if 0 < seconds <= 600 else ANSWER_SECONDS


def home_dir(argv: list[str], env: dict[str, str] | os._Environ[str], cwd: str) -> str:
    """The home a command line names, as the CLI resolves it: `--home`, else THRESHOLD_HOME, else ./.threshold."""
    home = env.get("THRESHOLD_HOME") or ".threshold"
    args = iter(argv[1:])
    for arg in args:
        if arg == "--":
            break
        if arg == "--home":
            home = next(args, home)
        elif arg.startswith("--home="):
            home = arg.split("=", 1)[1]
    return os.path.realpath(os.path.join(cwd, os.path.expanduser(home)))


def code_fingerprint() -> str:
    """Changes when the installed code changes: every file of the `threshold` package (path, size, mtime),
    the interpreter, and the site-packages folders (a dependency installed, upgraded or removed)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(sys.executable.encode())
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    stack = [package]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.name == "__pycache__":
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                st = entry.stat()
                digest.update(f"{entry.path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    for path in sys.path:
        if path.endswith("-packages") and os.path.isdir(path):
            digest.update(f"{path}\0{os.stat(path).st_mtime_ns}\n".encode())
    return digest.hexdigest()


def credentials() -> str:
    """This process's user, group and supplementary groups: what decides which files it may read."""
    return f"{os.geteuid()}:{os.getegid()}:{','.join(str(g) for g in sorted(set(os.getgroups())))}"


def helper_key(env: dict[str, str] | os._Environ[str], code: str | None = None, creds: str | None = None) -> str:
    """Which helper may serve a caller: same code, same interpreter settings and Threshold settings, and the
    same credentials (a helper's child reads the files a command names, `threshold share`, with the helper's
    groups: a caller in other groups gets a helper of its own, started with its own)."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update((code or code_fingerprint()).encode())
    digest.update(f"\0{credentials() if creds is None else creds}\0".encode())
    for name in sorted(n for n in env if n.startswith(ENV_PREFIXES) and n not in CLIENT_ONLY):
        digest.update(f"{name}={env[name]}\0".encode())
    return digest.hexdigest()


def socket_path(home: str, key: str) -> str:
    return os.path.join(home, RUN_DIR, f"query-{key}.sock")


def start_lock(home: str) -> str:
    """The lock a client holds while it starts a helper (one file per home, never removed)."""
    return os.path.join(home, RUN_DIR, "start.lock")


def private_dir(home: str, *, create: bool) -> str:
    """`<home>/run`, a folder only its owner (this user) may enter; Refused otherwise."""
    path = os.path.join(home, RUN_DIR)
    if create:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        except OSError as e:
            raise Refused(f"cannot create {path}: {e.strerror}") from e
    try:
        st = os.lstat(path)
    except OSError as e:
        raise Refused(f"no {path}") from e
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        raise Refused(f"{path} is not a private folder of this user")
    return path


def check_socket_file(path: str) -> None:
    """The socket file is a socket of this user that nobody else may open; Refused otherwise."""
    st = os.lstat(path)  # FileNotFoundError: no helper
    if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        raise Refused(f"{path} is not a private socket of this user")


def peer(sock: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a connected Unix socket (SO_PEERCRED)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", creds)
    return pid, uid, gid


def check_peer(sock: socket.socket, uid: int | None = None, gid: int | None = None) -> int:
    """The peer's pid when it runs as `uid` and group `gid` (default: this process's effective user and
    group); Refused otherwise."""
    pid, peer_uid, peer_gid = peer(sock)
    if peer_uid != (os.geteuid() if uid is None else uid):
        raise Refused(f"peer process {pid} runs as another user ({peer_uid})")
    if peer_gid != (os.getegid() if gid is None else gid):
        raise Refused(f"peer process {pid} runs in another group ({peer_gid})")
    return pid


def address(path: str) -> tuple[str, int | None]:
    """An address for bind/connect: the path itself, or (past the 107 bytes a Unix socket's name may have)
    the same file reached through an open descriptor of its folder (closed by the caller)."""
    if len(os.fsencode(path)) < 100:
        return path, None
    folder = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    return f"/proc/self/fd/{folder}/{os.path.basename(path)}", folder


def send(sock: socket.socket, message: dict[str, object], fds: list[int] | None = None) -> None:
    """One message: 4 bytes of length, then JSON; descriptors ride along with its first byte."""
    data = json.dumps(message).encode()
    frame = struct.pack("!I", len(data)) + data
    if fds:
        sent = sock.sendmsg([frame], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
        frame = frame[sent:]
    if frame:
        sock.sendall(frame)


def receive(sock: socket.socket, *, fds: int = 0) -> tuple[dict[str, object], list[int]]:
    """One message and the descriptors it carried. EOFError when the other end closed; socket.timeout
    after the socket's timeout; ValueError for a malformed message."""
    received: list[int] = []
    head = b""
    while len(head) < 4:
        if fds and not received and not head:
            data, ancillary, _, _ = sock.recvmsg(4, socket.CMSG_SPACE(_FDS * array.array("i").itemsize))
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    usable = len(payload) - len(payload) % array.array("i").itemsize
                    received.extend(array.array("i", payload[:usable]))
        else:
            data = sock.recv(4 - len(head))
        if not data:
            _close(received)
            raise EOFError
        head += data
    (size,) = struct.unpack("!I", head)
    if size > MAX_FRAME:
        _close(received)
        raise ValueError("message too large")
    body = b""
    while len(body) < size:
        chunk = sock.recv(min(65536, size - len(body)))
        if not chunk:
            _close(received)
            raise EOFError
        body += chunk
    try:
        message = json.loads(body)
    except ValueError:
        _close(received)
        raise
    if not isinstance(message, dict) or len(received) > fds:
        _close(received)
        raise ValueError("not a message")
    return message, received


def _close(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)
