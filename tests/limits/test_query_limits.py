"""Every query runs within its allowance: time (interrupted in DuckDB), rows, bytes and concurrency.

The clock is the test's own: the watchdog runs only when the test calls it, after moving time on.
"""

from __future__ import annotations

from typing import Any

import pytest
from limits_support import RUNAWAY, in_thread, until_done
from sqlalchemy import select

from threshold.errors import Busy, InvalidInput, LimitExceeded, TransientError
from threshold.gateway.service import open_query, query
from threshold.store.models import UsageEvent

KPIS = "manufacturing.plant_kpis"


def _last_event(platform: Any) -> UsageEvent:
    with platform.store.session() as s:
        event = s.scalars(select(UsageEvent).order_by(UsageEvent.id.desc()).limit(1)).one()
        s.expunge(event)
        return event


def _stop_when_due(platform: Any, clock: Any, by: float) -> Any:
    def step() -> None:
        clock.now += by
        platform.limits.watchdog.check()

    return step


def test_a_runaway_query_is_stopped_at_the_time_limit_and_says_which_setting(
    limited: Any, clock: Any, org: Any
) -> None:
    p = limited(query_seconds=30)
    t, out = in_thread(lambda: query(p, RUNAWAY, user=org.ben, interface="api"))
    until_done(t, _stop_when_due(p, clock, 5))
    error = out["error"]
    assert isinstance(error, LimitExceeded)
    assert "stopped after 30 s" in str(error) and "THRESHOLD_LIMITS__QUERY_SECONDS" in str(error)
    event = _last_event(p)
    assert (event.status, event.error, event.interface) == ("timeout", "limits.query_seconds", "api")
    assert p.limits.admission.running() == 0 and len(p.limits.watchdog) == 0


