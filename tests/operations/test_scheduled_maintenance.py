"""Maintenance as scheduled jobs of the jobs core: compaction, snapshot expiry and the home's sweep.

The schedules are settings; `plan_from_settings` (what `threshold init` and `threshold serve` run)
plans the jobs, and the jobs core runs them when due (the test gives the time: no waiting).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from threshold.errors import InvalidInput
from threshold.identity.service import add_domain, ensure_admin
from threshold.jobs import service as jobs
from threshold.lakefiles import live_files
from threshold.operations import schedules
from threshold.platform import Platform

from .small_lake import count, killed_share, put

NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _home(tmp_path: Path, **operations: object) -> Platform:
    platform = Platform.open(tmp_path / "home", must_exist=False, operations=operations)
    platform.init()
    ensure_admin(platform)
    add_domain(platform, "d")
    platform.clock = lambda: NOON
    return platform


def test_compaction_and_the_sweep_run_when_their_schedules_say(tmp_path: Path) -> None:
    home = _home(tmp_path, compact_schedule="daily at 03:00", sweep_schedule="hourly")
    schedules.plan_from_settings(home)
    put(home, "d.t", 0, 10, mode="create")
    for k in range(1, 12):
        put(home, "d.t", 100 * k, 10)
    killed_share(home, "d.t", 5000, 7, "append")  # an abandoned snapshot for the sweep
    assert len(home.lake.load("d.t").snapshots()) == 13

    assert jobs.run_due(home, now=NOON) == [], "nothing is due yet"
    outcomes = {o.kind: o for o in jobs.run_due(home, now=datetime(2026, 12, 2, 3, 0, tzinfo=UTC))}

    assert set(outcomes) == {schedules.SWEEP, schedules.COMPACT}, "expiry has no schedule: it never runs by itself"
    sweep, compaction = outcomes[schedules.SWEEP], outcomes[schedules.COMPACT]
    assert (sweep.status, sweep.result["cleaned"], sweep.result["busy"]) == ("ok", 1, 0)
    assert sweep.result["files_removed"] >= 1
    assert compaction.status == "ok"
    assert {k: compaction.result[k] for k in ("datasets", "compacted", "files_merged")} == {
        "datasets": 1,
        "compacted": 1,
        "files_merged": 11,
    }
    assert compaction.next_run_at == datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
    table = home.lake.load("d.t")
    assert len(live_files(home.lake, table, table.current_snapshot().snapshot_id)) == 1
    assert count(home, "d.t") == 120, "the same rows, none of the killed share's"
    history = jobs.history(home, kind=schedules.COMPACT)
    assert [(r.status, r.trigger) for r in history] == [("ok", "schedule")]


def test_scheduled_expiry_keeps_every_published_snapshot_without_a_time_travel_promise(tmp_path: Path) -> None:
    home = _home(tmp_path, expire_schedule="daily")
    schedules.plan_from_settings(home)
    put(home, "d.t", 0, 5, mode="create")
    put(home, "d.t", 5, 5)

    outcomes = {o.kind: o for o in jobs.run_due(home, now=datetime(2026, 12, 2, 0, 0, tzinfo=UTC))}

    assert set(outcomes) == {schedules.EXPIRE, schedules.SWEEP}, "the sweep is daily unless told otherwise"
    outcome = outcomes[schedules.EXPIRE]
    assert outcome.status == "ok"
    assert outcome.result["snapshots_expired"] == 0
    assert len(home.lake.load("d.t").snapshots()) == 2


def test_a_bad_schedule_names_its_setting(tmp_path: Path) -> None:
    home = _home(tmp_path, compact_schedule="twice a fortnight")
    with pytest.raises(InvalidInput, match=r"^THRESHOLD_OPERATIONS__COMPACT_SCHEDULE: "):
        schedules.plan_from_settings(home)


def test_the_jobs_are_planned_from_the_settings(tmp_path: Path) -> None:
    home = _home(tmp_path, sweep_schedule="every 6 hours")
    schedules.plan_from_settings(home)
    planned = {j.kind: j for j in jobs.listing(home) if j.kind.startswith("operations.")}
    assert set(planned) == {schedules.COMPACT, schedules.EXPIRE, schedules.SWEEP}
    assert planned[schedules.SWEEP].schedule == "every 6 hours"
    assert planned[schedules.COMPACT].schedule is None
