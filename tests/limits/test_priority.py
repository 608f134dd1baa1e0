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
    tid = t.native_id
    assert tid is not None
    seen: list[int] = []

    def step() -> None:
        clock.now += 1
        p.limits.watchdog.check()
        if t.is_alive():
            seen.append(_nice(tid))

    until_done(t, step)
    assert priority.LOW in seen and "stopped after 30 s" in str(out["error"])
