"""The gate of a share: blocking checks judge the committed snapshot before it is published.

A rejected append leaves the dataset exactly as it was (rows, published snapshot, the lake's current
snapshot, metadata) and keeps the file in quarantine; non-blocking failures publish and open incidents.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import func, select

from threshold.errors import Conflict, Denied
from threshold.gateway.service import query
from threshold.quality import dataset_checks, quarantine
from threshold.quality.incident_records import list_incidents
from threshold.quality.models import CheckRun, Quarantine
from threshold.sharing.service import share
from threshold.store.models import Dataset, Share

from .conftest import BATCHES, Batches


def _state(b: Batches) -> tuple[int | None, int, int, list[tuple[object, ...]]]:
    with b.platform.store.session() as s:
        ds = s.scalars(select(Dataset).where(Dataset.full_name == BATCHES)).one()
        shares = s.scalar(select(func.count(Share.id)).where(Share.dataset_id == ds.id))
        published = ds.snapshot_id
    current = b.platform.lake.load(BATCHES).current_snapshot()
    rows = query(b.platform, f"SELECT * FROM {BATCHES} ORDER BY ALL", user=b.anna, max_rows=None).table
    return (
        published,
        current.snapshot_id if current else 0,
        int(shares or 0),
        [tuple(r.values()) for r in rows.to_pylist()],
    )


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_blocking_check_rejects_an_append_and_the_dataset_stays_exactly_as_it_was(any_batches: Batches) -> None:
    b = any_batches
    b.add("not_null", blocking=True, column="code")
    before = _state(b)
    bad = b.csv(
        "more.csv", "6,Berlin,ok,1.5,,2020-01-06 08:00:00,zoe@example.com", "7,Lyon,ok,2.5,B-007,2020-01-06 09:00:00,"
    )

    with pytest.raises(Conflict) as e:
        b.append(bad)

    message = str(e.value)
    assert "rejected by 1 blocking check" in message and "code is not null: 1 of 2 rows have code null" in message
    assert "quarantine #" in message and "\n" not in message
    assert _state(b) == before
    (held,) = quarantine.listing(b.platform, b.anna, BATCHES)
    assert (held.file, held.mode, held.by, held.status) == ("more.csv", "append", "anna", "held")
    _, files = quarantine.get(b.platform, b.anna, held.id)
    assert [f.name for f in files] == ["more.csv"] and _sha(files[0]) == _sha(bad) == held.sha256
    with b.platform.store.session() as s:
        run = s.get(CheckRun, held.runs[0])
        assert run is not None and (run.status, run.rejected, run.failing, run.trigger) == ("fail", True, 1, "share")
        assert run.detail["scope"] == "appended rows"


def test_the_rejected_sharer_and_the_owners_are_told(batches: Batches) -> None:
    from threshold.identity.service import join_domain
    from threshold.notifications.service import inbox

    b = batches
    join_domain(b.platform, "carla", "manufacturing")
    carla = type(b.carla)(**{**b.carla.__dict__, "domains": ("manufacturing", "sales")})
    b.add("regex", blocking=True, column="code", pattern=r"B-\d{3}")

    with pytest.raises(Conflict):
        b.append(b.csv("typo.csv", "6,Berlin,ok,1.5,B6,2020-01-06 08:00:00,"), user=carla)

    for person in (carla, b.anna):
        (msg,) = [m for m in inbox(b.platform, person) if m.kind == "quality.rejected"]
        assert "typo.csv" in msg.title and "code matches" in msg.body


def test_row_rules_judge_only_the_appended_rows(batches: Batches) -> None:
    """The published rows already have a null plant; a clean append is not blocked by it."""
    b = batches
    b.add("not_null", blocking=True, column="plant")
    result = b.append(b.csv("clean.csv", "6,Berlin,ok,1.5,B-006,2020-01-06 08:00:00,"))
    assert result[0].rows_total == 6


def test_unique_at_an_append_judges_what_the_append_adds(batches: Batches) -> None:
    b = batches
    b.add("unique", blocking=True, column="batch_id")  # the published data repeats batch 3 once
    assert b.append(b.csv("new-key.csv", "6,Berlin,ok,1.5,B-006,2020-01-06 08:00:00,"))[0].rows_total == 6
    with pytest.raises(Conflict, match="the append adds 1 \\(the published snapshot had 1\\)"):
        b.append(b.csv("dup-key.csv", "5,Berlin,ok,1.5,B-007,2020-01-06 08:00:00,"))


def test_a_non_blocking_failure_publishes_and_opens_an_incident(batches: Batches) -> None:
    b = batches
    b.add("accepted_values", column="status", values="ok,scrap,weird")
    result = b.append(b.csv("bogus.csv", "6,Berlin,bogus,1.5,B-006,2020-01-06 08:00:00,"))

    assert result[0].rows_total == 6
    (incident,) = list_incidents(b.platform, b.anna)
    assert incident.kind == "check" and incident.status == "open"
    assert incident.dataset == BATCHES and incident.column == "status" and incident.domain == "manufacturing"
    assert "1 of 1 rows have a value of status that is not accepted" in incident.description


def test_a_failing_check_counts_occurrences_instead_of_opening_again(batches: Batches) -> None:
    b = batches
    b.add("not_null", column="plant")
    for _ in range(3):
        dataset_checks.run(b.platform, b.anna, BATCHES)
    (incident,) = list_incidents(b.platform, b.anna)
    assert incident.occurrences == 3


def test_a_blocking_check_that_cannot_run_fails_closed(batches: Batches) -> None:
    b = batches
    b.add("sql", blocking=True, sql="SELECT * FROM manufacturing.batches WHERE CAST(code AS INTEGER) > 0")
    before = _state(b)
    with pytest.raises(Conflict, match="could not|failed|rejected"):
        b.append(b.csv("more.csv", "6,Berlin,ok,1.5,B-006,2020-01-06 08:00:00,"))
    assert _state(b) == before


def test_a_replace_is_judged_as_a_whole(batches: Batches) -> None:
    b = batches
    b.add("row_count", blocking=True, min=3)
    before = _state(b)
    small = b.csv("small.csv", "1,Berlin,ok,1.5,B-001,2020-01-06 08:00:00,")
    with pytest.raises(Conflict, match="1 row; expected at least 3 rows"):
        share(b.platform, small, domain="manufacturing", name="batches", mode="replace", user=b.anna)
    assert _state(b) == before
    assert quarantine.listing(b.platform, b.anna, BATCHES)[0].mode == "replace"


def test_a_rejected_frame_is_kept_as_parquet(batches: Batches) -> None:
    b = batches
    b.add("range", blocking=True, column="weight_kg", max=1000)
    frame = pa.table(
        {
            "batch_id": [9],
            "plant": ["Porto"],
            "status": ["ok"],
            "weight_kg": [5000.0],
            "code": ["B-009"],
            "produced_at": [None],
            "inspector_email": [None],
        }
    )
    frame = frame.set_column(5, "produced_at", pa.array([None], pa.timestamp("us")))
    with pytest.raises(Conflict, match="weight_kg out of range"):
        share(b.platform, frame, domain="manufacturing", name="batches", mode="append", user=b.anna)
    (held,) = quarantine.listing(b.platform, b.anna, BATCHES)
    _, files = quarantine.get(b.platform, b.anna, held.id)
    import pyarrow.parquet as pq

    assert pq.read_table(files[0]).column("weight_kg").to_pylist() == [5000.0]


def test_an_owner_releases_a_quarantined_file_and_its_failure_opens_an_incident(batches: Batches) -> None:
    b = batches
    b.add("not_null", blocking=True, column="code")
    with pytest.raises(Conflict):
        b.append(b.csv("more.csv", "6,Berlin,ok,1.5,,2020-01-06 08:00:00,"))
    (held,) = quarantine.listing(b.platform, b.anna, BATCHES)

    with pytest.raises(Denied, match="rule: domain.owner"):
        quarantine.release(b.platform, b.ben, held.id)
    released = quarantine.release(b.platform, b.anna, held.id)

    assert released.rows_added == 1
    assert quarantine.listing(b.platform, b.anna, BATCHES)[0].status == "released"
    assert [i.title for i in list_incidents(b.platform, b.anna)] == [f"{BATCHES}: check failed: code is not null"]
    with pytest.raises(Conflict, match="released already"):
        quarantine.release(b.platform, b.anna, held.id)


def test_shares_without_checks_are_not_slowed_by_the_gate(batches: Batches) -> None:
    b = batches
    assert b.append(b.csv("more.csv", "6,Berlin,ok,1.5,,2020-01-06 08:00:00,"))[0].rows_total == 6
    with b.platform.store.session() as s:
        assert s.scalar(select(func.count(CheckRun.id))) == 0
        assert s.scalar(select(func.count(Quarantine.id))) == 0


def test_the_gate_reads_as_the_owner_and_records_the_read(batches: Batches) -> None:
    """The gate's read is a governed read: one usage event per query, as the owner, for the quality purpose."""
    from threshold.store.models import UsageEvent

    b = batches
    b.add("not_null", column="plant")
    with b.platform.store.session() as s:
        before = s.scalar(select(func.count(UsageEvent.id)).where(UsageEvent.interface == "job"))
    b.append(b.csv("more.csv", "6,Berlin,ok,1.5,B-006,2020-01-06 08:00:00,"))
    with b.platform.store.session() as s:
        events = list(s.scalars(select(UsageEvent).where(UsageEvent.interface == "job").order_by(UsageEvent.id)))
    new = events[before:]
    assert new and all(e.user_id == b.anna.id and e.purpose == "data quality" for e in new)
