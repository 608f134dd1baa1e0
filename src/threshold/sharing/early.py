"""A plain CSV's conversion, started before the share's imports (`threshold share FILE.csv` in its own process).

An in-process `threshold share` spends ~1 s importing and opening the platform on one core before the share
reads a byte. For the common case (a CSV file shared as a new dataset, with no choices about its layout,
columns or types) the conversion depends on none of it: `start(argv)`, called by the CLI's entry point with
only the standard library, DuckDB and the CSV reader imported, reads the file with the share's own CSV reader
into a private staging folder of the home and starts DuckDB's COPY into Parquet with the types and Iceberg
field ids a new table gets (pyiceberg assigns a fresh schema ids 1..n in column order), while the rest imports.

Nothing of it is visible until the share itself publishes it. The share still checks everything in its order
(the domain and the person's membership, the visibility, the file, the name, `share_starting`'s guards, the
writer lock, the table's creation), then:

- `take(path, options, settings)` gives it the early read only for the very same file (unchanged since it was
  read), read with the same options, into the same home's staging folder and with the same engine settings;
- at the conversion, `Early.matches(src, select_sql, field_ids)` holds only when the share's own planned COPY
  is the same statement (the same source relation, select list and field ids); then the share waits for the
  early COPY (progress, errors and the encoding fall-back as for its own), else it stops it and converts itself.

Whatever does not take it discards it (`discard`: the COPY is interrupted, the folder removed), a refused share
included, and so does the process's exit (`atexit`); a killed process's folder is removed by the next share's
clean-up like any staging folder whose owner is gone.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    from threshold.settings import Settings
    from threshold.sharing.digest import SourceDigest
    from threshold.sharing.readers.source import ReadOptions, SourceTable

COPY_OPTIONS = "FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 122880"
"""How a share writes its Parquet (besides the field ids): the same for the early COPY and the share's own."""

_WITH_VALUE = {
    "--domain",
    "--name",
    "--as",
    "--mode",
    "--description",
    "--purpose",
    "--visibility",
    "--home",
    "--format",
    "--legal-basis",
    "--special-condition",
    "--retention",
    "--retention-column",
    "--subjects",
    "--controller",
    "--source-system",
}
"""Options of `threshold share` that change nothing about how the file is read and converted into a new table."""

_SUFFIXES = (".csv", ".tsv", ".txt", ".tab")

_READ_AS = {
    "BOOLEAN": "BOOLEAN",
    "INTEGER": "INTEGER",
    "BIGINT": "BIGINT",
    "FLOAT": "FLOAT",
    "DOUBLE": "DOUBLE",
    "DATE": "DATE",
    "TIME": "TIME",
    "TIMESTAMP": "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
    "VARCHAR": "VARCHAR",
    "BLOB": "BLOB",
}
"""Lake type -> the DuckDB type of the Iceberg column a new table gets for it (`lake.duckdb_type`)."""


def engine_config(settings: Settings, staging: Path) -> dict[str, Any]:
    """The share side's DuckDB settings (`service.share_connection`)."""
    config: dict[str, Any] = {
        "memory_limit": settings.limits.share_memory,
        "temp_directory": str(staging / "spill"),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "preserve_insertion_order": True,
    }
    if settings.engine_threads:
        config["threads"] = settings.engine_threads
    return config


def connect(settings: Settings, staging: Path) -> duckdb.DuckDBPyConnection:
    """The share side's own DuckDB: it may read the one source file; users' SQL never runs here."""
    con = duckdb.connect(":memory:", config=engine_config(settings, staging))
    con.execute("SET TimeZone = 'UTC'")
    return con


def plain_csv(argv: list[str]) -> tuple[Path, str | None] | None:
    """(file, --home) of `share FILE.csv ...` when nothing in the command changes how the file is read or what
    table it becomes beyond a new one (no --mode but create, no layout, column, encoding or delimiter choice,
    no preview); else None."""
    if len(argv) < 2 or argv[0] != "share" or argv[1].startswith("-"):
        return None
    path = Path(os.path.abspath(argv[1]))
    if path.suffix.lower() not in _SUFFIXES:
        return None
    home: str | None = None
    rest = iter(argv[2:])
    for arg in rest:
        option, eq, value = arg.partition("=")
        if option not in _WITH_VALUE:
            return None
        if not eq:
            value = next(rest, "")
        if option == "--mode" and value != "create":
            return None
        if option == "--home":
            home = value
    return path, home


