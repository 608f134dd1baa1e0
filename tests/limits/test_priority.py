"""A long query's thread yields the processor after `limits.long_query_seconds` and gets its priority back
when the query ends; the clock is the test's own, the watchdog runs when the test says so."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from limits_support import RUNAWAY, in_thread, until_done

from threshold.gateway.service import query
from threshold.limits import priority
from threshold.limits.admission import LONG_MEMORY, RECENT
from threshold.limits.watchdog import Watchdog

needs_priority = pytest.mark.skipif(not priority.supported(), reason="this process may not give a priority back")


def _nice(tid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, tid)


@needs_priority
def test_a_thread_keeps_its_priority_until_the_grace_passes_then_yields_and_gets_it_back(clock: Any) -> None:
    watchdog = Watchdog(clock, thread=False)
    seen: dict[str, int] = {}
    inside, release = threading.Event(), threading.Event()

    def work() -> None:  # a thread of its own: the test's thread keeps its priority whatever happens
        tid = threading.get_native_id()
        seen["before"] = _nice(tid)
        with priority.yields_after(watchdog, clock, 1.0) as demotion:
            assert demotion is not None and demotion.tid == tid
            inside.set()
            release.wait()
        seen["after"] = _nice(tid)

    t = threading.Thread(target=work)
    t.start()
    inside.wait()
    tid = t.native_id
    assert tid is not None
    clock.now += 0.9
    watchdog.check()
    assert _nice(tid) == seen["before"]  # a short query never notices
    clock.now += 0.1
    watchdog.check()
    assert _nice(tid) == priority.LOW
    release.set()
    t.join()
    assert seen["after"] == seen["before"] and len(watchdog) == 0


@needs_priority
def test_a_long_query_yields_only_while_someone_else_has_work(clock: Any) -> None:
    """Fair share: alone, a heavy query keeps the whole machine; with others at work it runs on spare cycles."""
    watchdog = Watchdog(clock, thread=False)
    others = {"working": False}
    inside, release = threading.Event(), threading.Event()

    def work() -> None:
        with priority.yields_after(watchdog, clock, 1.0, lambda: others["working"]):
            inside.set()
            release.wait()

    t = threading.Thread(target=work)
    t.start()
    inside.wait()
    tid = t.native_id
    assert tid is not None
    before = _nice(tid)
    seen = []
    for working in (False, True, True, False, True):
        others["working"] = working
        clock.now += 1.0
        watchdog.check()
        seen.append(_nice(tid))
    release.set()
    t.join()
    assert seen == [before, priority.LOW, priority.LOW, before, priority.LOW]


def test_others_have_work_while_their_query_runs_and_shortly_after_it_was_admitted(
    limited: Any, clock: Any, org: Any
) -> None:
    p = limited(query_seconds=30)
    admission = p.limits.admission
    assert not admission.others_active(org.ben.id)
    mine = p.limits.admit(org.ben.id, "ben", p.limits.allowance("api"))
    assert not admission.others_active(org.ben.id)  # their own queries are not someone else's work
    theirs = p.limits.admit(org.carla.id, "carla", p.limits.allowance("api"))
    assert admission.others_active(org.ben.id) and admission.others_active(org.carla.id)
    clock.now += 10
    assert admission.others_active(org.ben.id)  # carla's query still runs
    theirs.leave()
    assert not admission.others_active(org.ben.id)
    short = p.limits.admit(org.carla.id, "carla", p.limits.allowance("api"))
    short.leave()  # a short query, done at once: carla still counts as at work for a moment
    clock.now += RECENT - 0.1
    assert admission.others_active(org.ben.id)
    clock.now += 0.1
    assert not admission.others_active(org.ben.id)
    mine.leave()


def test_off_or_unsupported_runs_the_block_as_it_is(clock: Any) -> None:
    watchdog = Watchdog(clock, thread=False)
    for seconds, enabled in ((0.0, True), (1.0, False)):
        with priority.yields_after(watchdog, clock, seconds, enabled=enabled) as demotion:
            assert demotion is None and len(watchdog) == 0


def test_a_demotion_that_ended_is_never_applied_late(clock: Any) -> None:
    """The watchdog may call `lower` just after the work ended: the thread (back in the pool) keeps its priority."""
    d = priority.Demotion(threading.get_native_id())
    before = _nice(d.tid)
    d.restore()
    d.lower()
    assert _nice(d.tid) == before and d.before is None


@needs_priority
def test_a_runaway_query_runs_at_the_lowest_priority_and_its_thread_gets_it_back(
    limited: Any, clock: Any, org: Any
) -> None:
    p = limited(query_seconds=30, long_query_seconds=2)
    t, out = in_thread(lambda: query(p, RUNAWAY, user=org.ben, interface="api"))
    carla = p.limits.admit(org.carla.id, "carla", p.limits.allowance("api", seconds=3600))  # someone else at work
    tid = t.native_id
    assert tid is not None
    seen: list[int] = []

    def step() -> None:
        clock.now += 1
        p.limits.watchdog.check()
        if t.is_alive():
            seen.append(_nice(tid))

    until_done(t, step)
    carla.leave()
    assert priority.LOW in seen and "stopped after 30 s" in str(out["error"])


@needs_priority
def test_a_query_of_someone_whose_query_already_ran_long_yields_from_its_start(
    limited: Any, clock: Any, org: Any
) -> None:
    """A runaway sent again and again: each new one yields before the grace, while others have work."""
    p = limited(query_seconds=30, long_query_seconds=1)
    first = p.limits.admit(org.ben.id, "ben", p.limits.allowance("api"))
    assert not p.limits.admission.long_running(org.ben.id, 1)
    clock.now += 1
    assert p.limits.admission.long_running(org.ben.id, 1) and not p.limits.admission.long_running(org.carla.id, 1)
    carla = p.limits.admit(org.carla.id, "carla", p.limits.allowance("api"))  # someone else at work
    seen: dict[str, int] = {}

    def work(person_id: int) -> int:
        tid = threading.get_native_id()
        with p.limits.yielding(person_id):
            return _nice(tid)  # no watchdog check, no time passed: only a demotion at once shows here

    for who, person_id in (("ben", org.ben.id), ("carla", org.carla.id)):
        t, out = in_thread(lambda person_id=person_id: work(person_id))  # type: ignore[misc]
        t.join()
        seen[who] = out["result"]
    first.leave()
    carla.leave()
    assert seen["ben"] == priority.LOW  # ben's first query has run past the grace
    assert seen["carla"] < priority.LOW  # carla has no long query: her new one keeps its priority


@needs_priority
def test_at_once_yields_only_while_someone_else_has_work(clock: Any) -> None:
    watchdog = Watchdog(clock, thread=False)
    seen: dict[bool, int | None] = {}

    def work(others: bool) -> None:
        tid = threading.get_native_id()
        before = _nice(tid)
        with priority.yields_after(watchdog, clock, 1.0, lambda: others, at_once=True):
            now = _nice(tid)
            seen[others] = now if now != before else None

    for others in (True, False):
        t = threading.Thread(target=work, args=(others,))
        t.start()
        t.join()
    assert seen == {True: priority.LOW, False: None}
    assert len(watchdog) == 0


def test_a_person_whose_long_query_was_stopped_counts_as_running_long_for_a_while(
    limited: Any, clock: Any, org: Any
) -> None:
    """Two runaways admitted together are stopped together (their clients give up at once): the pair sent
    next must yield from its start although neither of the person's queries is running any more."""
    p = limited(query_seconds=30, long_query_seconds=1)
    admission = p.limits.admission
    pair = [p.limits.admit(org.ben.id, "ben", p.limits.allowance("api")) for _ in range(2)]
    clock.now += 3
    for ticket in pair:
        p.limits.stopped(ticket)  # what a stream closing as cancelled or timed out says
        ticket.leave()
    assert admission.running() == 0
    assert admission.long_running(org.ben.id, 1) and not admission.long_running(org.carla.id, 1)
    clock.now += LONG_MEMORY - 0.1
    assert admission.long_running(org.ben.id, 1)
    clock.now += 0.1
    assert not admission.long_running(org.ben.id, 1)  # remembered for a bounded time only


