"""The second wall: a DuckDB that can read the warehouse folder and nothing else.

Configured in this order (DuckDB refuses another): allowed directories, then external access off,
then configuration locked. Autoloading extensions and Python replacement scans are off, so even
SQL that got past the parser cannot reach files, URLs, extensions, settings or other databases.
Each query runs on its own cursor: its temporary views die with it.
"""

from __future__ import annotations

import re
import threading
import time
import weakref
from collections.abc import Mapping

import duckdb
import pyarrow as pa
from duckdb import _seam

from threshold.errors import InvalidInput, LimitExceeded
from threshold.lake import ReadPlan, _quote_ident, _quote_str
from threshold.limits.machine import engine_memory
from threshold.settings import Settings
from threshold.sql import plain_errors

VIEW_SCHEMA = '"__thr"'
MAX_VIEWS = 5000
_VALUE_ERRORS = ("Conversion Error", "Out of Range Error", "Invalid Input Error", "Constraint Error")


def engine_error(e: BaseException, hide: tuple[str, ...] = ()) -> str:
    """DuckDB's message in one line, with quoted values blanked where the message could echo data,
    and the folders in `hide` (warehouse, home) never named: e.g. a data file gone missing."""
    text = " ".join(str(e).split("\n")[0].split())
    for path in sorted(hide, key=len, reverse=True):
        text = text.replace(path, "…")
    if text.startswith(_VALUE_ERRORS) or "convert" in text.lower():
        text = re.sub(r"'(?:[^']|'')*'", "'…'", text)
    for name in ("__thr_",):
        text = re.sub(name + r"[0-9a-f]+_\d+", "dataset", text)
    return text[:300]


