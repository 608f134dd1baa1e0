"""Usage events written off the query's critical path: an append-only local journal, drained in batches.

A governed read ends by appending its event (the event, its reads, the audit rows of its decisions) as
one line to this process's journal segment: one `write()`, no database round trip, so the answer never
waits on it. A flusher thread inserts what accumulated in one transaction, and writes the name of the
segment it applied in that same transaction; then it deletes the segment file.

- Crash-safe: a killed process leaves its segment behind (a `write()` survives the process; like the
  store's own SQLite settings, a power loss may lose the last instant). The next process that records or
  reads usage replays every segment no live process holds (each holds an `flock` on its own), skipping
  those already applied: an event is never lost and never counted twice.
- Read-your-writes: `flush(platform)` returns once everything recorded before it is in the store. The
  store calls it before any statement that reads or changes the usage log or the audit log (`Store.
  barrier`), and `QueryResult.event_id` waits for its own event. `close` flushes at shutdown.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.exc import IntegrityError

from threshold.errors import TransientError
from threshold.runtime import Clock, system_clock

if TYPE_CHECKING:
    from threshold.platform import Platform
    from threshold.usage.service import UsageRecord

FLUSH_SECONDS = 0.05
"""How long the flusher lets events gather before writing a batch (it writes at once when asked to)."""
QUIET_SECONDS = 1.0
"""Longest the flusher holds a batch back while a query of this process runs: it writes in a moment when none
runs (a write's CPU and its hold on the GIL then slow no query down), or after this long (a busy server)."""
POLL_SECONDS = 0.02
"""How often the flusher looks whether the queries have ended, while it holds a batch back."""
BATCH_EVENTS = 2000
"""Most events written in one transaction."""
WAIT_SECONDS = 30.0
"""Longest `flush` waits for the store (its lock timeout's order); then the events stay journalled."""
BARRIER_SECONDS = 5.0
"""Longest a statement on the usage or audit log waits for the journal (then it runs without the newest)."""
TABLES = frozenset({"usage_events", "usage_reads", "audit_log"})
"""What the journal writes: a statement on one of these waits for the journal first."""


class Pending:
    """A recorded event on its way to the store; `id()` waits for it (and is what `event_id` returns)."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._done = threading.Event()
        self._id: int | None = None

    def id(self) -> int | None:
        if not self._done.is_set():
            self._journal.flush()
        return self._id

    def _resolve(self, event_id: int) -> None:
        self._id = event_id
        self._done.set()


@dataclass
class _Segment:
    path: Path
    fd: int
    entries: list[tuple[dict[str, Any], Pending | None]] = field(default_factory=list)


class Journal:
    """The journal of one platform in one process (`journal_of`)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.folder = platform.settings.home_dir / "journal"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._prefix = f"{_host()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._seq = 0
        self._lock = threading.Lock()  # appends and segment rotation
        self._flushing = threading.Lock()  # one batch at a time
        self._work = threading.Event()  # set: events wait to be written
        self._stop = threading.Event()
        self._current: _Segment | None = None
        self._sealed: list[_Segment] = []  # rotated, not yet applied (in order)
        self._written = 0  # appended so far (a flush waits until this many are applied)
        self._applied = 0
        self._closed = False
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._local = threading.local()
        self._forget: list[str] = []
        self._replay()
        platform.store.barrier(TABLES, self.pending, self._barrier)

    # -- writing ------------------------------------------------------------------------------------

    def append(self, rec: UsageRecord, audit: list[dict[str, Any]] | None) -> Pending:
        """Journal one event; raises when it cannot be written (a read that is not recorded is not done)."""
        entry = _entry(rec, audit, self.platform.clock)
        line = (json.dumps(entry, separators=(",", ":"), default=str) + "\n").encode()
        pending = Pending(self)
        with self._lock:
            if self._closed:
                raise TransientError("the usage journal is closed: the platform is shutting down")
            segment = self._current or self._open_segment()
            _write_all(segment.fd, line)
            segment.entries.append((entry, pending))
            self._written += 1
            idle = not self._work.is_set()
        if idle:  # wake the flusher once per batch, not per event: a wake-up costs the query a thread switch
            self._start()
            self._work.set()
        return pending

    def _open_segment(self) -> _Segment:
        self._seq += 1
        path = self.folder / f"usage-{self._prefix}-{self._seq:08d}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # held until applied: replay leaves live segments alone
        self._current = _Segment(path, fd)
        return self._current

    # -- flushing -----------------------------------------------------------------------------------

    def flush(self, timeout: float = WAIT_SECONDS) -> None:
        """Write everything journalled so far to the store before returning (read-your-writes)."""
        if getattr(self._local, "flushing", False):
            return  # the flusher's own statements
        target = self._written
        if self._applied >= target:
            return
        self._drain(timeout)
        if self._applied < target and self._failure is not None:
            raise TransientError(f"usage events could not be written yet ({_first_line(self._failure)})")

    def pending(self) -> int:
        return self._written - self._applied

    def _barrier(self, in_write_transaction: bool) -> None:
        """Before a statement on the usage or audit log: let it see every event recorded before it. A SQLite
        connection that already holds the write lock cannot wait for another writer (it would wait on
        itself): the events then stay journalled until its transaction ends. Never fails the statement."""
        if self._applied >= self._written or in_write_transaction:
            return
        try:
            self.flush(timeout=BARRIER_SECONDS)
        except TransientError:
            pass

    def _drain(self, timeout: float) -> None:
        """Apply every sealed and current segment (under the flushing lock, so batches stay in order)."""
        if not self._flushing.acquire(timeout=timeout):
            return
        try:
            self._local.flushing = True
            with self._lock:
                if self._current is not None and self._current.entries:
                    self._sealed.append(self._current)
                    self._current = None
            while self._sealed:
                segment = self._sealed[0]
                try:
                    self._apply(segment)
                except Exception as e:  # the store is away or locked: keep the segment, retry later
                    self._failure = e
                    return
                self._failure = None
                self._sealed.pop(0)
                self._applied += len(segment.entries)
        finally:
            self._local.flushing = False
            self._flushing.release()

    def _apply(self, segment: _Segment) -> None:
        ids = _insert(self.platform, [e for e, _ in segment.entries], segment.path.name, self._forget)
        self._forget = [segment.path.name]  # once its file is gone, the next batch forgets its name
        for (_, pending), event_id in zip(segment.entries, ids, strict=True):
            if pending is not None:
                pending._resolve(event_id)
        _remove(segment)

    def _start(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="usage-journal", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            self._work.wait(timeout=1.0)
            if self._closed:
                return
            # Let a burst gather, then write it in one transaction, between queries when there is a moment.
            self._stop.wait(timeout=FLUSH_SECONDS)
            self._wait_quiet()
            self._work.clear()
            if self._applied < self._written:
                self._drain(WAIT_SECONDS)

    def _wait_quiet(self) -> None:
        """Hold the batch back while a query runs in this process (at most `QUIET_SECONDS`)."""
        until = time.monotonic() + QUIET_SECONDS
        while not self._closed and self._queries_running() and time.monotonic() < until:
            self._stop.wait(timeout=POLL_SECONDS)

    def _queries_running(self) -> bool:
        # The platform's limits when something started them (a platform that ran no query has none: it is
        # not created here, that would start a watchdog for nothing).
        limits = getattr(self.platform, "_limits", None)
        return limits is not None and limits.admission.running() > 0

    def close(self) -> None:
        """Flush and stop (at the platform's close); whatever cannot be written stays journalled."""
        try:
            self.flush()
        except TransientError:
            pass
        with self._lock:
            self._closed = True
        with _journals_lock:
            if self in _journals:
                _journals.remove(self)
        self._stop.set()
        self._work.set()
        for segment in [*self._sealed, *([self._current] if self._current else [])]:
            os.close(segment.fd)  # the lock goes with it: the next process replays the file

    # -- replaying ------------------------------------------------------------------------------------

    def _replay(self) -> None:
        """Apply segments of processes that are gone (no lock on them); drop those applied already."""
        from threshold.usage.models import JournalSegment

        for path in sorted(self.folder.glob("usage-*.jsonl")):
            try:
                fd = os.open(path, os.O_RDWR)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue  # a live process's segment
            segment = _Segment(path, fd, [(e, None) for e in _read_lines(path)])
            with self.platform.store.session() as s:
                done = s.scalars(select(JournalSegment.name).where(JournalSegment.name == path.name)).first()
            if done is None and segment.entries:
                _insert(self.platform, [e for e, _ in segment.entries], path.name, [])
            _remove(segment)
            self._forget.append(path.name)


_journals: list[Journal] = []
_journals_lock = threading.Lock()


@atexit.register
def _flush_at_exit() -> None:
    """A process that ends without closing its platform still writes its events (or leaves them journalled)."""
    for journal in list(_journals):
        try:
            journal.flush(timeout=BARRIER_SECONDS)
        except Exception:
            pass  # left journalled: the next process replays them


def journal_of(platform: Platform) -> Journal:
    """This process's journal for `platform` (created, and left-behind segments replayed, on first use)."""
    journal = getattr(platform, "_usage_journal", None)
    if journal is None:
        with _journals_lock:
            journal = getattr(platform, "_usage_journal", None)
            if journal is None:
                journal = Journal(platform)
                platform._usage_journal = journal  # type: ignore[attr-defined]
                _journals.append(journal)
                platform.on_close(journal.close)
    return journal  # type: ignore[no-any-return]


def flush(platform: Platform) -> None:
    """Everything recorded so far (in this process, and left behind by a dead one) is in the store."""
    journal_of(platform).flush()


# -- rows -----------------------------------------------------------------------------------------------


def _entry(rec: UsageRecord, audit: list[dict[str, Any]] | None, clock: Clock = system_clock) -> dict[str, Any]:
    return {
        "at": (rec.at or clock()).isoformat(),
        "user_id": rec.user_id,
        "interface": rec.interface,
        "purpose": rec.purpose,
        "fingerprint": rec.fingerprint,
        "query_text": rec.query_text,
        "rows": rec.rows,
        "duration_ms": rec.duration_ms,
        "status": rec.status,
        "error": rec.error,
        "kind": rec.kind,
        "engine": rec.engine,
        "reads": [[d, list(cols), snap] for d, cols, snap in rec.reads],
        "audit": [{**row, "at": _iso(row.get("at"), clock)} for row in audit or []],
    }


def _iso(at: Any, clock: Clock) -> str:
    return at.isoformat() if isinstance(at, datetime) else clock().isoformat()


def _insert(platform: Platform, entries: list[dict[str, Any]], segment: str, forget: list[str]) -> list[int]:
    """Insert the events of one segment and its name in one transaction (forgetting the names of segments
    whose files are gone); their event ids, in order. Reads of a dataset deleted since are dropped (the audit
    row keeps the event, without the dataset)."""
    from threshold.usage.models import JournalSegment

    try:
        return _insert_once(platform, entries, segment, forget, None)
    except IntegrityError:
        pass  # a dataset or person deleted between the read and the flush
    from threshold.store.models import Dataset, User

    with platform.store.session() as s:
        datasets = set(s.scalars(select(Dataset.id)))
        users = set(s.scalars(select(User.id)))
        if s.scalars(select(JournalSegment.name).where(JournalSegment.name == segment)).first():
            return [0] * len(entries)  # applied already (by a replay in another process)
    return _insert_once(platform, entries, segment, forget, (datasets, users))


def _insert_once(
    platform: Platform,
    entries: list[dict[str, Any]],
    segment: str,
    forget: list[str],
    known: tuple[set[int], set[int]] | None,
) -> list[int]:
    from threshold.store.models import AuditEntry, UsageEvent, UsageRead
    from threshold.usage.models import JournalSegment

    def user(uid: Any) -> Any:
        return uid if known is None or uid in known[1] else None

    def dataset(did: Any) -> Any:
        return did if known is None or did in known[0] else None

    # Core statements on the tables: the ORM's bulk-insert layer was most of a small batch's CPU.
    events = _table(UsageEvent)
    ids: list[int] = []
    with platform.store.session() as s:
        for start in range(0, len(entries), BATCH_EVENTS):
            chunk = entries[start : start + BATCH_EVENTS]
            rows = [
                {
                    "at": datetime.fromisoformat(e["at"]),
                    "user_id": user(e["user_id"]),
                    **{k: e[k] for k in ("interface", "purpose", "fingerprint", "query_text", "rows")},
                    **{k: e[k] for k in ("duration_ms", "status", "error", "kind")},
                    "engine": e.get("engine", "duckdb"),  # journalled before engines were named
                }
                for e in chunk
            ]
            got = s.execute(insert(events).returning(events.c.id, sort_by_parameter_order=True), rows)
            chunk_ids = [int(r[0]) for r in got]
            ids.extend(chunk_ids)
            reads = [
                {"event_id": i, "dataset_id": d, "columns": cols, "snapshot_id": snap}
                for i, e in zip(chunk_ids, chunk, strict=True)
                for d, cols, snap in e["reads"]
                if dataset(d) is not None
            ]
            if reads:
                s.execute(insert(_table(UsageRead)), reads)
            audit = [
                {
                    **row,
                    "at": datetime.fromisoformat(row["at"]),
                    "actor_id": user(row.get("actor_id")),
                    "dataset_id": dataset(row.get("dataset_id")),
                    "detail": {**(row.get("detail") or {}), "event": i},
                }
                for i, e in zip(chunk_ids, chunk, strict=True)
                for row in e["audit"]
            ]
            if audit:
                s.execute(insert(_table(AuditEntry)), audit)
        segments = _table(JournalSegment)
        if forget:
            s.execute(delete(segments).where(segments.c.name.in_(forget)))
        s.execute(insert(segments), [{"name": segment, "applied_at": datetime.now(UTC)}])
    return ids


def _table(model: Any) -> Table:
    return cast("Table", model.__table__)


# -- files ----------------------------------------------------------------------------------------------


def _read_lines(path: Path) -> list[dict[str, Any]]:
    """The events of a left-behind segment; a last line cut short by the crash is not an event."""
    out = []
    for line in path.read_bytes().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _remove(segment: _Segment) -> None:
    segment.path.unlink(missing_ok=True)
    os.close(segment.fd)


def _host() -> str:
    return "".join(c for c in socket.gethostname() if c.isalnum() or c in "-_")[:40] or "host"


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:200]


__all__ = ["Journal", "Pending", "flush", "journal_of", "TABLES"]
