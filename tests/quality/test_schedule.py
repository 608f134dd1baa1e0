"""Scheduled checks are jobs: due ones run (a dataset's due checks in one scan), once, however many schedulers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from threshold.jobs.models import Job
from threshold.jobs.scheduler import Scheduler
from threshold.quality.check_results import CheckResult, ChecksNotRun
from threshold.quality.dataset_checks import CHECK_JOB
from threshold.quality.models import CheckRun
from threshold.quality.schedule import run_due

from .conftest import Batches


def _job(s: object, check_id: int) -> Job:
    return s.scalars(select(Job).where(Job.kind == CHECK_JOB, Job.key == str(check_id))).one()  # type: ignore[attr-defined,no-any-return]


def _a_tick_ran_a_job(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """An event set when a scheduler's tick (the real one, wrapped) has run a job: the test waits on it
    instead of polling the store."""
    ran = threading.Event()
    real = Scheduler.tick

    def tick(self: Scheduler) -> list[Any]:
        outcomes = real(self)
        if outcomes:
            ran.set()
        return outcomes

    monkeypatch.setattr(Scheduler, "tick", tick)
    return ran


def _due(b: Batches, *ids: int) -> None:
    with b.platform.store.session() as s:
        for i in ids:
            _job(s, i).next_run_at = datetime.now(UTC) - timedelta(minutes=1)


def test_due_checks_run_once_and_are_scheduled_again(batches: Batches) -> None:
    b = batches
    due = [b.add("not_null", column="batch_id").id, b.add("row_count", min=1).id]
    later = b.add("unique", column="code").id
    _due(b, *due)

    ran = run_due(b.platform)

    assert sorted(r.check or 0 for r in ran) == sorted(due) and {r.status for r in ran} == {"pass"}
    assert run_due(b.platform) == []
    with b.platform.store.session() as s:
        runs = dict(s.execute(select(CheckRun.check_id, CheckRun.trigger)).all())
        assert runs == {due[0]: "schedule", due[1]: "schedule"} and later not in runs
        assert all(_job(s, i).next_run_at is not None for i in due)


def test_two_schedulers_at_once_run_a_due_check_once(batches: Batches) -> None:
    b = batches
    check_id = b.add("not_null", column="batch_id").id
    _due(b, check_id)
    results: list[list[CheckResult | ChecksNotRun]] = []
    threads = [threading.Thread(target=lambda: results.append(run_due(b.platform))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(r) for r in results) == 1
    with b.platform.store.session() as s:
        assert s.scalar(select(func.count(CheckRun.id))) == 1


def test_the_scheduler_thread_runs_due_checks(batches: Batches, monkeypatch: pytest.MonkeyPatch) -> None:
    b = batches
    check_id = b.add("not_null", column="batch_id").id
    _due(b, check_id)
    ran = _a_tick_ran_a_job(monkeypatch)
    scheduler = Scheduler(b.platform, interval=0.05).start()
    try:
        assert ran.wait(60), "the scheduler thread never ran the due check"
    finally:
        scheduler.stop()
    with b.platform.store.session() as s:
        assert s.scalar(select(CheckRun.status)) == "pass"


def test_serving_the_app_runs_the_scheduler(batches: Batches, monkeypatch: pytest.MonkeyPatch) -> None:
    """`threshold serve` runs scheduled checks: the app's lifespan starts the jobs scheduler thread."""
    from starlette.testclient import TestClient

    from threshold.api.app import create_app

    b = batches
    b.platform.settings.jobs.interval_seconds = 0.05
    _due(b, b.add("not_null", column="batch_id").id)
    ran = _a_tick_ran_a_job(monkeypatch)
    before = _schedulers()  # another test's server may still be stopping in this process: only new ones count
    with TestClient(create_app(b.platform)):
        assert ran.wait(60), "the app's scheduler never ran the due check"
        assert _schedulers() - before
    with b.platform.store.session() as s:
        assert s.scalar(select(CheckRun.trigger)) == "schedule"
    assert not _schedulers() - before, "the app's scheduler thread outlived the app"


def _schedulers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "threshold-scheduler"}