class Engine:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        warehouse = str(settings.warehouse_dir) + "/"
        settings.spill_dir.mkdir(parents=True, exist_ok=True)
        config: dict[str, str | bool | int | float | list[str]] = {
            "temp_directory": str(settings.spill_dir),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "python_enable_replacements": False,
        }
        if settings.engine_threads:
            config["threads"] = settings.engine_threads
        # Always bounded: a heavy query spills to the spill folder and slows down instead of taking the machine.
        config["memory_limit"] = engine_memory(settings.limits.engine_memory)
        if settings.limits.engine_spill_bytes:
            config["max_temp_directory_size"] = settings.limits.engine_spill_bytes
        self._db = duckdb.connect(":memory:", config=config)
        self._db.execute("SET TimeZone = 'UTC'")
        self._db.execute(
            f"SET allowed_directories = [{_quote_str(warehouse)}, {_quote_str(str(settings.spill_dir) + '/')}]"
        )
        # DuckDB 2.0.1's common_subplan optimizer answers `A JOIN A ... UNION A JOIN A ...` wrongly
        # (found by the governance suite's reference comparison): correct answers come first.
        self._db.execute("SET disabled_optimizers = 'common_subplan'")
        self._db.execute("SET enable_external_access = false")
        self._db.execute("SET lock_configuration = true")
        self._db.execute(f"CREATE SCHEMA {VIEW_SCHEMA}")
        self._lock = threading.Lock()
        self._views: dict[str, None] = {}  # insertion-ordered: the oldest are dropped first
        self._running: weakref.WeakSet[Running] = weakref.WeakSet()
        """The queries prepared and not closed: `close` interrupts those still in DuckDB."""

    def ensure_views(self, bodies: Mapping[str, str]) -> None:
        """Keep a persistent view per (snapshot, reader's view) so repeated queries skip creating them.

        Names are content hashes in a schema no dataset can be named after (domain names start with a
        letter), and the parser admits only catalog datasets, so user SQL can never name one.
        """
        missing = [n for n in bodies if n not in self._views]
        if not missing:
            return
        with self._lock:
            cur = self._db.cursor()
            try:
                for name in missing:
                    if name in self._views:
                        continue
                    cur.execute(f"CREATE OR REPLACE VIEW {VIEW_SCHEMA}.{_quote_ident(name)} AS {bodies[name]}")
                    self._views[name] = None
                while len(self._views) > MAX_VIEWS:
                    old = next(iter(self._views))
                    cur.execute(f"DROP VIEW IF EXISTS {VIEW_SCHEMA}.{_quote_ident(old)}")
                    del self._views[old]
            finally:
                cur.close()

    def prepare(self, views: Mapping[str, ReadPlan | tuple[ReadPlan, str]]) -> Running:
        """A cursor with the query's own temporary views; `Running.start` then runs the SQL on it.

        The cursor exists before the query starts, so whoever holds `Running` can interrupt it at any time.
        """
        with self._lock:
            cur = self._db.cursor()
            running = Running(self, cur)
            self._running.add(running)
        try:
            for view, plan in views.items():
                body = plan[1] if isinstance(plan, tuple) else plan.relation_sql()
                cur.execute(f"CREATE TEMP VIEW {_quote_ident(view)} AS {body}")
        except BaseException as e:
            running.close()
            raise running._translate(e) from e
        return running

    def run(
        self,
        sql: str,
        views: Mapping[str, ReadPlan | tuple[ReadPlan, str]],
        *,
        max_rows: int | None,
        timeout: float | None = None,
    ) -> tuple[pa.Table, bool]:
        """Run generated SQL over per-query views at once. Returns (result, truncated)."""
        running = self.prepare(views)
        timer = threading.Timer(timeout, running.interrupt) if timeout else None
        try:
            if timer:
                timer.start()
            running.start(sql, min(max_rows + 1, BATCH_ROWS) if max_rows is not None else BATCH_ROWS)
            batches, n = [], 0
            while (batch := running.next_batch()) is not None:
                batches.append(batch)
                n += batch.num_rows
                if max_rows is not None and n > max_rows:
                    break
            table = pa.Table.from_batches(batches, schema=running.schema)
            if max_rows is not None and table.num_rows > max_rows:
                return table.slice(0, max_rows), True
            return table, False
        except Interrupted as e:
            raise LimitExceeded(f"the query ran longer than {timeout or 0:g} s and was stopped") from e
        finally:
            if timer:
                timer.cancel()
            running.close()

    def error(self, e: BaseException) -> InvalidInput:
        """DuckDB's error in plain words (`sql/plain_errors.py`), with no path of this machine in it."""
        hide = (str(self.settings.warehouse_dir), str(self.settings.home_dir))
        full = str(e)
        for path in sorted(hide, key=len, reverse=True):
            full = full.replace(path, "…")
        return plain_errors.from_engine(engine_error(e, hide), full)

    def close(self) -> None:
        """Close the database. A query still inside DuckDB (a stopping server's request past its grace) is
        interrupted, again every `CLOSE_REPEAT` seconds (one that lands before DuckDB started it is lost), and
        waited for up to `CLOSE_SECONDS`: DuckDB refuses to close a connection one of whose cursors is in a
        call. A query not yet started then is refused as interrupted (`Running.start`)."""
        with self._lock:
            running = list(self._running)
        deadline = time.monotonic() + CLOSE_SECONDS
        for r in running:
            r.interrupted = True
        for r in running:
            while not r.left_engine(CLOSE_REPEAT) and time.monotonic() < deadline:
                r.interrupt()
        self._db.close()


CLOSE_SECONDS = 10.0
"""Longest `Engine.close` waits for the queries still inside DuckDB to leave it."""
CLOSE_REPEAT = 0.25
"""Seconds between two interrupts of a query `Engine.close` waits for."""

BATCH_ROWS = 65_536
"""Rows per batch read from DuckDB: a streamed result holds about one batch in memory."""


