"""Busy refusals: the first of a window recorded at once, the rest counted in memory and recorded once with
their count (at the window's end, or when the server stops); over HTTP a token refused in full is answered
from memory for the rest of the window, and never once its person is under the bounds again.

The clock is the test's own: windows end when the test moves it and runs the watchdog.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest
from limits_support import store_statements
from sqlalchemy import select
from test_http_limits import call

from threshold.api.app import create_app
from threshold.errors import Busy
from threshold.gateway.service import open_query, query
from threshold.identity.service import create_token, revoke_token
from threshold.limits.refusals import Refusals
from threshold.limits.watchdog import Watchdog
from threshold.store.models import UsageEvent

KPIS = "manufacturing.plant_kpis"


def _busy_events(platform: Any) -> list[tuple[int | None, str, str | None]]:
    with platform.store.session() as s:
        rows = s.execute(
            select(UsageEvent.user_id, UsageEvent.interface, UsageEvent.error)
            .where(UsageEvent.status == "busy")
            .order_by(UsageEvent.id)
        ).all()
    return [tuple(r) for r in rows]


def _refused_count(events: list[tuple[int | None, str, str | None]]) -> int:
    """What the events say together: "Busy" is one refusal, "Busy: N refusals" is N."""
    return sum(1 if e == "Busy" else int(str(e).split()[1]) for _u, _i, e in events)


def test_a_window_writes_its_first_refusal_at_once_and_the_rest_as_one_count(clock: Any) -> None:
    written: list[tuple[str, int, float, float]] = []
    refusals = Refusals(5.0, clock, Watchdog(clock, thread=False))
    key = (7, "api", "consumption")

    def writer(name: str) -> Any:
        return lambda n, first, last: written.append((name, n, first, last))

    refusals.refused(key, writer("a"))
    assert written == [("a", 1, 1000.0, 1000.0)]
    for step in (1.0, 1.5, 2.0):
        clock.now += step
        refusals.refused(key, writer("later"))  # counted with the window's own writer
    assert refusals.pending(key) == 3 and len(written) == 1
    clock.now += 0.4  # 4.9 s into the window: not over yet
    assert refusals.watchdog.check() == 0 and len(written) == 1
    clock.now += 0.1
    refusals.watchdog.check()
    assert written[1:] == [("a", 3, 1001.0, 1004.5)]
    assert refusals.pending(key) == 0 and len(refusals.watchdog) == 0
    clock.now += 1
    refusals.refused(key, writer("b"))  # a new window: written at once again
    assert written[2:] == [("b", 1, 1006.0, 1006.0)]


def test_a_refusal_after_the_window_ends_writes_the_old_count_before_the_watchdog_does(clock: Any) -> None:
    written: list[int] = []
    refusals = Refusals(2.0, clock, Watchdog(clock, thread=False))
    key = (7, "api", "consumption")
    refusals.refused(key, lambda n, f, last: written.append(n))
    refusals.refused(key, lambda n, f, last: written.append(n))
    clock.now += 3
    refusals.refused(key, lambda n, f, last: written.append(n))
    assert written == [1, 1, 1]  # the old window's one counted refusal, then the new window's first
    refusals.watchdog.check()  # the old window's watch was cancelled: nothing written twice
    assert written == [1, 1, 1] and len(refusals.watchdog) == 1


def test_keys_are_counted_apart_and_a_flush_loses_no_count(clock: Any) -> None:
    written: dict[tuple[Any, ...], int] = {}
    refusals = Refusals(60.0, clock, Watchdog(clock, thread=False))
    for key, times in (((1, "api", "consumption"), 4), ((2, "api", "consumption"), 2), ((1, "web", "browse"), 1)):
        for _ in range(times):
            refusals.refused(key, lambda n, f, last, k=key: written.__setitem__(k, written.get(k, 0) + n))
    assert refusals.flush() == 3 + 1 + 0  # the counted ones (the three firsts were written at once)
    assert written == {(1, "api", "consumption"): 4, (2, "api", "consumption"): 2, (1, "web", "browse"): 1}
    assert refusals.flush() == 0 and len(refusals.watchdog) == 0


def test_a_flood_of_refused_queries_is_one_event_per_window_with_its_count(limited: Any, clock: Any, org: Any) -> None:
    p = limited(person_queries=1, query_seconds=30, refusal_window_seconds=5)
    held = open_query(p, f"SELECT * FROM {KPIS}", user=org.ben)
    for _ in range(12):
        with pytest.raises(Busy, match="ben already has 1 queries running"):
            query(p, "SELECT 1", user=org.ben, interface="api")
    assert _busy_events(p) == [(org.ben.id, "api", "Busy")]  # the first, at once; 11 counted
    clock.now += 5
    p.limits.watchdog.check()
    assert _busy_events(p)[1:] == [(org.ben.id, "api", "Busy: 11 refusals")]
    with pytest.raises(Busy):
        query(p, "SELECT 1", user=org.ben, interface="api")
    with pytest.raises(Busy):
        query(p, "SELECT 1", user=org.ben, interface="api")
    held.close()
    p.limits.close()  # the server stops mid-window: the counted refusal is written, not lost
    events = _busy_events(p)
    assert events[2:] == [(org.ben.id, "api", "Busy"), (org.ben.id, "api", "Busy")]  # one at once, one counted
    assert _refused_count(events) == 14


def test_a_refused_query_is_not_parsed(limited: Any, org: Any) -> None:
    """Admission comes first: a flood costs no parse, and a busy person's bad SQL is still just busy."""
    p = limited(person_queries=1)
    held = open_query(p, f"SELECT * FROM {KPIS}", user=org.ben)
    with pytest.raises(Busy):
        query(p, "SELEKT nonsense (((", user=org.ben)
    held.close()
    assert p.limits.admission.running() == 0


