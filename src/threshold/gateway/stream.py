"""A query in flight: its result read batch by batch within its allowance, then recorded once.

`QueryStream` is what `gateway.service.open_query` returns. Every interface reads results through it,
whether it streams them to a client (API, web downloads) or gathers them into a table (pages, CLI,
Python, jobs), so the same limits hold everywhere:

- time: the watchdog interrupts the query in DuckDB when its allowance is up, wherever it is (running,
  or waiting for a slow client), and gives its admission slot back at once;
- rows and bytes: the result is cut at the allowance (an interactive query says so in its notes; a
  job fails instead, it must never store a cut result);
- the client gone (`cancel()`): the query is interrupted and recorded as `cancelled`.

Closing the stream records the usage event with its status (`ok`, `timeout`, `cancelled`, `error`),
the rows delivered and, for a result cut by a limit, that limit's setting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING

import pyarrow as pa

from threshold.engines.duckdb import BATCH_ROWS, Interrupted, Running
from threshold.errors import LimitExceeded, ThresholdError, TransientError
from threshold.lake import ReadPlan
from threshold.limits import Allowance, Ticket, Watch
from threshold.limits.allowance import rows_exceeded
from threshold.localcache import Pin
from threshold.sql import plain_errors

if TYPE_CHECKING:
    from threshold.engines.daft import DaftEngine, DaftRunning
    from threshold.platform import Platform
    from threshold.usage.journal import Pending

Recorder = Callable[[str, int, "str | None"], "Pending | None"]
"""(status, rows delivered, error or limit) -> the usage event on its way to the store."""


class Cancel:
    """Lets an interface stop a query it started from another thread (its client went away), including
    while the query is still being checked or started: a stream attached later is cancelled at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stream: QueryStream | None = None
        self.cancelled = False

    def attach(self, stream: QueryStream) -> None:
        with self._lock:
            self._stream = stream
            cancelled = self.cancelled
        if cancelled:
            stream.cancel()

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            stream = self._stream
        if stream is not None:
            stream.cancel()


