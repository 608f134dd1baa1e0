"""A small lake to operate on: datasets written by real shares, read through the real gateway."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa

import s3homes
from threshold.gateway.service import query
from threshold.identity.service import ADMIN, get_person
from threshold.platform import Platform
from threshold.sharing.service import share


def numbers(first: int, n: int) -> pa.Table:
    """Rows `first .. first+n-1`: `id` says which share a row came from, `label` gives each file some bulk."""
    return pa.table(
        {"id": pa.array(range(first, first + n), pa.int64()), "label": [f"row {i}" for i in range(first, first + n)]}
    )


def put(platform: Platform, ident: str, first: int, n: int, *, mode: str = "append", user: str = ADMIN) -> Any:
    domain, name = ident.split(".", 1)
    [result] = share(platform, numbers(first, n), domain=domain, name=name, mode=mode, user=get_person(platform, user))
    return result


def rows(platform: Platform, sql: str) -> list[dict[str, Any]]:
    return query(platform, sql, user=get_person(platform, ADMIN)).table.to_pylist()


def count(platform: Platform, ident: str, version: int | None = None) -> int:
    travel = f" FOR VERSION AS OF {version}" if version is not None else ""
    return int(rows(platform, f"SELECT count(*) AS n FROM {ident}{travel}")[0]["n"])


def table_files(platform: Platform, ident: str) -> set[str]:
    """Every file in a table's folder (on the object store too), relative to it."""
    folder = platform.lake.table_dir(ident)
    return {str(p.relative_to(folder)) for p in platform.lake.files.listing(folder)}


def older(path: Path, seconds: float) -> None:
    """Make a file look `seconds` older (what the clean-up's grace period reads)."""
    import os

    st = path.stat()
    os.utime(path, (st.st_atime - seconds, st.st_mtime - seconds))


def added_file(platform: Platform, ident: str, snapshot: int, parent: int | None) -> Path:
    """The one data file `snapshot` added over `parent`."""
    from threshold.lakefiles import live_files

    table = platform.lake.load(ident)
    before = set(live_files(platform.lake, table, parent)) if parent is not None else set()
    [path] = set(live_files(platform.lake, table, snapshot)) - before
    return path


KILL_AT_PUBLISH = (
    "import os, signal, sys\n"
    "import pyarrow as pa\n"
    "from threshold.sharing import service\n"
    "from threshold.platform import Platform\n"
    "from threshold.identity.service import get_person\n"
    "service._publish = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)\n"
    "home, ident, first, n, mode = sys.argv[1:6]\n"
    "p = Platform.open(home)\n"
    "d, name = ident.split('.')\n"
    "t = pa.table({'id': pa.array(range(int(first), int(first) + int(n)), pa.int64()),"
    " 'label': [f'row {i}' for i in range(int(first), int(first) + int(n))]})\n"
    "service.share(p, t, domain=d, name=name, mode=mode, user=get_person(p, 'admin'))\n"
)
"""A share in its own process, killed with SIGKILL right after its Iceberg commit, before it publishes."""


def killed_share(platform: Platform, ident: str, first: int, n: int, mode: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", KILL_AT_PUBLISH, str(platform.settings.home_dir), ident, str(first), str(n), mode],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **s3homes.subprocess_env(platform.settings)},  # THRESHOLD_TEST_WAREHOUSE=s3
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