class Early:
    """One early read and conversion: its staging folder, connection, the tables read, the COPY running."""

    def __init__(self, path: Path, home: str | None, digest: SourceDigest | None) -> None:
        from threshold.sharing.digest import identity

        self.path = path
        self.identity = identity(path)
        self._home = home
        self._digest = digest
        self.settings: Settings | None = None
        self.options: ReadOptions | None = None
        self.staging: Path | None = None
        self.con: duckdb.DuckDBPyConnection | None = None
        self.tables: list[SourceTable] = []
        self.source_info: dict[str, Any] = {}
        self.out: Path | None = None
        self.rows = 0
        self.error: BaseException | None = None
        self.used = False
        self.taken = False
        """The share took the early COPY's file (its own planned COPY was the same statement)."""
        self._key: tuple[str, str, str] | None = None  # (source SQL, select list, field ids) of the early COPY
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self._stopped = False
        self._read = threading.Event()  # the read is done (or given up): the tables and connection are settled
        self._done = threading.Event()  # the COPY ended (or never started)
        self._thread = threading.Thread(target=self._run, name="share-early", daemon=True)
        self._thread.start()

    # -- the thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            if self._prepare():
                self._convert()
        except BaseException:  # anything unexpected: the share reads and converts as if nothing had started
            self._give_up()
        finally:
            self._read.set()
            self._done.set()

    def _prepare(self) -> bool:
        """Read the file as the share will; start nothing when anything differs from the plain case."""
        from threshold.settings import Settings
        from threshold.sharing.incoming import incoming_columns, quote_ident
        from threshold.sharing.readers.csv import read_csv
        from threshold.sharing.readers.source import ReadOptions
        from threshold.staging import own_folder

        settings = Settings(home=Path(self._home)) if self._home else Settings()  # type: ignore[call-arg]
        if self.identity is None or not settings.staging_dir.is_dir():
            return False  # no such file, or no home: the share itself says so
        with self._lock:
            if self._stopped:
                return False
            self.settings = settings
            self.options = ReadOptions(limits=settings.limits)
            self.staging = own_folder(settings.staging_dir / uuid.uuid4().hex)
            self.con = connect(settings, self.staging)
        try:
            self.tables = read_csv(self.path, self.con, self.staging, self.options)
        except Exception:
            self._give_up()  # the share reads it again and says what is wrong
            return False
        self.source_info = {"source_name": self.path.name, "source_format": "csv"}
        if len(self.tables) != 1:
            return False
        src = self.tables[0]
        view = f"_early_{uuid.uuid4().hex[:8]}"
        src.relation.create_view(view)
        incoming = incoming_columns(self.con, view, src, self.path.name, {})
        self.con.execute(f"DROP VIEW {view}")
        read_as = [_READ_AS.get(t) or _decimal(t) for t in incoming.types]
        if None in read_as:
            return False
        select = ", ".join(
            f"CAST({expr} AS {t}) AS {quote_ident(n)}"
            for expr, n, t in zip(incoming.exprs, incoming.names, read_as, strict=True)
        )
        ids = "{" + ", ".join(f"{quote_ident(n)}: {i}" for i, n in enumerate(incoming.names, start=1)) + "}"
        self._key = (src.relation.sql_query(), select, ids)
        return True

    def _convert(self) -> None:
        assert self.con is not None and self.staging is not None and self._key is not None
        source, select, ids = self._key
        out = self.staging / f"{uuid.uuid4().hex}.parquet"
        with self._lock:
            if self._stopped:
                return
            self._cursor = self.con.cursor()  # its own connection to the same database: the share uses `con`
            self._cursor.execute("SET TimeZone = 'UTC'")
            self._cursor.execute("SET enable_progress_bar_print = false")  # progress goes to the share's own report
            self.out = out
        self._read.set()
        if self._digest is not None:
            self._digest.pause()  # the hash takes only what the conversion and the imports leave idle
        try:
            row = self._cursor.execute(
                f"COPY (SELECT {select} FROM ({source})) TO '{_quoted(str(out))}' ({COPY_OPTIONS}, FIELD_IDS {ids})"
            ).fetchall()
            self.rows = int(row[0][0]) if row else 0
        except duckdb.Error as e:
            self.error = e

    def _give_up(self) -> None:
        with self._lock:
            self._stopped = True
            con, staging = self.con, self.staging
            self.con = self.staging = None
        if con is not None:
            with contextlib.suppress(Exception):
                con.close()
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)

    # -- the share's side --------------------------------------------------------------------------

    def matches(self, src: SourceTable, select: str, ids: str) -> bool:
        """The share's planned COPY of `src` is the one running here (then the share waits for it: `wait`)."""
        self.used = (
            self._key is not None
            and self.out is not None
            and bool(self.tables)
            and src is self.tables[0]
            and self._key == (src.relation.sql_query(), select, ids)
        )
        return self.used

    def wait(self, report: Callable[[float], None]) -> int:
        """Rows written, once the early COPY is done (its progress reported on the way); its error, if it failed."""
        while not self._done.wait(0.25):
            cursor = self._cursor
            with contextlib.suppress(Exception):
                pct = cursor.query_progress() if cursor is not None else -1
                if pct is not None and pct >= 0:
                    report(min(pct / 100.0, 1.0))
        if self.error is not None:
            raise self.error
        return self.rows

    def stop(self) -> None:
        """Interrupt the early COPY (if it runs) and wait for the thread; the folder and connection stay."""
        with self._lock:
            self._stopped = True
            cursor = self._cursor
        if cursor is not None:
            with contextlib.suppress(Exception):
                cursor.interrupt()
        self._thread.join()
        if cursor is not None:
            with contextlib.suppress(Exception):
                cursor.close()
        if self.out is not None:
            self.out.unlink(missing_ok=True)
            self.out = None

    def discard(self) -> None:
        """Stop it and remove everything it made."""
        self.stop()
        self._give_up()


