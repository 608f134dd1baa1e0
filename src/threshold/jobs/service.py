"""The scheduler's work: plan jobs, claim the due ones, run them through their kind, retry, record.

Claims hold across servers: a due job is taken with one compare-and-set UPDATE (its `next_run_at`
unchanged and no live claim), which exactly one worker wins on SQLite and on PostgreSQL; the claim
lasts the kind's lease, and a worker that dies leaves a claim that expires and is taken over. A
finished run moves `next_run_at` to the next scheduled time, or (failed, retries left) to a retry after
`backoff_seconds * 2**(attempt - 1)`, and writes one `JobRun`.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from threshold.errors import Conflict, NotFound
from threshold.jobs import schedule
from threshold.jobs.kinds import JobKind, kinds
from threshold.jobs.models import Job, JobRun
from threshold.jobs.results import JobRow, JobsOverview, KindRow, OutcomeRow, RunRow
from threshold.platform import Platform

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """How one run of one job went."""

    kind: str
    key: str
    label: str
    trigger: str
    status: str
    """`ok`, `failed` or `skipped`."""
    result: Any = None
    error: Exception | None = None
    attempt: int = 1
    next_run_at: datetime | None = None


@dataclass
class _Claimed:
    job_id: int
    kind: str
    key: str
    label: str
    trigger: str
    attempt: int
    token: str
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def plan(s: Session, kind: str, key: str, schedule_text: str | None, *, label: str, now: datetime) -> Job:
    """Create or update the job (`kind`, `key`) in the caller's transaction; it next runs at the
    schedule's next time after `now` (never, when it has no schedule)."""
    parsed = schedule.parse(schedule_text)
    job = s.scalars(select(Job).where(Job.kind == kind, Job.key == key)).one_or_none()
    if job is None:
        job = Job(kind=kind, key=key, attempts=0)
        s.add(job)
    job.label = label[:300]
    job.schedule = parsed.text if parsed else None
    job.next_run_at = parsed.next_after(now) if parsed else None
    job.attempts = 0
    s.flush()
    return job


def unplan(s: Session, kind: str, key: str) -> None:
    """Forget the job (its run history stays)."""
    s.execute(delete(Job).where(Job.kind == kind, Job.key == key))


def next_runs(s: Session, kind: str, keys: Iterable[str]) -> dict[str, datetime | None]:
    """When each of these jobs runs next (keys without a job are left out)."""
    wanted = list(keys)
    if not wanted:
        return {}
    rows = s.execute(select(Job.key, Job.next_run_at).where(Job.kind == kind, Job.key.in_(wanted)))
    return {k: _aware(t) for k, t in rows}


def run_due(platform: Platform, *, now: datetime | None = None, only: Sequence[str] | None = None) -> list[Outcome]:
    """Claim and run every due job (of the kinds in `only`, default all), oldest due first."""
    declared = kinds()
    now = now or platform.clock()
    names = [k for k in declared if only is None or k in only]
    if not names:
        return []
    with platform.store.reader() as s:
        due = s.execute(
            select(Job.id, Job.kind, Job.next_run_at)
            .where(
                Job.kind.in_(names),
                Job.next_run_at.is_not(None),
                Job.next_run_at <= now,
                or_(Job.claimed_until.is_(None), Job.claimed_until < now),
            )
            .order_by(Job.next_run_at, Job.id)
        ).all()
    token = _worker()
    claimed: dict[str, list[_Claimed]] = {}
    for job_id, kind, was in due:
        c = _claim(platform, job_id, declared[kind], token, now, was=was)
        if c is not None:
            claimed.setdefault(kind, []).append(c)
    out: list[Outcome] = []
    for kind, batch in claimed.items():
        out.extend(_run(platform, declared[kind], batch, now))
    return out


def run_now(platform: Platform, kind: str, key: str) -> Outcome:
    """Run one job at once, whatever its schedule (refused while another worker holds it)."""
    declared = kinds()
    if kind not in declared:
        raise NotFound(f"no job kind {kind[:60]!r}; known: {', '.join(sorted(declared))}")
    now = platform.clock()
    with platform.store.reader() as s:
        job = s.scalars(select(Job).where(Job.kind == kind, Job.key == key)).one_or_none()
    if job is None:
        raise NotFound(f"no {kind} job {key[:100]!r}")
    c = _claim(platform, job.id, declared[kind], _worker(), now, trigger="manual")
    if c is None:
        raise Conflict(f"the {kind} job {key} is running on {job.claimed_by or 'another worker'}; try again later")
    return _run(platform, declared[kind], [c], now)[0]