class QueryStream:
    def __init__(
        self,
        platform: Platform,
        allowance: Allowance,
        ticket: Ticket,
        recorder: Recorder,
        *,
        datasets: list[str],
        notes: list[str],
        started: float,
        cancel: Cancel | None = None,
        masked: Mapping[str, set[str]] | None = None,
    ) -> None:
        self.platform = platform
        self.snapshots: dict[str, int | None] = {}
        """The snapshot each dataset is read at."""
        self.allowance = allowance
        self.ticket = ticket
        self.datasets = datasets
        self.masked: dict[str, set[str]] = dict(masked or {})
        """Per dataset read: the columns the reader saw masked (a derivation's tags remember it)."""
        self.started = started
        self._recorder = recorder
        self._notes_after = notes
        self._running: Running | DaftRunning | None = None
        self._watch: Watch | None = None
        self._halt_watch: Watch | None = None
        self._lock = threading.Lock()
        self.rows = 0
        self.bytes = 0
        self.truncated = False
        self.limit: str | None = None
        """The setting of the limit that cut the result, if one did."""
        self.expired = False
        self.cancelled = False
        self.halted = False
        """The server is stopping (`limits.stop_all`): the query was interrupted for that."""
        self.complete = False
        self.error: ThresholdError | None = None
        self._event: Pending | None = None
        self.duration_ms = 0.0
        self._notes: list[str] = []
        self._closed = False
        self.pin: Pin | None = None
        """The files the query reads, kept in this machine's cache of an object store until it closes."""
        ticket.on_halt(self.halt)  # at once when the server stopped while the query was being prepared
        if cancel is not None:
            cancel.attach(self)

    # -- starting ------------------------------------------------------------------------------

    pending: tuple[str, Mapping[str, ReadPlan | tuple[ReadPlan, str]]] | None = None
    """What `begin()` runs: the generated SQL and its per-query views."""

    def begin(self) -> QueryStream:
        """Start the pending query (see `gateway.service.open_query(start=False)`)."""
        assert self.pending is not None, "the query was started already"
        sql, views = self.pending
        self.pending = None
        self.start(sql, views)
        return self

    scale: DaftEngine | None = None
    """Set when the query goes to Daft (`gateway.dispatch`); None: DuckDB."""
    engine = "duckdb"
    """The engine that answered (named in the usage event and the audit)."""

    def said(self, note: str) -> None:
        """A note for the person about how the query ran (e.g. which engine answered, and why)."""
        if note not in self._notes:
            self._notes.append(note)

    def start(self, sql: str, views: Mapping[str, ReadPlan | tuple[ReadPlan, str]]) -> None:
        """Run `sql` as far as its first batch, under the watchdog from before the engine starts: on Daft
        when the dispatcher chose it, and on DuckDB otherwise or when Daft cannot run it and DuckDB may
        answer instead (`engine.fallback`), with a note saying why."""
        scale = self.scale
        if scale is not None:
            from threshold.engines.daft import NotOnDaft

            try:
                self._start_on("daft", scale.prepare, sql, views, passes=NotOnDaft)
                return
            except NotOnDaft as e:
                self._discard()
                if not self.platform.settings.engine.fallback:
                    self._fail(e)
                self.said(f"answered by DuckDB: {e}")
        self._start_on("duckdb", self.platform.engine.prepare, sql, views)

    def _start_on(
        self,
        engine: str,
        prepare: Callable[[Mapping[str, ReadPlan | tuple[ReadPlan, str]]], Running | DaftRunning],
        sql: str,
        views: Mapping[str, ReadPlan | tuple[ReadPlan, str]],
        *,
        passes: type[ThresholdError] | tuple[()] = (),
    ) -> None:
        """Prepare and start the query on `engine`; an error stops the stream as it fails (one line, the
        stream closed) except `passes`, which the caller handles with the stream still open. DuckDB's start
        yields the processor to everyone's short queries once it runs long (Daft's runs on its cluster)."""
        limits = self.platform.limits
        try:
            self._running = prepare(views)
            self.engine = engine
            self._watch = limits.watchdog.watch(self.ticket.deadline, self._expire)
            if self.expired or self.cancelled or self.halted:
                raise Interrupted()
            first = min(self.allowance.rows + 1, BATCH_ROWS)
            if engine == "duckdb":
                with limits.yielding(self.ticket.person_id):
                    self._running.start(sql, first)
            else:
                self._running.start(sql, first)
        except passes:
            raise
        except Interrupted:
            self._fail(self._stopped())
        except ThresholdError as e:
            self._fail(e)
        except BaseException:
            self.close()
            raise

    def _discard(self) -> None:
        """Forget a start that will not be read (its engine's run closed, its watch cancelled)."""
        self.engine = "duckdb"
        running, self._running = self._running, None
        if running is not None:
            running.close()
        if self._watch is not None:
            self.platform.limits.watchdog.cancel(self._watch)
            self._watch = None

    def _expire(self) -> None:
        """The watchdog's stop: interrupt the query and free its slot now, even if its reader is stuck."""
        self.expired = True
        running = self._running
        if running is not None:
            running.interrupt()
        self.ticket.leave()

    def halt(self) -> None:
        """The server is stopping: interrupt the query where it is and give its slot back. The interrupt
        is repeated by the watchdog until the stream closes: one that lands between two steps of starting
        the query (before DuckDB runs it) would otherwise be lost."""
        self.halted = True
        self._interrupt()
        self.ticket.leave()
        watchdog = self.platform.limits.watchdog
        with self._lock:
            if self._closed or self._halt_watch is not None:
                return
            self._halt_watch = watchdog.watch(watchdog.clock(), self._interrupt)

    def _interrupt(self) -> None:
        running = self._running
        if running is not None:
            running.interrupt()

    def _stopped(self) -> ThresholdError:
        if self.halted:
            return TransientError("the server is stopping: the query was interrupted; run it again when it is back")
        if self.expired:
            return self.allowance.time_exceeded()
        return LimitExceeded("the query was cancelled: its client went away")

    source_sql = ""
    """The query as its author wrote it: an engine error's position is given in it."""
    source_columns: tuple[str, ...] = ()
    """The columns of the datasets it reads: what a misspelt column may have meant."""

    def _fail(self, e: ThresholdError) -> None:
        e = plain_errors.locate(e, self.source_sql, self.source_columns)
        self.error = e
        self.close()
        raise e

    # -- reading ---------------------------------------------------------------------------------

    @property
    def schema(self) -> pa.Schema:
        assert self._running is not None
        return self._running.schema

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The result's batches within the allowance; the stream is closed (and recorded) at the end."""
        assert self._running is not None
        a = self.allowance
        try:
            while True:
                try:
                    batch = self._running.next_batch()
                except Interrupted:
                    self._fail(self._stopped())
                    return
                if batch is None:
                    self.complete = True
                    return
                room = a.rows - self.rows
                if batch.num_rows > room:
                    if a.job and a.rows_setting:
                        self._fail(rows_exceeded(a))
                    self._cut(a.rows_note(), a.rows_setting or None)
                    batch = batch.slice(0, room)
                size = batch.nbytes
                if self.bytes + size > a.bytes:
                    if a.job:
                        self._fail(a.bytes_exceeded())
                    fit = int(batch.num_rows * (a.bytes - self.bytes) / max(size, 1))
                    batch = batch.slice(0, max(fit, 0))
                    self._cut(a.bytes_note(self.rows + batch.num_rows), a.bytes_setting)
                    size = batch.nbytes
                if batch.num_rows:
                    self.rows += batch.num_rows
                    self.bytes += size
                    yield batch
                if self.truncated:
                    return
        except ThresholdError as e:
            if not self._closed:
                self._fail(e)
            raise
        finally:
            self.close()

    def read_all(self) -> pa.Table:
        batches = list(self.batches())
        return pa.Table.from_batches(batches, schema=self.schema)

    def _cut(self, note: str, limit: str | None) -> None:
        self.truncated = True
        self.limit = limit.split(" = ")[0] if limit else None
        if note not in self._notes:
            self._notes.append(note)

    @property
    def notes(self) -> list[str]:
        return self._notes + self._notes_after

    # -- ending ----------------------------------------------------------------------------------

    def cancel(self) -> None:
        """The client went away: stop the query (from any thread); `close()` records it as cancelled."""
        self.cancelled = True
        running = self._running
        if running is not None:
            running.interrupt()

    def close(self) -> None:
        """Stop whatever still runs, give the slot back and record the usage event (once)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for watch in (self._watch, self._halt_watch):
            if watch is not None:
                self.platform.limits.watchdog.cancel(watch)
        if self._running is not None:
            if not self.complete:
                self._running.interrupt()
            self._running.close()
        if self.pin is not None:
            self.pin.release()
        self.ticket.leave()
        self.duration_ms = round((time.perf_counter() - self.started) * 1000, 3)
        if self.halted and not self.complete and not self.truncated:
            status, error = "cancelled", "server stopping"
        elif self.expired and not self.complete and not self.truncated:
            status, error = "timeout", (self.allowance.seconds_setting.split(" = ")[0] or "time asked")
        elif self.cancelled and not self.complete and not self.truncated:
            status, error = "cancelled", None
        elif self.error is not None:
            status, error = "error", type(self.error).__name__
        elif self.complete or self.truncated:
            status, error = "ok", self.limit
        else:
            status, error = "cancelled", None  # the reader stopped before the end (client gone)
        self.status = status
        if status in ("cancelled", "timeout"):
            self.platform.limits.stopped(self.ticket)  # a runaway sent again yields from its start
        self._event = self._recorder(status, self.rows, error)

    @property
    def event_id(self) -> int | None:
        """The usage event's id (waits for the usage journal to write it: the answer did not)."""
        return self._event.id() if self._event is not None else None

    @property
    def event(self) -> Pending | None:
        return self._event

    def __enter__(self) -> QueryStream:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