_lock = threading.Lock()
_early: Early | None = None
"""The early conversion `start` began in this process, until a share takes it."""


def start(argv: list[str], digest: SourceDigest | None = None) -> Early | None:
    """For `share FILE.csv ...` in the plain case (`plain_csv`): read and convert FILE now, on a thread."""
    global _early
    plain = plain_csv(argv)
    if plain is None:
        return None
    with _lock:
        if _early is not None:
            return None
        _early = Early(*plain, digest)
        atexit.unregister(discard_all)  # once, however many shares a process (a test run) starts
        atexit.register(discard_all)
        return _early


def take(path: Path, options: ReadOptions, settings: Settings) -> Early | None:
    """The early read of `path` when it is what the share would read now (the same file, unchanged, the same
    options, staging folder and engine settings): the share uses it and gives it back with `release`. Anything
    else is discarded. (It stays this module's until released, so that an interrupt between here and the
    share's clean-up still leaves it to the exit's.)"""
    global _early
    from threshold.sharing.digest import identity

    with _lock:
        early = _early
    if early is None or early.taken:
        return None
    early._read.wait()
    same = (
        early.con is not None
        and early.settings is not None
        and early.staging is not None
        and early.path == Path(os.path.abspath(path))
        and early.identity is not None
        and early.identity == identity(path)
        and early.options == options
        and early.settings.staging_dir == settings.staging_dir
        and engine_config(early.settings, early.staging) == engine_config(settings, early.staging)
    )
    if not same:
        discard_untaken()
        return None
    early.taken = True
    return early


def release(early: Early) -> None:
    """The share that took `early` is done with it (its folder and connection are the share's to remove):
    stop its COPY if it still runs."""
    global _early
    early.stop()
    with _lock:
        if _early is early:
            _early = None


def discard_untaken() -> None:
    """Discard the early conversion no share took (a refused share, a command that failed before it)."""
    global _early
    with _lock:
        early = _early
        if early is None or early.taken:
            return
        _early = None
    early.discard()


def discard_all() -> None:
    """At exit: whatever is left of an early conversion goes, taken or not."""
    global _early
    with _lock:
        early, _early = _early, None
    if early is not None:
        early.discard()


def _decimal(lake_type: str) -> str | None:
    if lake_type.startswith("DECIMAL(") and lake_type.endswith(")"):
        return lake_type.replace(" ", "")
    return None


def _quoted(text: str) -> str:
    return text.replace("'", "''")
