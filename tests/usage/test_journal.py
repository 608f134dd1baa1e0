"""The usage journal: events leave the query's critical path but are never lost, never counted twice, and
readers see what was recorded before them."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from threshold.gateway.service import query
from threshold.platform import Platform
from threshold.store.models import AuditEntry, UsageEvent, UsageRead
from threshold.usage import journal
from threshold.usage.models import JournalSegment
from threshold.usage.service import UsageRecord, flush, record_soon

KPIS = "SELECT plant, count(*) AS n FROM manufacturing.plant_kpis GROUP BY plant"


def _events(platform: Platform) -> int:
    with platform.store.session() as s:
        return int(s.scalar(select(func.count(UsageEvent.id))) or 0)


def _left_behind(platform: Platform, name: str, entries: list[dict[str, Any]], tail: bytes = b"") -> Path:
    """A segment as a killed process leaves it: its lines on disk, no lock held."""
    folder = platform.settings.home_dir / "journal"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(b"".join(json.dumps(e).encode() + b"\n" for e in entries) + tail)
    return path


def _entry(user_id: int, dataset_id: int, text: str) -> dict[str, Any]:
    rec = UsageRecord(
        user_id=user_id,
        interface="python",
        purpose="replay",
        fingerprint="f" * 32,
        query_text=text,
        rows=3,
        duration_ms=1.5,
        status="ok",
        reads=[(dataset_id, ["plant"], None)],
    )
    audit = [{"actor_id": user_id, "action": "query.allowed", "dataset_id": dataset_id, "rules": [], "detail": {}}]
    return journal._entry(rec, audit)


def _kpis_id(platform: Platform) -> int:
    from threshold.store.models import Dataset

    with platform.store.session() as s:
        return int(s.scalars(select(Dataset.id).where(Dataset.full_name == "manufacturing.plant_kpis")).one())


def test_a_query_is_readable_right_after_it_and_its_event_id_is_the_stored_one(org) -> None:
    platform = org.platform
    before = _events(platform)

    result = query(platform, KPIS, user=org.anna, purpose="scrap review")

    # No flush called: the store's barrier makes a statement on the usage log wait for the journal.
    with platform.store.session() as s:
        event = s.get(UsageEvent, result.event_id)
        reads = s.scalars(select(UsageRead).where(UsageRead.event_id == result.event_id)).all()
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "query.allowed")).all()
    assert _events(platform) == before + 1
    assert event is not None and (event.user_id, event.purpose, event.rows) == (org.anna.id, "scrap review", 3)
    assert [r.columns for r in reads] == [["plant"]]
    assert [a.detail["event"] for a in audit][-1] == result.event_id
    assert not list((platform.settings.home_dir / "journal").glob("*.jsonl"))  # applied segments are removed


def test_a_segment_left_by_a_dead_process_is_replayed_exactly_once(org) -> None:
    platform = org.platform
    kpis = _kpis_id(platform)
    before = _events(platform)
    path = _left_behind(
        platform,
        "usage-elsewhere-4242-deadbeef-00000001.jsonl",
        [_entry(org.ben.id, kpis, "SELECT ?"), _entry(org.carla.id, kpis, "SELECT ? + ?")],
        tail=b'{"at": "2026-',  # the last line the crash cut short: not an event
    )
    reopened = Platform.open(platform.settings.home_dir)
    try:
        flush(reopened)  # the first use of the journal replays what nobody holds
        assert not path.exists()
        assert _events(reopened) == before + 2
        with reopened.store.session() as s:
            texts = s.scalars(select(UsageEvent.query_text).order_by(UsageEvent.id.desc()).limit(2)).all()
            assert sorted(texts) == ["SELECT ?", "SELECT ? + ?"]
            marks = s.scalars(select(JournalSegment.name)).all()
        assert path.name in marks  # kept until the next batch: a crash now could not replay it twice
    finally:
        reopened.close()
    again = Platform.open(platform.settings.home_dir)
    try:
        flush(again)
        assert _events(again) == before + 2
    finally:
        again.close()


def test_a_segment_already_applied_is_removed_without_counting_it_again(org) -> None:
    platform = org.platform
    kpis = _kpis_id(platform)
    name = "usage-elsewhere-4243-deadbeef-00000007.jsonl"
    with platform.store.session() as s:  # the process died after its commit, before removing the file
        s.add(JournalSegment(name=name))
    path = _left_behind(platform, name, [_entry(org.ben.id, kpis, "SELECT ?")])
    before = _events(platform)
    reopened = Platform.open(platform.settings.home_dir)
    try:
        flush(reopened)
        assert not path.exists()
        assert _events(reopened) == before
    finally:
        reopened.close()


def test_a_live_process_segment_is_left_alone(org) -> None:
    platform = org.platform
    path = _left_behind(platform, "usage-elsewhere-4244-cafe-00000001.jsonl", [_entry(org.ben.id, 1, "SELECT ?")])
    fd = os.open(path, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as its writer holds it
    before = _events(platform)
    reopened = Platform.open(platform.settings.home_dir)
    try:
        flush(reopened)
        assert path.exists()
        assert _events(reopened) == before
    finally:
        reopened.close()
        os.close(fd)
        path.unlink()


def test_closing_the_platform_writes_what_is_journalled(org) -> None:
    platform = org.platform
    kpis = _kpis_id(platform)
    before = _events(platform)
    other = Platform.open(platform.settings.home_dir)
    rec = UsageRecord(
        user_id=org.anna.id,
        interface="python",
        purpose=None,
        fingerprint="e" * 32,
        query_text="SELECT ?",
        rows=1,
        duration_ms=0.5,
        status="ok",
        reads=[(kpis, ["plant"], None)],
    )
    pending = [record_soon(other, rec) for _ in range(3)]
    other.close()
    assert _events(platform) == before + 3
    assert len({p.id() for p in pending}) == 3


def test_a_read_of_a_dataset_deleted_before_the_flush_keeps_its_event(org) -> None:
    platform = org.platform
    before = _events(platform)
    path = _left_behind(platform, "usage-elsewhere-4245-beef-00000001.jsonl", [_entry(org.ben.id, 987654, "SELECT ?")])
    reopened = Platform.open(platform.settings.home_dir)
    try:
        flush(reopened)
        assert not path.exists()
        assert _events(reopened) == before + 1
        with reopened.store.session() as s:
            last = s.scalar(select(func.max(UsageEvent.id)))
            assert s.scalars(select(UsageRead).where(UsageRead.event_id == last)).all() == []
            entry = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
            assert (entry.dataset_id, entry.detail["event"]) == (None, last)
    finally:
        reopened.close()


def test_the_flusher_holds_a_batch_back_while_a_query_runs_and_not_longer_than_allowed(org, monkeypatch) -> None:
    from threshold.gateway.service import open_query

    platform = org.platform
    query(platform, KPIS, user=org.ben)  # the platform's limits exist once a query ran
    writer = journal.journal_of(platform)
    assert not writer._queries_running()
    start = _events(platform)  # reading the usage log writes what was journalled first
    stream = open_query(platform, KPIS, user=org.ben)  # admitted and started: a query runs
    try:
        assert writer._queries_running()
        monkeypatch.setattr(journal, "QUIET_SECONDS", 0.0)
        writer._wait_quiet()  # bounded: a batch is never held back longer than QUIET_SECONDS
    finally:
        table = stream.read_all()  # reading to the end closes the stream, and records its event
    assert table.num_rows == 3  # three plants
    assert not writer._queries_running()  # the event was recorded after the query left: the flusher may write
    flush(platform)
    assert writer.pending() == 0
    assert _events(platform) == start + 1
