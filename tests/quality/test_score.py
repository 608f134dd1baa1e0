"""Quality score and time to acknowledge / fix, computed exactly from a backdated history."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from threshold.quality import incidents
from threshold.quality.models import CheckRun, Incident
from threshold.quality.score import dataset_quality, domain_quality, percentile
from threshold.store.models import Dataset

from .conftest import BATCHES, Batches

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _runs(b: Batches, check_id: int, dataset: str, *runs: tuple[str, int, bool]) -> None:
    """(status, days ago, rejected) per run, with the check's blocking flag as it is."""
    with b.platform.store.session() as s:
        ds = s.scalars(select(Dataset).where(Dataset.full_name == dataset)).one()
        from threshold.quality.models import Check

        blocking = s.get(Check, check_id).blocking  # type: ignore[union-attr]
        for status, days, rejected in runs:
            s.add(
                CheckRun(
                    check_id=check_id,
                    dataset_id=ds.id,
                    snapshot_id=ds.snapshot_id,
                    trigger="schedule",
                    at=NOW - timedelta(days=days),
                    status=status,
                    blocking=blocking,
                    rejected=rejected,
                    message="",
                    sample={},
                    detail={},
                    duration_ms=1.0,
                )
            )


def test_the_score_weighs_each_check_once_and_blocking_ones_double(any_batches: Batches) -> None:
    b = any_batches
    blocking = b.add("not_null", blocking=True, column="batch_id").id
    plain = b.add("row_count", min=1).id
    _runs(
        b,
        blocking,
        BATCHES,
        ("pass", 1, False),
        ("pass", 2, False),
        ("pass", 3, False),
        ("fail", 4, False),
        ("fail", 40, False),  # outside the 30 days
        ("error", 1, False),  # could not judge
        ("fail", 1, True),
    )  # judged a rejected share
    _runs(b, plain, BATCHES, ("pass", 1, False), ("fail", 2, False))

    q = dataset_quality(b.platform, BATCHES, now=NOW)

    assert q.score == 66.7  # 100 * (2 * 3/4 + 1 * 1/2) / 3
    assert (q.runs, q.errors) == (6, 1)
    assert {c.check: (c.runs, c.passed, c.weight) for c in q.checks} == {
        blocking: (4, 3, 2.0),
        plain: (2, 1, 1.0),
    }


def test_the_domain_score_is_the_mean_of_its_datasets(batches: Batches) -> None:
    b = batches
    _runs(b, b.add("not_null", blocking=True, column="batch_id").id, BATCHES, ("pass", 1, False), ("fail", 2, False))
    from threshold.quality import dataset_checks
    from threshold.quality.kinds import CheckSpec

    kpis = dataset_checks.add(b.platform, b.anna, "manufacturing.plant_kpis", CheckSpec("row_count", {"min": 1})).id
    _runs(b, kpis, "manufacturing.plant_kpis", ("pass", 1, False), ("pass", 2, False), ("fail", 3, False))

    q = domain_quality(b.platform, "manufacturing", now=NOW)

    assert [(d.name, d.score) for d in q.datasets] == [(BATCHES, 50.0), ("manufacturing.plant_kpis", 66.7)]
    assert q.score == 58.3  # (50 + 66.67) / 2
    assert domain_quality(b.platform, "finance", now=NOW).score is None


def test_no_run_in_the_window_means_no_score(batches: Batches) -> None:
    _runs(batches, batches.add("row_count", min=1).id, BATCHES, ("pass", 31, False))
    assert dataset_quality(batches.platform, BATCHES, now=NOW).score is None


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([1, 2, 3, 4, 10], 0.5, 3),
        ([1, 2, 3, 4, 10], 0.9, 7.6),
        ([5, 10, 20, 40], 0.5, 15),
        ([5, 10, 20, 40], 0.9, 34),
        ([7], 0.9, 7),
        ([], 0.5, None),
    ],
)
def test_percentiles_interpolate_between_ranks(values: list[float], p: float, expected: float | None) -> None:
    assert percentile(values, p) == (pytest.approx(expected) if expected is not None else None)


def test_time_to_acknowledge_and_to_fix_per_domain(any_batches: Batches) -> None:
    b = any_batches
    timeline = [  # (hours to acknowledge, hours to fix) of incidents opened 10 days before NOW
        (1, 5),
        (2, 10),
        (3, 20),
        (4, 40),
        (10, None),
        (None, None),
    ]
    ids = [incidents.report(b.platform, b.ben, BATCHES, description=f"problem {i}") for i in range(len(timeline) + 1)]
    with b.platform.store.session() as s:
        for incident_id, (ack, fix) in zip(ids, timeline, strict=False):
            inc = s.get(Incident, incident_id)
            assert inc is not None
            inc.opened_at = NOW - timedelta(days=10)
            inc.acknowledged_at = inc.opened_at + timedelta(hours=ack) if ack is not None else None
            inc.fixed_at = inc.opened_at + timedelta(hours=fix) if fix is not None else None
            inc.status = "fixed" if fix else "acknowledged" if ack else "open"
        old = s.get(Incident, ids[-1])  # opened before the 90-day window: not counted
        assert old is not None
        old.opened_at, old.acknowledged_at = NOW - timedelta(days=100), NOW - timedelta(days=99)

    q = domain_quality(b.platform, "manufacturing", now=NOW)

    assert asdict(q.time_to_acknowledge) == {
        "count": 5,
        "median_hours": 3.0,
        "p90_hours": 7.6,
        "waiting": 1,
        "oldest_waiting_hours": 240.0,
    }
    assert asdict(q.time_to_fix) == {
        "count": 4,
        "median_hours": 15.0,
        "p90_hours": 34.0,
        "waiting": 2,
        "oldest_waiting_hours": 240.0,
    }
    assert q.incidents == {"open": 1, "acknowledged": 1, "fixed": 4, "verified": 0}
    assert domain_quality(b.platform, "finance", now=NOW).time_to_fix.median_hours is None