def _stream(cursor: duckdb.DuckDBPyConnection, sql: str, batch_rows: int) -> pa.RecordBatchReader:
    """The result of `sql` as a stream of batches; one statement is prepared once.

    `cursor.sql(sql).to_arrow_reader()` prepares a statement twice: once to bind the relation, again to run it
    (for a tiny query over a dataset's view, a third of the engine's time). The relation layer's own
    one-statement submit (`duckdb._seam`, pinned with DuckDB in pyproject.toml) runs it at once, with the same
    errors but for the position DuckDB adds to a binder's message after its first line (`Engine.error` reads the
    first line). Anything else takes the relation's path as before: text that is not UTF-8 (refused there with
    DuckDB's own error) and a text of more or fewer than one statement (refused by the submit before it runs
    any), which the relation runs as a script."""
    try:
        sql.encode("utf-8")
    except UnicodeEncodeError:
        return cursor.sql(sql).to_arrow_reader(batch_size=batch_rows)
    try:
        return _seam.submit(cursor, sql, None, "stream", batch_rows).arrow_reader()
    except duckdb.InvalidInputException as e:
        if not str(e).startswith(_NOT_ONE_STATEMENT):
            raise
    return cursor.sql(sql).to_arrow_reader(batch_size=batch_rows)


_NOT_ONE_STATEMENT = "Invalid Input Error: Expected exactly one SQL statement"


class Interrupted(Exception):
    """The query was interrupted (its holder knows why: time limit, client gone)."""


class Running:
    """One query in progress on its own cursor: read it batch by batch, interrupt it from any thread."""

    def __init__(self, engine: Engine, cursor: duckdb.DuckDBPyConnection | None) -> None:
        self.engine = engine
        self.cursor = cursor
        self.reader: pa.RecordBatchReader | None = None
        self.interrupted = False
        self._closed = False
        self._out = threading.Event()
        """Set while no call of this query is inside DuckDB (`left_engine`)."""
        self._out.set()

    @property
    def schema(self) -> pa.Schema:
        assert self.reader is not None
        return self.reader.schema

    def start(self, sql: str, batch_rows: int) -> None:
        assert self.cursor is not None
        self._out.clear()  # before the check: `Engine.close` either sees this call coming or it sees `interrupted`
        try:
            if self.interrupted:
                raise Interrupted()
            # DuckDB runs the query here as far as its first batch (all of it for a pipeline breaker).
            self.reader = _stream(self.cursor, sql, batch_rows)
        except BaseException as e:
            raise self._translate(e) from e
        finally:
            self._out.set()

    def next_batch(self) -> pa.RecordBatch | None:
        """The next batch, None at the end; an interrupted query raises `Interrupted`."""
        assert self.reader is not None
        self._out.clear()
        try:
            if self.interrupted:
                raise Interrupted()
            return self.reader.read_next_batch()
        except StopIteration:
            return None
        except BaseException as e:
            raise self._translate(e) from e
        finally:
            self._out.set()

    def in_engine(self) -> bool:
        """Whether a call of this query is inside DuckDB now."""
        return not self._out.is_set()

    def left_engine(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for no call of this query to be inside DuckDB; whether none is."""
        return self._out.wait(timeout)

    def interrupt(self) -> None:
        """Stop the query where it is (safe from any thread, any number of times)."""
        self.interrupted = True
        cur = self.cursor
        if cur is not None and not self._closed:
            try:
                cur.interrupt()
            except duckdb.Error:
                pass

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.reader is not None:
            try:
                self.reader.close()
            except Exception:
                pass
        if self.cursor is not None:
            self.cursor.close()

    def _translate(self, e: BaseException) -> BaseException:
        # An error DuckDB meets after the first batch reaches us through pyarrow's reader as a bare OSError
        # carrying DuckDB's whole message (with the SQL): it must be cleaned up the same way.
        if (
            isinstance(e, duckdb.InterruptException)
            or (self.interrupted and isinstance(e, (duckdb.Error, OSError)))
            or "INTERRUPT Error" in str(e).split("\n")[0]
        ):
            return Interrupted()
        if isinstance(e, (duckdb.Error, OSError)):
            return self.engine.error(e)
        return e
