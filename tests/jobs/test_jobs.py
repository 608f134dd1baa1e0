"""The jobs core: planned jobs run when due (by an injected clock, never a sleep), once however many
workers, retry with backoff, record their history, and run now on request."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from threshold.access import require
from threshold.errors import Conflict, Denied, InvalidInput, NotFound
from threshold.identity.service import add_user, get_person
from threshold.jobs import kinds, service
from threshold.jobs.kinds import JobKind, declare
from threshold.jobs.models import Job, JobRun
from threshold.jobs.scheduler import Scheduler
from threshold.platform import Platform

T0 = datetime(2026, 3, 4, 10, 7, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class Echo:
    """A job kind for tests: records the keys it ran; keys in `failing` fail, keys in `idle` are skipped."""

    def __init__(self) -> None:
        self.ran: list[list[str]] = []
        self.failing: set[str] = set()
        self.idle: set[str] = set()
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def __call__(self, platform: Platform, keys: Sequence[str]) -> dict[str, Any]:
        self.entered.set()
        self.release.wait(30)
        self.ran.append(list(keys))
        return {
            k: (InvalidInput(f"{k} cannot run") if k in self.failing else {"status": "ok", "rows": len(k)})
            for k in keys
            if k not in self.idle
        }


@pytest.fixture
def echo() -> Iterator[Echo]:
    runner = Echo()
    declare(JobKind("test.echo", "Echo for tests", run=runner, retries=2, backoff_seconds=60))
    yield runner
    kinds._KINDS.pop("test.echo", None)


@pytest.fixture
def clock(any_platform: Platform) -> Clock:
    c = Clock(T0)
    any_platform.clock = c
    return c


def _plan(p: Platform, key: str, schedule: str | None, now: datetime = T0) -> None:
    with p.store.session() as s:
        service.plan(s, "test.echo", key, schedule, label=f"label of {key}", now=now)


def _job(p: Platform, key: str) -> Job:
    with p.store.reader() as s:
        return s.scalars(select(Job).where(Job.kind == "test.echo", Job.key == key)).one()


def _at(d: datetime | None) -> datetime | None:
    return d if d is None or d.tzinfo else d.replace(tzinfo=UTC)


def test_a_planned_job_runs_when_due_and_is_planned_again(any_platform: Platform, echo: Echo, clock: Clock) -> None:
    p = any_platform
    _plan(p, "a", "hourly")
    _plan(p, "b", None)
    assert _at(_job(p, "a").next_run_at) == datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
    assert _job(p, "b").next_run_at is None

    assert service.run_due(p) == []  # not yet
    clock.at = datetime(2026, 3, 4, 11, 0, 5, tzinfo=UTC)
    (o,) = service.run_due(p)

    assert (o.kind, o.key, o.status, o.trigger, o.result) == (
        "test.echo",
        "a",
        "ok",
        "schedule",
        {"status": "ok", "rows": 1},
    )
    assert o.next_run_at == datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    assert echo.ran == [["a"]]
    assert service.run_due(p) == []
    job = _job(p, "a")
    assert (job.last_status, job.attempts, job.claimed_by) == ("ok", 0, None)
    (run,) = service.history(p, kind="test.echo")
    assert (run.key, run.label, run.status, run.trigger, run.attempt) == (
        "a",
        "label of a",
        "ok",
        "schedule",
        1,
    )


def test_a_failed_run_is_retried_with_backoff_then_waits_for_its_schedule(
    any_platform: Platform, echo: Echo, clock: Clock
) -> None:
    p = any_platform
    _plan(p, "a", "daily")
    echo.failing.add("a")
    clock.at = datetime(2026, 3, 5, 0, 0, tzinfo=UTC)

    first = service.run_due(p)[0]
    assert (first.status, first.trigger, str(first.error)) == ("failed", "schedule", "a cannot run")
    assert first.next_run_at == clock.at + timedelta(seconds=60)
    clock.at += timedelta(seconds=60)
    second = service.run_due(p)[0]
    assert (second.trigger, second.attempt) == ("retry", 2)
    assert second.next_run_at == clock.at + timedelta(seconds=120)
    clock.at += timedelta(seconds=120)
    third = service.run_due(p)[0]
    assert (third.status, third.attempt) == ("failed", 3)
    assert third.next_run_at == datetime(2026, 3, 6, 0, 0, tzinfo=UTC)  # retries spent: the next scheduled time
    assert _job(p, "a").attempts == 0 and _job(p, "a").last_error == "a cannot run"

    echo.failing.clear()
    clock.at = datetime(2026, 3, 6, 0, 0, tzinfo=UTC)
    assert service.run_due(p)[0].status == "ok"
    statuses = [(r.trigger, r.status) for r in reversed(service.history(p, key="a"))]
    assert statuses == [("schedule", "failed"), ("retry", "failed"), ("retry", "failed"), ("schedule", "ok")]


def test_a_kind_that_fails_as_a_whole_fails_each_job_and_releases_it(
    any_platform: Platform, echo: Echo, clock: Clock
) -> None:
    p = any_platform
    _plan(p, "a", "hourly")
    echo.release.clear()
    echo.release.set()

    def broken(platform: Platform, keys: Sequence[str]) -> dict[str, Any]:
        raise RuntimeError("the kind broke")

    kinds._KINDS["test.echo"] = JobKind("test.echo", "broken", run=broken, retries=0)
    clock.at = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
    (o,) = service.run_due(p)
    assert o.status == "failed" and "the kind broke" in str(o.error)
    job = _job(p, "a")
    assert job.claimed_by is None and _at(job.next_run_at) == datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def test_a_skipped_job_is_recorded_as_skipped(any_platform: Platform, echo: Echo, clock: Clock) -> None:
    p = any_platform
    _plan(p, "a", "hourly")
    echo.idle.add("a")
    clock.at = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
    assert service.run_due(p)[0].status == "skipped"
    assert service.history(p, key="a")[0].status == "skipped"


def test_several_workers_at_once_run_a_due_job_once(any_platform: Platform, echo: Echo, clock: Clock) -> None:
    p = any_platform
    for key in ("a", "b", "c"):
        _plan(p, key, "every 15 minutes")
    clock.at = datetime(2026, 3, 4, 10, 15, tzinfo=UTC)
    results: list[list[service.Outcome]] = []
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait(30)
        results.append(service.run_due(p))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ran = sorted(o.key for r in results for o in r)
    assert ran == ["a", "b", "c"]
    assert sorted(k for batch in echo.ran for k in batch) == ["a", "b", "c"]
    with p.store.reader() as s:
        assert len(s.scalars(select(JobRun)).all()) == 3


def test_a_live_claim_is_respected_and_an_expired_one_taken_over(
    any_platform: Platform, echo: Echo, clock: Clock
) -> None:
    p = any_platform
    _plan(p, "a", "hourly")
    clock.at = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
    with p.store.session() as s:
        job = s.scalars(select(Job).where(Job.key == "a")).one()
        job.claimed_by, job.claimed_until = "dead-worker", clock.at + timedelta(minutes=5)

    assert service.run_due(p) == []
    with pytest.raises(Conflict, match="running on dead-worker"):
        service.run_now(p, "test.echo", "a")
    clock.at += timedelta(minutes=6)  # the claim expired: its worker died
    (o,) = service.run_due(p)
    assert o.status == "ok" and _job(p, "a").claimed_by is None


def test_run_now_runs_a_job_whatever_its_schedule(any_platform: Platform, echo: Echo, clock: Clock) -> None:
    p = any_platform
    _plan(p, "manual", None)
    o = service.run_now(p, "test.echo", "manual")
    assert (o.status, o.trigger, o.next_run_at) == ("ok", "manual", None)
    with pytest.raises(NotFound, match="no test.echo job 'nothing'"):
        service.run_now(p, "test.echo", "nothing")
    with pytest.raises(NotFound, match="no job kind 'no.such'"):
        service.run_now(p, "no.such", "x")


def test_unplanned_jobs_stop_and_keep_their_history(any_platform: Platform, echo: Echo, clock: Clock) -> None:
    p = any_platform
    _plan(p, "a", "hourly")
    service.run_now(p, "test.echo", "a")
    with p.store.session() as s:
        service.unplan(s, "test.echo", "a")
    assert [j for j in service.listing(p) if j.kind == "test.echo"] == []
    assert [r.key for r in service.history(p, kind="test.echo")] == ["a"]


def test_the_scheduler_ticks_with_the_platform_clock(any_platform: Platform, echo: Echo, clock: Clock) -> None:
    p = any_platform
    _plan(p, "a", "hourly")
    scheduler = Scheduler(p)
    assert scheduler.tick() == []
    clock.at = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
    assert [o.key for o in scheduler.tick()] == ["a"]


def test_the_scheduler_thread_runs_due_jobs_and_stops(any_platform: Platform, echo: Echo, clock: Clock) -> None:
    p = any_platform
    _plan(p, "a", "hourly")
    clock.at = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
    before = _schedulers()
    scheduler = Scheduler(p, interval=0.01).start()
    try:
        assert echo.entered.wait(30)  # an event the job sets, not a sleep
    finally:
        scheduler.stop()
    assert not _schedulers() - before
    assert echo.ran == [["a"]]


def test_only_admins_see_and_run_jobs(platform: Platform) -> None:
    add_user(platform, "ben", password="ben-pass")
    with pytest.raises(Denied, match="ben may not see or run the platform's jobs.*rule: jobs.admin"):
        require(get_person(platform, "ben"), "jobs.operate")
    require(get_person(platform, "admin"), "jobs.operate")
    data = service.overview(platform)
    assert {"derivation.refresh", "quality.check"} <= {k.name for k in data.kinds}
    assert data.scheduler is True and data.jobs == [] and data.history == []
    assert list(data.to_json()) == ["scheduler", "interval_seconds", "kinds", "jobs", "history"]


def test_the_scheduler_setting_switches_the_servers_thread_off(platform: Platform) -> None:
    from starlette.testclient import TestClient

    from threshold.api.app import create_app

    before = _schedulers()  # another test's server may still be stopping in this process: only new ones count
    platform.settings.jobs.scheduler = False
    with TestClient(create_app(platform)):
        assert not _schedulers() - before
    platform.settings.jobs.scheduler = True
    with TestClient(create_app(platform)):
        assert _schedulers() - before
    assert not _schedulers() - before


def _schedulers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "threshold-scheduler"}


def test_the_jobs_command_lists_runs_and_refuses_bad_input(tmp_path: Any) -> None:
    import json
    import subprocess

    import inprocess

    home = tmp_path / "home"

    def threshold(*args: str) -> subprocess.CompletedProcess[str]:
        """The command in this process (`tests/inprocess.py`): its exit code, stdout and stderr."""
        return inprocess.threshold(*args, home=home, columns=120)

    assert threshold("init").returncode == 0
    listed = threshold("jobs", "list", "--format", "json")
    assert listed.returncode == 0
    planned = {(j["kind"], j["schedule"]) for j in json.loads(listed.stdout)}
    assert planned == {
        ("operations.compact", None),
        ("operations.expire", None),
        ("operations.sweep", "daily"),
        ("compliance.retention", "daily"),
        ("maturity.snapshot", "0 3 1 * *"),
    }
    due = threshold("jobs", "run", "--due", "--format", "json")
    assert due.returncode == 0 and json.loads(due.stdout) == []
    assert json.loads(threshold("jobs", "history", "--format", "json").stdout) == []
    both = threshold("jobs", "run", "derivation.refresh", "x", "--due")
    assert both.returncode != 0 and both.stderr.strip().count("\n") == 0 and "KIND and KEY, or --due" in both.stderr
    missing = threshold("jobs", "run", "derivation.refresh", "sales.nothing")
    assert missing.returncode != 0 and "no derivation.refresh job 'sales.nothing'" in missing.stderr


def test_outcomes_come_in_the_order_the_kind_ran_its_jobs(any_platform: Platform, clock: Clock) -> None:
    """A kind may reorder its batch (derivations run upstream first); the outcomes follow that order."""
    p = any_platform

    def backwards(platform: Platform, keys: Sequence[str]) -> dict[str, Any]:
        return {k: {"status": "ok"} for k in sorted(keys, reverse=True)}

    declare(JobKind("test.backwards", "Runs its batch backwards", run=backwards))
    try:
        with p.store.session() as s:
            for key in ("a", "b", "c"):
                service.plan(s, "test.backwards", key, "hourly", label=key, now=T0)
        clock.at = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
        assert [o.key for o in service.run_due(p, only=["test.backwards"])] == ["c", "b", "a"]
    finally:
        kinds._KINDS.pop("test.backwards", None)


def test_a_platform_start_imports_no_job_code() -> None:
    """Every registration runs when a platform opens; the code a job kind runs (SQL parsing, markdown, the
    contract model) is imported only when a job of that kind runs, so a share or a query does not pay for it."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from threshold.capabilities import load\n"
        "load()\n"
        "heavy = ('sqlglot', 'markdown_it', 'open_data_contract_standard', 'sqlalchemy.dialects.postgresql')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_every_job_kind_runs_a_function_that_exists() -> None:
    import importlib

    for kind in kinds.kinds().values():
        run = kind.run
        if isinstance(run, kinds.Later):
            assert callable(getattr(importlib.import_module(run.module), run.function)), kind.name
        assert callable(run)


def test_a_kind_declared_twice_later_is_one_kind() -> None:
    """A lazily named runner compares by what it names: registering a capability again changes nothing."""
    declare(JobKind("test.later", "Later", run=kinds.Later("threshold.lineage.derive", "refresh_jobs")))
    try:
        declare(JobKind("test.later", "Later", run=kinds.Later("threshold.lineage.derive", "refresh_jobs")))
        with pytest.raises(ValueError, match="declared twice"):
            declare(JobKind("test.later", "Later", run=kinds.Later("threshold.insights.runs", "rerun_jobs")))
    finally:
        kinds._KINDS.pop("test.later", None)