def test_over_http_a_token_refused_in_full_is_answered_from_memory_until_its_person_may_run_again(
    limited: Any, clock: Any, org: Any
) -> None:
    p = limited(person_queries=1, query_seconds=30, refusal_window_seconds=5)
    token = create_token(org.platform, "ben")[1]
    held = open_query(p, f"SELECT * FROM {KPIS}", user=org.ben)
    key = (org.ben.id, "api", "consumption")
    answers = [call(p, "POST", "/api/v1/query", token, json={"sql": "SELECT 1"}) for _ in range(3)]
    assert [r.status_code for r in answers] == [429, 429, 429]
    assert {r.headers["retry-after"] for r in answers} == {"30"}
    assert all("ben already has 1 queries running" in r.json()["detail"] for r in answers)
    assert p.limits.refusals.pending(key) == 2 and len(_busy_events(p)) == 1  # two answered from memory
    # Not an open door: a token never refused in full is authenticated (a wrong one is 401, not 429) ...
    assert call(p, "POST", "/api/v1/query", "wrong-token", json={"sql": "SELECT 1"}).status_code == 401
    # ... and once the person's query ends, the remembered token runs its query in full.
    held.close()
    r = call(p, "POST", "/api/v1/query", token, json={"sql": "SELECT 42 AS n"})
    assert r.status_code == 200 and r.json()["rows"] == [{"n": 42}]
    assert p.limits.refusals.pending(key) == 2


def test_a_revoked_token_is_authenticated_again_once_its_window_ends(limited: Any, clock: Any, org: Any) -> None:
    p = limited(person_queries=1, query_seconds=30, refusal_window_seconds=5)
    token_id, token = create_token(org.platform, "ben")
    held = open_query(p, f"SELECT * FROM {KPIS}", user=org.ben)
    assert call(p, "POST", "/api/v1/query", token, json={"sql": "SELECT 1"}).status_code == 429
    revoke_token(org.platform, token_id)
    clock.now += 5
    p.limits.watchdog.check()  # the window ends: nothing is known of the token any more
    assert call(p, "POST", "/api/v1/query", token, json={"sql": "SELECT 1"}).status_code == 401
    held.close()


def test_with_a_watchdog_thread_a_window_is_written_off_it_and_a_flush_waits_for_that_write(clock: Any) -> None:
    """The watchdog must never wait for the metadata store (it interrupts queries on time)."""
    written: list[tuple[int, str]] = []
    refusals = Refusals(5.0, clock, Watchdog(clock, thread=False), background=True)
    key = (7, "api", "consumption")
    record = lambda n, f, last: written.append((n, threading.current_thread().name))  # noqa: E731
    for _ in range(3):
        refusals.refused(key, record)
    clock.now += 5
    refusals.watchdog.check()
    refusals.flush()  # waits for the window's write on the writer thread
    assert written[0] == (1, threading.current_thread().name)
    assert len(written) == 2 and written[1][0] == 2 and written[1][1].startswith("threshold-refusals")
    assert len(refusals.watchdog) == 0


def test_a_server_that_stops_mid_window_writes_the_refusals_it_counted(limited: Any, clock: Any, org: Any) -> None:
    from threshold.api.app import _serving, create_app

    p = limited(person_queries=1, query_seconds=30, refusal_window_seconds=60)
    p.settings.jobs.scheduler = False
    app = create_app(p)
    held = open_query(p, f"SELECT * FROM {KPIS}", user=org.ben)

    async def serve_and_stop() -> None:
        async with _serving(app):
            for _ in range(4):
                with pytest.raises(Busy):
                    query(p, "SELECT 1", user=org.ben, interface="api")
            assert p.limits.refusals.pending((org.ben.id, "api", "consumption")) == 3

    asyncio.run(serve_and_stop())
    held.close()
    assert [e for _u, _i, e in _busy_events(p)] == ["Busy", "Busy: 3 refusals"]


def test_a_refusal_answered_from_memory_runs_no_statement_on_the_store(limited: Any, clock: Any, org: Any) -> None:
    """The flood's 429s cost no metadata read or write: only the window's first is authenticated and
    recorded; the rest are counted in memory until the window ends, then the token is authenticated again."""
    p = limited(person_queries=1, query_seconds=30, refusal_window_seconds=5)
    token = create_token(org.platform, "ben")[1]
    held = open_query(p, f"SELECT * FROM {KPIS}", user=org.ben)
    app = create_app(p)

    async def refused(n: int) -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://threshold.test") as client:
            answers = [
                await client.post(
                    "/api/v1/query", json={"sql": "SELECT 1"}, headers={"Authorization": f"Bearer {token}"}
                )
                for _ in range(n)
            ]
        return [r.status_code for r in answers]

    try:
        with store_statements(p.store) as statements:
            assert asyncio.run(refused(1)) == [429]  # in full: the token looked up, the refusal recorded
            assert statements, "the first refusal reads and writes the store"
            statements.clear()
            assert asyncio.run(refused(6)) == [429] * 6
            assert statements == []  # answered from memory
            assert p.limits.refusals.pending((org.ben.id, "api", "consumption")) == 6
            clock.now += 5
            p.limits.watchdog.check()  # the window ends with its count written
            statements.clear()
            assert asyncio.run(refused(1)) == [429]
            assert any("api_tokens" in st for st in statements)  # authenticated again
    finally:
        held.close()
    assert _refused_count(_busy_events(p)) == 8