def _claim(
    platform: Platform,
    job_id: int,
    kind: JobKind,
    token: str,
    now: datetime,
    *,
    was: datetime | None = None,
    trigger: str | None = None,
) -> _Claimed | None:
    """Compare-and-set: take the job when nobody holds it (and, for a due run, it is still as seen)."""
    cond = [Job.id == job_id, or_(Job.claimed_until.is_(None), Job.claimed_until < now)]
    if was is not None:
        cond.append(Job.next_run_at == was)
    with platform.store.session() as s:
        moved = s.execute(
            update(Job)
            .where(and_(*cond))
            .values(claimed_by=token, claimed_until=now + timedelta(seconds=kind.lease_seconds))
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            return None
        job = s.get(Job, job_id)
        assert job is not None
        return _Claimed(
            job_id,
            job.kind,
            job.key,
            job.label,
            trigger or ("retry" if job.attempts else "schedule"),
            job.attempts + 1,
            token,
            now,
        )


def _run(platform: Platform, kind: JobKind, batch: list[_Claimed], now: datetime) -> list[Outcome]:
    keys = [c.key for c in batch]
    try:
        results = kind.run(platform, keys)
    except Exception as e:  # a kind that fails as a whole fails each of its jobs; the claims are released
        log.exception("jobs: %s failed", kind.name)
        results = dict.fromkeys(keys, e)
    ran = {key: i for i, key in enumerate(results)}  # outcomes in the order the kind ran them (upstream first...)
    batch = sorted(batch, key=lambda c: ran.get(c.key, len(ran)))
    return [_finish(platform, kind, c, c.key in results, results.get(c.key), now) for c in batch]


def _finish(platform: Platform, kind: JobKind, c: _Claimed, ran: bool, result: Any, now: datetime) -> Outcome:
    failed = isinstance(result, Exception)
    status = "failed" if failed else "ok" if ran else "skipped"
    error = str(result)[:2000] if failed else None
    finished = platform.clock()
    with platform.store.session() as s:
        job = s.get(Job, c.job_id)
        next_at: datetime | None = None
        if job is not None and job.claimed_by == c.token:
            if failed and job.schedule and job.attempts < kind.retries:
                job.attempts += 1
                next_at = now + timedelta(seconds=kind.backoff_seconds * 2 ** (job.attempts - 1))
            else:
                job.attempts = 0
                next_at = schedule.next_run(job.schedule, now)
            job.next_run_at = next_at
            job.claimed_by = job.claimed_until = None
            job.last_run_at, job.last_status, job.last_error = finished, status, error
        s.add(
            JobRun(
                job_id=job.id if job is not None else None,
                kind=c.kind,
                key=c.key,
                label=c.label,
                trigger=c.trigger,
                worker=c.token,
                attempt=c.attempt,
                started_at=c.started_at,
                finished_at=finished,
                status=status,
                error=error,
                summary=_summary(result) if not failed else {},
            )
        )
    return Outcome(
        c.kind,
        c.key,
        c.label,
        c.trigger,
        status,
        result=None if failed else result,
        error=result if failed else None,
        attempt=c.attempt,
        next_run_at=next_at,
    )


def overview(platform: Platform, *, history_limit: int = 50) -> JobsOverview:
    """The jobs page: every job, every declared kind, the newest runs, and whether the scheduler is on.

    Jobs name every dataset: interfaces ask the decision point (`jobs.operate`) before calling."""
    return JobsOverview(
        scheduler=platform.settings.jobs.scheduler,
        interval_seconds=platform.settings.jobs.interval_seconds,
        kinds=[
            KindRow(k.name, k.title, k.retries, k.backoff_seconds)
            for k in sorted(kinds().values(), key=lambda k: k.name)
        ],
        jobs=listing(platform),
        history=history(platform, limit=history_limit),
    )


def listing(platform: Platform, *, kind: str | None = None) -> list[JobRow]:
    """Every job, with its schedule, next run, claim and last outcome."""
    now = platform.clock()
    with platform.store.reader() as s:
        q = select(Job).order_by(Job.kind, Job.label, Job.key)
        if kind:
            q = q.where(Job.kind == kind)
        return [
            JobRow(
                kind=j.kind,
                key=j.key,
                label=j.label,
                schedule=j.schedule,
                next_run_at=_iso(j.next_run_at),
                running_on=j.claimed_by if (_aware(j.claimed_until) or now) > now else None,
                attempts=j.attempts,
                last_run_at=_iso(j.last_run_at),
                last_status=j.last_status,
                last_error=j.last_error,
            )
            for j in s.scalars(q.limit(5000))
        ]


def history(platform: Platform, *, kind: str | None = None, key: str | None = None, limit: int = 100) -> list[RunRow]:
    """The newest runs first."""
    with platform.store.reader() as s:
        q = select(JobRun).order_by(JobRun.id.desc()).limit(max(1, min(limit, 1000)))
        if kind:
            q = q.where(JobRun.kind == kind)
        if key:
            q = q.where(JobRun.key == key)
        return [
            RunRow(
                id=r.id,
                kind=r.kind,
                key=r.key,
                label=r.label,
                trigger=r.trigger,
                attempt=r.attempt,
                status=r.status,
                started_at=_iso(r.started_at),
                finished_at=_iso(r.finished_at),
                worker=r.worker,
                error=r.error,
            )
            for r in s.scalars(q)
        ]


def outcome_row(o: Outcome) -> OutcomeRow:
    """A run's outcome as the interfaces show it (the error as text, the result in scalars)."""
    return OutcomeRow(
        kind=o.kind,
        key=o.key,
        label=o.label,
        trigger=o.trigger,
        status=o.status,
        attempt=o.attempt,
        error=str(o.error) if o.error is not None else None,
        next_run_at=_iso(o.next_run_at),
        summary=_summary(o.result),
    )


def _summary(result: Any) -> dict[str, Any]:
    if isinstance(result, dict):
        return {k: v for k, v in result.items() if isinstance(v, (str, int, float, bool)) or v is None}
    for attr in ("status", "snapshot_id", "rows"):
        if hasattr(result, attr):
            return {a: getattr(result, a) for a in ("status", "snapshot_id", "rows") if hasattr(result, a)}
    return {}


def _worker() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _aware(d: datetime | None) -> datetime | None:
    if d is None:
        return None
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def _iso(d: datetime | None) -> str | None:
    a = _aware(d)
    return a.isoformat(timespec="seconds") if a else None
