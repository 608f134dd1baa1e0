"""Disk space: how much is free where, and a full disk said plainly (which folder, how much is needed)."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from threshold.errors import OutOfSpace

_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def is_full(e: BaseException) -> bool:
    """An error that means a disk (or a quota, or a file size limit) is full, from the OS, pyarrow or DuckDB."""
    if isinstance(e, OSError) and e.errno in _FULL:
        return True
    text = str(e).lower()
    return "no space left on device" in text or "disk quota exceeded" in text or "file too large" in text


def free_bytes(path: Path) -> int:
    """Free bytes on the file system holding `path` (or its nearest existing parent)."""
    for p in (path, *path.parents):
        if p.exists():
            return shutil.disk_usage(p).free
    return 0


def human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def full_error(where: Path, what: str, *, need: int) -> OutOfSpace:
    """The one-line error for a full disk under `where` (e.g. "the warehouse"), with what is free and needed."""
    free = free_bytes(where)
    needed = f", about {human(need)} is needed" if need > 0 else ""
    return OutOfSpace(
        f"the disk holding {what} {where} is full ({human(free)} free{needed}); nothing was changed: "
        "free some space or move it to a larger disk, then try again"
    )


def check_room(where: Path, what: str, need: int) -> None:
    """Refuse up front when `need` bytes plainly do not fit under `where`."""
    if need > 0 and free_bytes(where) < need:
        raise full_error(where, what, need=need)
