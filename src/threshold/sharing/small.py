"""Small shares run on a cursor of one DuckDB database of the process instead of a database of their own.

Opening a DuckDB database costs ~20 ms of CPU (50-100 ms wall on a loaded 2-core machine): a sixth of what
sharing a file of a few hundred rows costs otherwise, and the test suite builds its organisations from
thousands of such shares. A share that creates or replaces a dataset (its profile then reads only the new
rows), or appends to one whose published files hold at most `SMALL_BYTES` (its profile reads those and the
new rows), from a file of at most `SMALL_BYTES`, not compressed (`COMPRESSED`), or from an Arrow table or a
pandas DataFrame that holds at most `SMALL_BYTES` in memory, gets instead a cursor of the process's database
for its engine settings (`early.engine_config`, the spill folder aside):

- isolation: the cursor ATTACHes an in-memory catalog of its own and USEs it, so the views the share creates
  are invisible to other shares, and DETACH drops them all; TEMP tables, registered frames and session
  settings (TimeZone) are the cursor's own anyway;
- memory: the database's `memory_limit` is `limits.share_memory`, as a share's own database has, but for all
  the small shares of the process together (each needs a few megabytes);
- spilling is off (no `temp_directory`): nothing is ever written outside the share's own staging folder,
  and nothing of it outlives the share; a small share that needed more than the whole limit would fail with
  DuckDB's out-of-memory error instead of spilling.

A forked child opens its own database (the key holds the pid). Users' SQL never runs here.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from threshold.sharing.early import engine_config

if TYPE_CHECKING:
    from threshold.settings import Settings

SMALL_BYTES = 1 << 20
"""Largest source file (bytes) shared on the process's database rather than a database of its own."""
SMALL_MODES = ("create", "replace")
"""Modes whose share reads nothing but the source (an append also reads the published rows, and a merge keeps
those in a table of its own)."""

_lock = threading.Lock()
_databases: dict[tuple[Any, ...], duckdb.DuckDBPyConnection] = {}
_forked_away: list[duckdb.DuckDBPyConnection] = []

COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".zip")
"""Suffixes of sources whose content may be many times their size: they keep a database of their own (and
its spilling), however small the file."""


def is_small(source: Any, mode: str, published: int | None = None) -> bool:
    """The share of `source` in `mode` runs on the process's database (`cursor`). `published`: for an append,
    the bytes of the dataset's published files (None: not known, which keeps a database of its own).

    The published size is read before the share takes the dataset's lock: should another share make the
    dataset larger in between, the profile still reads at most `profile_sample_rows` of its rows."""
    if mode == "append":
        if published is None or published > SMALL_BYTES:
            return False
    elif mode not in SMALL_MODES:
        return False
    if isinstance(source, pa.Table):
        return source.nbytes <= SMALL_BYTES
    if type(source).__module__.startswith("pandas") and type(source).__name__ == "DataFrame":
        # Without `deep` an object column counts a pointer per value: a cheap refusal of the large frames
        # before the deep count, which visits every string.
        return bool(
            source.memory_usage(index=True).sum() <= SMALL_BYTES
            and source.memory_usage(index=True, deep=True).sum() <= SMALL_BYTES
        )
    if not isinstance(source, (str, os.PathLike)):
        return False
    path = Path(source)
    if path.suffix.lower() in COMPRESSED:
        return False
    try:
        return path.stat().st_size <= SMALL_BYTES
    except OSError:
        return False


def cursor(settings: Settings) -> tuple[duckdb.DuckDBPyConnection, Callable[[], None]]:
    """A cursor in a catalog of its own on the process's small-share database, and what closes both."""
    config = {k: v for k, v in engine_config(settings, Path()).items() if k != "temp_directory"}
    key = (os.getpid(), *sorted(config.items()))
    with _lock:
        db = _databases.get(key)
        if db is None:
            for stale in [k for k in _databases if k[0] != os.getpid()]:
                # A parent's database, copied by fork: not usable here, and not to be closed here either (its
                # threads were not copied; closing would wait for them): kept aside, untouched, until exit.
                _forked_away.append(_databases.pop(stale))
            db = _databases[key] = duckdb.connect(":memory:", config={**config, "temp_directory": ""})
        con = db.cursor()
    catalog = f"share_{uuid.uuid4().hex}"
    try:
        con.execute(f"ATTACH ':memory:' AS {catalog}")
        con.execute(f"USE {catalog}")
        con.execute("SET TimeZone = 'UTC'")
    except BaseException:
        con.close()
        raise

    def close() -> None:
        try:
            with contextlib.suppress(duckdb.Error):
                con.execute("USE memory")
                con.execute(f"DETACH {catalog}")
        finally:
            con.close()

    return con, close
