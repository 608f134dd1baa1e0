"""A small lake to operate on: datasets written by real shares, read through the real gateway."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pyarrow as pa

import killed
import s3homes
from threshold.gateway.service import query
from threshold.identity.service import ADMIN, get_person
from threshold.platform import Platform
from threshold.sharing.service import share
from threshold.staging import own_folder


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


def _share_numbers(home: str, ident: str, first: int, n: int, mode: str) -> None:
    """In a child: share `numbers(first, n)` into `ident` of the home at `home`, as the admin."""
    platform = Platform.open(Path(home))
    domain, name = ident.split(".", 1)
    share(platform, numbers(first, n), domain=domain, name=name, mode=mode, user=get_person(platform, ADMIN))


def killed_share(platform: Platform, ident: str, first: int, n: int, mode: str) -> None:
    """A share in its own process, killed with SIGKILL right after its Iceberg commit, before it publishes."""
    child = killed.call(
        _share_numbers,
        str(platform.settings.home_dir),
        ident,
        first,
        n,
        mode,
        env={**os.environ, **s3homes.subprocess_env(platform.settings)},  # THRESHOLD_TEST_WAREHOUSE=s3
        kill_at="threshold.sharing.service:_publish",
    )
    assert child.wait(120) == -signal.SIGKILL, child.communicate()[1]


def dead_folder(folder: Path) -> Path:
    """`folder` made as a staging folder of a process that has exited since (as a killed share or server
    leaves it)."""
    child = killed.call(own_folder, folder)
    assert child.wait(60) == 0, child.communicate()[1]
    return folder


def share_onto_a_full_disk(home: Path, big: Path, small: Path) -> None:
    """In a child whose `home` is on a small disk: share `small` as d.kept, then `big` as a new d.big and
    appended to d.kept; print (JSON) how each ended and what the home holds afterwards."""
    import json

    from threshold.errors import ThresholdError
    from threshold.identity.service import add_domain, ensure_admin

    p = Platform.open(home, must_exist=False)
    p.init()
    ensure_admin(p)
    add_domain(p, "d")
    admin = get_person(p, ADMIN)
    share(p, small, domain="d", name="kept", user=admin)
    out: dict[str, Any] = {}
    for mode, name in (("create", "big"), ("append", "kept")):
        try:
            share(p, big, domain="d", name=name, mode=mode, user=admin, evolve=True)
            out[mode] = {"ok": True}
        except ThresholdError as e:
            out[mode] = {"error": type(e).__name__, "message": str(e), "code": e.exit_code}
    files = {str(f.relative_to(home)): f.stat().st_size for f in home.rglob("*") if f.is_file()}
    out["empty_files"] = sorted(f for f, size in files.items() if size == 0 and not f.startswith("locks/"))
    out["staging"] = sorted(str(f.relative_to(home)) for f in (home / "staging").rglob("*"))
    out["tables"] = p.lake.identifiers()
    out["kept_rows"] = rows(p, "SELECT count(*) AS n FROM d.kept")[0]["n"]
    out["data_files"] = sorted(f for f in files if f.endswith(".parquet"))
    print(json.dumps(out))
