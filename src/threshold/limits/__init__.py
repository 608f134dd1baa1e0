"""Limits: the time, rows, bytes, concurrency, upload and sign-in bounds every interface applies.

The bounds are declared once, in `LimitSettings` (`THRESHOLD_LIMITS__<FIELD>`); this package applies
them at run time:

- `allowance`   what one query may use (time, rows, bytes), from the settings and what its caller asked;
- `admission`   how many queries may run at once, per person and in all (over it: `Busy`, HTTP 429);
- `refusals`    busy refusals counted in memory and recorded once per window, with their count;
- `priority`    a long query's thread yields the processor to everyone else's short queries;
- `watchdog`    the one thread that interrupts a query when its time is up;
- `machine`     defaults taken from the machine (memory for the engine, cores for the query pool).

`Limits` bundles them for one platform (`platform.limits`); its clock is injected, so tests move time
instead of waiting for it. File limits (uploads, spreadsheets, CSV, JSON) are applied by the sharing
readers and the request-body guard with the same settings.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from threshold.errors import Busy
from threshold.limits.admission import Admission, Ticket
from threshold.limits.allowance import Allowance, allowance
from threshold.limits.machine import engine_memory, query_slots
from threshold.limits.priority import Demotion, yields_after
from threshold.limits.refusals import Refusals, Writer
from threshold.limits.settings import LimitSettings
from threshold.limits.watchdog import Watch, Watchdog

__all__ = [
    "Admission",
    "Allowance",
    "LimitSettings",
    "Limits",
    "Refusals",
    "Ticket",
    "Watch",
    "Watchdog",
    "engine_memory",
]


class Limits:
    """The limits of one platform at run time: allowances, admission, the watchdog and the query pool."""

    def __init__(
        self,
        settings: LimitSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        watchdog_thread: bool = True,
    ) -> None:
        self.settings = settings
        self.clock = clock
        """Monotonic seconds: deadlines of queries."""
        self.now = now
        """Wall-clock time: sign-in failures are counted in it (they outlive a process)."""
        self.slots = query_slots(settings.queries)
        self.admission = Admission(settings, self.slots, clock)
        self.watchdog = Watchdog(clock, thread=watchdog_thread)
        self.refusals = Refusals(settings.refusal_window_seconds, clock, self.watchdog, background=watchdog_thread)
        self._pool: ThreadPoolExecutor | None = None

    def allowance(self, interface: str, *, max_rows: int | None = None, seconds: float | None = None) -> Allowance:
        return allowance(self.settings, interface, max_rows=max_rows, seconds=seconds)

    def admit(self, person_id: int | None, person: str, a: Allowance) -> Ticket:
        return self.admission.enter(person_id, person, job=a.job, deadline=self.clock() + a.seconds)

    def refused(self, person_id: int | None, interface: str, kind: str, write: Writer) -> None:
        """Count one busy refusal: the first of a window is written at once, the rest once at its end."""
        self.refusals.refused((person_id, interface, kind), write)

    def remember_refused(self, caller: str, person_id: int | None, person: str, interface: str, kind: str) -> None:
        """`caller` (a credential's digest) was refused in full as `person`: `refuse_known` may answer it."""
        self.refusals.remember(caller, (person_id, interface, kind), person)

    def refuse_known(self, caller: str) -> None:
        """Raise `Busy` for a caller refused in full within the open window whose person is still over a
        bound, counting the refusal: no authentication, parse or metadata read. Otherwise return."""
        known = self.refusals.known(caller)
        if known is None:
            return
        key, person = known
        try:
            self.admission.check(key[0], person, job=False)
        except Busy:
            if self.refusals.count_open(key):
                raise
        return

    def yielding(self, person_id: int | None) -> AbstractContextManager[Demotion | None]:
        """Run a block of `person_id`'s engine work that, past `long_query_seconds`, yields the processor
        while someone else has work; from its start when the person already has a query running that
        long, or had one stopped past it in the last `admission.LONG_MEMORY` seconds (a runaway sent again
        and again, alone or in a pair whose clients gave up together, never gets the processor for its
        first moments)."""
        grace = self.settings.long_query_seconds
        return yields_after(
            self.watchdog,
            self.clock,
            grace,
            lambda: self.admission.others_active(person_id),
            at_once=grace > 0 and self.admission.long_running(person_id, grace),
        )

    def stopped(self, ticket: Ticket) -> None:
        """`ticket`'s query was stopped (its client gone, or out of time): remembered when it had run past
        `long_query_seconds`, so the person's next query yields from its start (`yielding`)."""
        grace = self.settings.long_query_seconds
        if not ticket.job and grace > 0 and self.clock() - ticket.entered >= grace:
            self.admission.stopped_long(ticket.person_id)

    @property
    def pool(self) -> ThreadPoolExecutor:
        """Threads that run interactive queries for the web and the API, apart from the request threads:
        as many as queries may run at once, so an admitted query never waits for a thread."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="threshold-query")
        return self._pool

    def stop_all(self) -> int:
        """The server is stopping: admit nothing more and interrupt every query still running (in DuckDB,
        wherever it is: running, or streaming its result), so requests end within moments. Returns how
        many were interrupted. Safe from any thread, any number of times."""
        stopped = 0
        for ticket in self.admission.close():
            try:
                stopped += ticket.halt()  # one not yet running is stopped as its runner attaches
            except Exception:  # a query that is already gone must not keep the others running
                continue
        return stopped

    def close(self) -> None:
        self.refusals.flush()  # no refusal goes uncounted (the store is still open)
        self.watchdog.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