def test_a_query_admitted_just_before_the_server_stops_is_stopped_not_run_to_its_limit(
    limited: Any, clock: Any, org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stop comes while the query is admitted but still being parsed and resolved (no runner to
    interrupt yet): it must stop as its runner attaches, not run until its time limit (a stopping server
    would wait on it past its grace, and its client would get no answer)."""
    p = limited(query_seconds=30)
    admit = p.limits.admit

    def admitted_then_stopped(*args: Any, **kwargs: Any) -> Any:
        ticket = admit(*args, **kwargs)
        assert p.limits.stop_all() == 0  # nothing to interrupt yet: the ticket remembers the stop
        return ticket

    monkeypatch.setattr(p.limits, "admit", admitted_then_stopped)
    t, out = in_thread(lambda: query(p, RUNAWAY, user=org.ben, interface="api"))
    until_done(t, _stop_when_due(p, clock, 5))
    error = out["error"]
    assert isinstance(error, TransientError), error
    assert "the server is stopping" in str(error)
    event = _last_event(p)
    assert (event.status, event.error) == ("cancelled", "server stopping")
    assert p.limits.admission.running() == 0 and len(p.limits.watchdog) == 0


def test_a_request_may_ask_for_less_time_never_more(limited: Any, clock: Any, org: Any) -> None:
    p = limited(query_seconds=30)
    t, out = in_thread(lambda: query(p, RUNAWAY, user=org.ben, timeout=3))
    until_done(t, _stop_when_due(p, clock, 1))
    assert "stopped after 3 s, the time limit it asked for" in str(out["error"])
    assert p.limits.allowance("api", seconds=3600).seconds == 30


def test_jobs_have_their_own_time_limit(limited: Any, clock: Any, org: Any) -> None:
    p = limited(query_seconds=5, job_query_seconds=600)
    t, out = in_thread(lambda: query(p, RUNAWAY, user=org.anna, interface="job"))
    until_done(t, _stop_when_due(p, clock, 60))
    assert "stopped after 10 min, the time limit for jobs" in str(out["error"])
    assert "THRESHOLD_LIMITS__JOB_QUERY_SECONDS" in str(out["error"])


def test_a_cut_result_says_which_limit_and_the_caller_cannot_ask_for_more(limited: Any, org: Any) -> None:
    p = limited(query_rows=3)
    for asked in (None, 10, 2_000_000):
        result = query(p, f"SELECT * FROM {KPIS}", user=org.ben, max_rows=asked)
        assert result.table.num_rows == 3 and result.truncated
        assert any("THRESHOLD_LIMITS__QUERY_ROWS" in n for n in result.notes)
    event = _last_event(p)
    assert (event.status, event.error, event.rows) == ("ok", "limits.query_rows", 3)
    fewer = query(p, f"SELECT * FROM {KPIS}", user=org.ben, max_rows=2)
    assert fewer.table.num_rows == 2 and fewer.notes[:1] == ["showing the first 2 rows"]
    assert _last_event(p).error is None  # the caller's own choice is no limit stopping them
    whole = query(p, f"SELECT * FROM {KPIS} LIMIT 3", user=org.ben)
    assert whole.table.num_rows == 3 and not whole.truncated


def test_the_result_byte_limit_cuts_a_wide_result(limited: Any, org: Any) -> None:
    p = limited(query_result_bytes=64 * 1024)
    result = query(p, "SELECT i, repeat('x', 100) AS pad FROM range(100000) t(i)", user=org.ben)
    assert 0 < result.table.num_rows < 100_000 and result.truncated
    assert result.table.nbytes <= 64 * 1024
    assert any("THRESHOLD_LIMITS__QUERY_RESULT_BYTES" in n for n in result.notes)
    assert _last_event(p).error == "limits.query_result_bytes"


def test_a_job_fails_rather_than_storing_a_cut_result(limited: Any, org: Any) -> None:
    p = limited(job_query_rows=3)
    with pytest.raises(LimitExceeded, match="THRESHOLD_LIMITS__JOB_QUERY_ROWS"):
        query(p, f"SELECT * FROM {KPIS}", user=org.anna, interface="job")
    assert query(p, f"SELECT * FROM {KPIS}", user=org.anna, interface="job", max_rows=1).table.num_rows == 1


def test_max_rows_below_one_is_refused(limited: Any, org: Any) -> None:
    p = limited()
    with pytest.raises(InvalidInput, match="max_rows must be at least 1"):
        query(p, f"SELECT * FROM {KPIS}", user=org.ben, max_rows=0)


def test_one_person_runs_at_most_person_queries_at_once_others_are_not_affected(
    limited: Any, clock: Any, org: Any
) -> None:
    p = limited(person_queries=2, queries=8, query_seconds=30)
    held = [open_query(p, f"SELECT * FROM {KPIS}", user=org.ben) for _ in range(2)]
    clock.now += 10
    with pytest.raises(Busy) as refused:
        query(p, f"SELECT * FROM {KPIS}", user=org.ben)
    assert refused.value.status == 429 and refused.value.retry_after == 20  # the first slot frees by its deadline
    assert "ben already has 2 queries running" in str(refused.value)
    assert "THRESHOLD_LIMITS__PERSON_QUERIES" in str(refused.value)
    assert _last_event(p).status == "busy"
    assert query(p, f"SELECT count(*) FROM {KPIS}", user=org.carla).table.num_rows == 1  # someone else runs
    held[0].close()
    assert query(p, f"SELECT count(*) FROM {KPIS}", user=org.ben).table.num_rows == 1
    held[1].close()
    assert p.limits.admission.running() == 0


def test_the_server_wide_cap_and_jobs_apart(limited: Any, org: Any) -> None:
    p = limited(person_queries=5, queries=2, job_queries=1)
    held = [open_query(p, f"SELECT * FROM {KPIS}", user=u) for u in (org.ben, org.carla)]
    with pytest.raises(Busy, match="THRESHOLD_LIMITS__QUERIES"):
        query(p, f"SELECT * FROM {KPIS}", user=org.anna)
    job = open_query(p, f"SELECT * FROM {KPIS}", user=org.anna, interface="job")  # jobs have their own capacity
    with pytest.raises(Busy, match="THRESHOLD_LIMITS__JOB_QUERIES"):
        query(p, f"SELECT * FROM {KPIS}", user=org.anna, interface="job")
    for s in [*held, job]:
        s.close()


def test_a_deadline_frees_the_slot_even_if_the_reader_never_comes_back(limited: Any, clock: Any, org: Any) -> None:
    """A slow or stalled client must not hold its slot past the time limit."""
    p = limited(person_queries=1, query_seconds=30)
    stalled = open_query(p, f"SELECT * FROM {KPIS}", user=org.ben)
    clock.now += 31
    p.limits.watchdog.check()
    assert p.limits.admission.running() == 0
    assert query(p, f"SELECT count(*) FROM {KPIS}", user=org.ben).table.num_rows == 1
    with pytest.raises(LimitExceeded, match="stopped after 30 s"):
        list(stalled.batches())
    assert _last_event(p).status == "timeout"


def test_a_cancelled_query_stops_and_is_recorded(limited: Any, clock: Any, org: Any) -> None:
    from threshold.gateway.stream import Cancel

    p = limited()
    cancel = Cancel()
    t, out = in_thread(lambda: query(p, RUNAWAY, user=org.ben, cancel=cancel))
    until_done(t, cancel.cancel)
    assert "its client went away" in str(out["error"])
    assert _last_event(p).status == "cancelled"
    assert p.limits.admission.running() == 0


def test_the_engine_has_a_memory_limit_and_a_spill_folder(limited: Any, org: Any) -> None:
    p = limited(engine_memory="300MB", engine_spill_bytes="1GB")

    def setting(name: str) -> str:  # read on the engine itself: user SQL may not read settings
        return str(p.engine._db.execute(f"SELECT current_setting('{name}')").fetchone()[0])  # type: ignore[index]

    assert setting("memory_limit") == "286.1 MiB"
    assert setting("max_temp_directory_size") == "953.6 MiB"
    assert setting("temp_directory") == str(p.settings.spill_dir)


def test_by_default_the_engine_takes_half_the_memory_it_may_use(limited: Any) -> None:
    from threshold.limits.machine import memory_bytes

    p = limited()
    text = p.engine._db.execute("SELECT current_setting('memory_limit')").fetchone()[0]  # type: ignore[index]
    value, unit = text.split()
    half = memory_bytes() / 2
    assert abs(float(value) * {"MiB": 2**20, "GiB": 2**30}[unit] - half) / half < 0.01
