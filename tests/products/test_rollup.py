"""The rollups count each usage event once, catch up on new ones, and rebuild when history is changed."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from threshold.gateway.service import query
from threshold.products import rollup
from threshold.products.consumption import dataset_consumers
from threshold.products.models import RollupState, UsageWeekly
from threshold.store.models import UsageEvent, UsageRead
from threshold.usage.service import UsageRecord, record

from .usage_history import KPIS, SENSORS, History


def _event(h: History, who: str, dataset: str, when: datetime, purpose: str | None = "energy cost forecast") -> int:
    return record(
        h.platform,
        UsageRecord(
            user_id=h.people[who].id,
            interface="python",
            purpose=purpose,
            fingerprint="fp-new",
            query_text="SELECT ?",
            rows=1,
            duration_ms=1.0,
            status="ok",
            reads=[(h.ids[dataset], ["plant"], None)],
            at=when,
        ),
    )


def _queries(h: History) -> int:
    with h.platform.store.session() as s:
        return int(s.scalar(select(func.sum(UsageWeekly.queries))) or 0)


def test_refresh_counts_only_what_is_new(fresh: History) -> None:
    first = rollup.refresh(fresh.platform)
    assert first == 68  # the 65 events of HISTORY, the session read and the two refused reads
    before = _queries(fresh)
    assert rollup.refresh(fresh.platform) == 0
    _event(fresh, "sam", KPIS, fresh.at(1, 1, 20))
    assert rollup.refresh(fresh.platform) == 1
    assert _queries(fresh) == before + 1
    assert dataset_consumers(fresh.platform, KPIS).to_json()["people"] == 8  # sam was one already


def test_changing_a_counted_event_rebuilds_the_rollups(any_fresh: History) -> None:
    """A trigger marks the rollups dirty when history they counted is rewritten (the demo backdates events)."""
    h = any_fresh
    event = _event(h, "sam", KPIS, h.at(1, 1, 20))
    assert dataset_consumers(h.platform, KPIS, weeks=0).to_json()["weekly"][-2]["people"] == 7  # with sam
    with h.platform.store.session() as s:
        s.execute(update(UsageEvent).where(UsageEvent.id == event).values(at=h.at(5, 1, 20)))
        assert s.get(RollupState, 1).dirty is True  # type: ignore[union-attr]
    weekly = dataset_consumers(h.platform, KPIS, weeks=0).to_json()["weekly"]
    assert weekly[-2]["people"] == 6  # sam is gone from last week...
    assert weekly[2]["people"] == 4  # ...and counted five weeks ago with ben, anna, dora
    with h.platform.store.session() as s:
        assert s.get(RollupState, 1).dirty is False  # type: ignore[union-attr]
    with h.platform.store.session() as s:
        s.execute(update(UsageEvent).where(UsageEvent.id == event).values(at=h.at(5, 1, 20)))
    rollup.refresh(h.platform)
    with h.platform.store.session() as s:
        s.execute(UsageEvent.__table__.delete().where(UsageEvent.id == event))
    assert dataset_consumers(h.platform, KPIS, weeks=0).to_json()["queries"] == 33


def test_events_not_counted_yet_may_be_changed_freely(fresh: History) -> None:
    """Backdating before the first read (what the demo does) needs no rebuild."""
    event = _event(fresh, "sam", KPIS, fresh.platform.clock())
    with fresh.platform.store.session() as s:
        s.execute(update(UsageEvent).where(UsageEvent.id == event).values(at=fresh.at(3, 1)))
        assert s.get(RollupState, 1).dirty is False  # type: ignore[union-attr]
    assert rollup.refresh(fresh.platform) == 69
    with fresh.platform.store.session() as s:
        assert s.get(RollupState, 1).rebuilt_at is None  # type: ignore[union-attr]


def test_a_session_spans_two_refreshes(fresh: History) -> None:
    rollup.refresh(fresh.platform)
    now = fresh.platform.clock() - timedelta(minutes=40)
    _event(fresh, "eve", KPIS, now)
    rollup.refresh(fresh.platform)
    _event(fresh, "eve", SENSORS, now + timedelta(minutes=15))
    rollup.refresh(fresh.platform)
    together = {t["dataset"]: t for t in dataset_consumers(fresh.platform, SENSORS).to_json()["together"]}
    assert (together[KPIS]["people"], together[KPIS]["in_session"]) == (3, 2)


def test_settings_the_rollups_depend_on_rebuild_them(fresh: History) -> None:
    rollup.refresh(fresh.platform)
    fresh.platform.settings.products.session_minutes = 5  # anna read sensors 10 minutes after plant_kpis
    together = dataset_consumers(fresh.platform, SENSORS).to_json()["together"]
    assert together == [{"dataset": KPIS, "people": 1, "in_query": 1, "in_session": 0}]
    fresh.platform.settings.products.session_minutes = 30
    people = dataset_consumers(fresh.platform, SENSORS).to_json()["people"]
    with fresh.platform.store.session() as s:  # every read of sensors was a look at its page
        ids = select(UsageRead.event_id).where(UsageRead.dataset_id == fresh.ids[SENSORS])
        s.execute(update(UsageEvent).where(UsageEvent.id.in_(ids)).values(kind="browse"))
    d = dataset_consumers(fresh.platform, SENSORS).to_json()
    assert (d["people"], d["together"]) == (0, [])  # browsing is not use
    fresh.platform.settings.products.include_browsing = True
    assert dataset_consumers(fresh.platform, SENSORS).to_json()["people"] == people


def test_concurrent_refreshes_count_each_event_once(fresh: History) -> None:
    for i in range(300):
        _event(fresh, "sam", KPIS, fresh.at(1, 1, i % 50))
    errors: list[BaseException] = []

    def go() -> None:
        try:
            rollup.refresh(fresh.platform)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _queries(fresh) == 67 + 300  # the history's reads (a join reads two datasets) and 300 new


def test_gateway_reads_are_counted_and_previews_are_not_consumption(org: object) -> None:
    platform = org.platform  # type: ignore[attr-defined]
    ben = org.ben  # type: ignore[attr-defined]
    query(platform, f"SELECT plant, sum(energy_kwh) FROM {KPIS} GROUP BY plant", user=ben, purpose="energy")
    query(platform, f"SELECT plant FROM {KPIS} WHERE plant = 'Lyon'", user=ben, purpose="energy")
    carla = org.carla  # type: ignore[attr-defined]
    query(platform, f"SELECT * FROM {KPIS} LIMIT 20", user=carla, purpose="delivery promise", kind="browse")
    query(platform, f"SELECT count(*) FROM {KPIS}", user=carla, purpose="data quality", kind="platform")
    d = dataset_consumers(platform, KPIS).to_json()
    assert (d["queries"], d["people"], d["purposes"][0]["purpose"]) == (2, 1, "energy")
    assert {c["column"] for c in d["columns"]} == {"plant", "energy_kwh"}
    assert len(d["questions"]) == 2 and all(q["people"] == 1 for q in d["questions"])
