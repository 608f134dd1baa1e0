"""Admission control: how many queries may run at once, per person and in all.

Interactive queries (web, API, CLI, Python) and job queries have separate capacities, so a burst of
one never starves the other; within the interactive capacity each person may run `person_queries`
at once. A query over either bound is refused at once with `Busy` (HTTP 429) and a `retry_after`
taken from the deadlines of the queries in the way: the latest a slot can free up, never a guess.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from threshold.errors import Busy
from threshold.limits.settings import LimitSettings


@dataclass
class Ticket:
    """One admitted query; `leave()` gives its slot back (once, whoever calls it first)."""

    person_id: int | None
    person: str
    job: bool
    deadline: float
    _admission: Admission | None = None
    entered: float = 0.0
    """When it was admitted (monotonic seconds)."""
    stop: Callable[[], None] | None = None
    """Interrupts the query this ticket admitted (set by whoever runs it, through `on_halt`): the server is
    stopping."""
    halted: bool = False
    """The server is stopping (`halt`): the query must not run, or must stop where it is."""
    _halt_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def on_halt(self, stop: Callable[[], None]) -> None:
        """Run `stop` when the server stops, or at once if it already has: a query admitted just before
        the stop is still being parsed and resolved when `halt` comes, and must not then run to its time
        limit (it would hold the stopping server past its grace)."""
        with self._halt_lock:
            self.stop = stop
            halted = self.halted
        if halted:
            stop()

    def halt(self) -> bool:
        """The server is stopping: interrupt the query (now, or as soon as its runner says how, `on_halt`).
        Returns whether a runner was there to interrupt."""
        with self._halt_lock:
            self.halted = True
            stop = self.stop
        if stop is not None:
            stop()
        return stop is not None

    def leave(self) -> None:
        admission, self._admission = self._admission, None
        if admission is not None:
            admission._leave(self)


RECENT = 2.0
"""Seconds after a person's query was admitted during which they count as having work (short queries
run one after another, with gaps between them)."""
LONG_MEMORY = 30.0
"""Seconds after a person's query was stopped (client gone, or out of time) past `long_query_seconds`
during which their next query counts as most likely another runaway and yields from its start: a runaway
whose client gives up and sends it again must not get the processor back for its first moments, nor a
pair of them that were admitted, and so stopped, together."""


class Admission:
    def __init__(self, settings: LimitSettings, slots: int, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.slots = slots
        self.clock = clock
        self._lock = threading.Lock()
        self._running: list[Ticket] = []
        self._entered: dict[int | None, float] = {}
        """When each person's latest query was admitted (kept for `RECENT` seconds)."""
        self._long_ended: dict[int | None, float] = {}
        """When a query of each person was last stopped after running past `long_query_seconds` (kept for
        `LONG_MEMORY` seconds). Only stopped ones: a slow query that completes is no runaway, and must not
        demote its person's next ones (on a busy machine that would feed itself)."""
        self.closed = False
        """The server is stopping: nothing more is admitted."""

    def enter(self, person_id: int | None, person: str, *, job: bool, deadline: float) -> Ticket:
        """Admit one query or raise `Busy` saying which bound is full and when to try again."""
        with self._lock:
            self._refuse_if_full(person_id, person, job)
            now = self.clock()
            ticket = Ticket(person_id, person, job, deadline, self, entered=now)
            self._running.append(ticket)
            self._entered[person_id] = now
            return ticket

    def close(self) -> list[Ticket]:
        """Admit nothing more (the server is stopping); returns the queries still running."""
        with self._lock:
            self.closed = True
            return list(self._running)

    def long_running(self, person_id: int | None, seconds: float) -> bool:
        """Whether `person_id` has an interactive query that has run for at least `seconds`, or had one
        stopped past `long_query_seconds` within the last `LONG_MEMORY` seconds (`stopped_long`)."""
        now = self.clock()
        with self._lock:
            self._long_ended = {p: t for p, t in self._long_ended.items() if now - t < LONG_MEMORY}
            return person_id in self._long_ended or any(
                t.person_id == person_id and not t.job and now - t.entered >= seconds for t in self._running
            )

    def others_active(self, person_id: int | None) -> bool:
        """Whether someone other than `person_id` has a query running or had one admitted within the last
        `RECENT` seconds: then a long query of `person_id` yields the processor (`limits.priority`)."""
        now = self.clock()
        with self._lock:
            self._entered = {p: t for p, t in self._entered.items() if now - t < RECENT}
            return any(p != person_id for p in self._entered) or any(t.person_id != person_id for t in self._running)

    def check(self, person_id: int | None, person: str, *, job: bool = False) -> None:
        """Raise the `Busy` that `enter` would raise now, without admitting anything."""
        with self._lock:
            self._refuse_if_full(person_id, person, job)

    def _refuse_if_full(self, person_id: int | None, person: str, job: bool) -> None:
        s = self.settings
        if self.closed:
            raise Busy("the server is stopping; try again when it is back", 5.0)
        same_kind = [t for t in self._running if t.job == job]
        mine = [t for t in same_kind if t.person_id == person_id]
        if not job and len(mine) >= s.person_queries:
            raise Busy(
                f"{person} already has {len(mine)} queries running, the most one person may run at once "
                f"({s.setting('person_queries')}); wait for one to finish",
                self._wait(mine),
            )
        capacity = s.job_queries if job else self.slots
        if len(same_kind) >= capacity:
            what = "jobs' queries" if job else "queries"
            field = "job_queries" if job else "queries"
            shown = (
                s.setting(field)
                if not (field == "queries" and s.queries == 0)
                else (f"limits.queries = {capacity} (THRESHOLD_LIMITS__QUERIES; 0 = twice the cores)")
            )
            raise Busy(
                f"the server is running as many {what} as it may at once ({shown}); try again shortly",
                self._wait(same_kind),
            )

    def running(self, *, job: bool | None = None) -> int:
        with self._lock:
            return sum(1 for t in self._running if job is None or t.job == job)

    def _wait(self, blocking: list[Ticket]) -> float:
        """Seconds until the first of `blocking` must have ended (its deadline), at least one."""
        return max(1.0, min(t.deadline for t in blocking) - self.clock())

    def stopped_long(self, person_id: int | None) -> None:
        """`person_id`'s query was just stopped (its client gone, or out of time) after running past
        `long_query_seconds`: their next ones yield from the start for `LONG_MEMORY` seconds."""
        now = self.clock()
        with self._lock:
            self._long_ended[person_id] = now

    def _leave(self, ticket: Ticket) -> None:
        with self._lock:
            self._running = [t for t in self._running if t is not ticket]
