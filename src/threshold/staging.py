"""Staging and upload folders: scratch space of running shares and uploads, owned by their process.

A folder is created with `own_folder`, which records its owner (pid, host and the process's start
time, so a pid reused by another process is not mistaken for it). `clean_staging` removes the folders
of owners that are gone, and folders of unknown owners once older than `cleanup_grace_minutes`. A
share cleans before it starts, `threshold init` and a server start do too. Previews (`previews_dir`)
are not scratch space: `sharing.staged` expires them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from threshold.settings import Settings

OWNER = "owner"
"""The file in a staging or upload folder naming the process that owns it."""


def own_folder(folder: Path) -> Path:
    """Create `folder` as this process's: the clean-up removes it once this process is gone."""
    folder.mkdir(parents=True)
    body = {"pid": os.getpid(), "host": socket.gethostname(), "started": _started(os.getpid())}
    (folder / OWNER).write_text(json.dumps(body))
    return folder


def _started(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (tells a reused pid from its first owner)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def owner_state(folder: Path) -> str:
    """`alive`, `dead` or `unknown` (no owner file, or owned by a process on another machine)."""
    try:
        owner = json.loads((folder / OWNER).read_text())
        pid, host, started = int(owner["pid"]), str(owner.get("host", "")), owner.get("started")
    except (OSError, ValueError, KeyError, TypeError):
        try:
            pid, host, started = int((folder / "pid").read_text()), socket.gethostname(), None  # older folders
        except (OSError, ValueError):
            return "unknown"
    if host != socket.gethostname():
        return "unknown"
    if not _pid_alive(pid):
        return "dead"
    if started is not None and _started(pid) not in (None, started):
        return "dead"  # the pid now belongs to another process
    return "alive"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def newest_change(path: Path) -> float:
    """The latest modification time of `path` or anything in it."""
    latest = _mtime(path)
    if path.is_dir():
        for p in path.rglob("*"):
            latest = max(latest, _mtime(p))
    return latest


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0


def folder_size(path: Path) -> int:
    total = 0
    for p in path.rglob("*"):
        try:
            total += p.lstat().st_size if p.is_file() else 0
        except OSError:
            pass
    return total


@dataclass(frozen=True)
class Folder:
    path: Path
    state: str
    bytes: int
    age_minutes: float
    removable: bool


def staging_folders(settings: Settings, *, now: float | None = None) -> list[Folder]:
    root = settings.staging_dir
    if not root.is_dir():
        return []
    now = time.time() if now is None else now
    grace = settings.cleanup_grace_minutes * 60
    out = []
    for d in sorted(root.iterdir()):
        if d == settings.previews_dir:
            continue  # uploads waiting in a preview outlive their process; they expire on their own clock
        state = owner_state(d) if d.is_dir() else "unknown"
        age = now - newest_change(d)
        size = folder_size(d) if d.is_dir() else _size(d)
        out.append(Folder(d, state, size, age / 60, _removable(state, age, grace)))
    return out


def _removable(state: str, age: float, grace: float) -> bool:
    return state == "dead" or (state == "unknown" and age >= grace)


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0


def clean_staging(settings: Settings, *, now: float | None = None) -> list[Folder]:
    """Remove staging and upload folders of processes that are gone. Returns what was removed."""
    removed = []
    for f in staging_folders(settings, now=now):
        if not f.removable:
            continue
        if f.path.is_dir():
            shutil.rmtree(f.path, ignore_errors=True)
        else:
            f.path.unlink(missing_ok=True)
        removed.append(f)
    return removed