def test_a_slow_query_that_completes_or_a_short_one_stopped_is_no_runaway(limited: Any, clock: Any, org: Any) -> None:
    """Only a query stopped past the grace is remembered: a slow query that completes (on a busy machine)
    must not demote its person's next ones, nor must a query cancelled within the grace."""
    p = limited(query_seconds=30, long_query_seconds=1)
    slow = p.limits.admit(org.ben.id, "ben", p.limits.allowance("api"))
    clock.now += 5
    slow.leave()  # completed: nothing says it was stopped
    short = p.limits.admit(org.carla.id, "carla", p.limits.allowance("api"))
    clock.now += 0.5
    p.limits.stopped(short)  # cancelled before the grace
    short.leave()
    job = p.limits.admit(org.anna.id, "anna", p.limits.allowance("job"))
    clock.now += 5
    p.limits.stopped(job)  # jobs have their own capacity and are never demoted for it
    job.leave()
    admission = p.limits.admission
    assert not admission.long_running(org.ben.id, 1)
    assert not admission.long_running(org.carla.id, 1)
    assert not admission.long_running(job.person_id, 1)


def test_a_runaway_stopped_by_its_time_limit_makes_the_next_one_yield_from_its_start(
    limited: Any, clock: Any, org: Any
) -> None:
    p = limited(query_seconds=3, long_query_seconds=1)
    t, out = in_thread(lambda: query(p, RUNAWAY, user=org.ben, interface="api"))

    def step() -> None:
        clock.now += 1
        p.limits.watchdog.check()

    until_done(t, step)
    assert "stopped after 3 s" in str(out["error"])
    assert p.limits.admission.running() == 0
    assert p.limits.admission.long_running(org.ben.id, 1)
    assert not p.limits.admission.long_running(org.carla.id, 1)
