"""Snapshots: every domain's scores at one moment, stored with their signals and levels. The monthly job
(`maturity.snapshot`, jobs core) and anyone in governance on demand take them; trends read them back."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from threshold.access import require
from threshold.identity.service import Person
from threshold.maturity import assessment
from threshold.maturity.models import Score, Snapshot
from threshold.maturity.picture import DIMENSIONS
from threshold.maturity.registration import JOB_KIND
from threshold.maturity.signals import Context, Signal, measure
from threshold.maturity.target import ensure_default, in_force
from threshold.platform import Platform
from threshold.store.models import Domain

JOB_KEY = "organisation"
SCHEDULE = "0 3 1 * *"
"""The monthly job: the first of each month at 03:00 UTC (on demand: `threshold maturity snapshot`)."""


@dataclass(frozen=True)
class SnapshotResult:
    id: int
    at: datetime
    trigger: str
    picture_version: int
    domains: int
    duration_ms: float


def score_of(signals: Sequence[Signal]) -> float:
    """0-100: the mean of the counted signals' ratios (0 when nothing could be measured)."""
    ratios = [s.ratio for s in signals if s.ratio is not None]
    return round(100.0 * sum(ratios) / len(ratios), 1) if ratios else 0.0


def take(platform: Platform, actor: Person | None, *, trigger: str = "demand") -> SnapshotResult:
    """Score every domain now (the platform's clock) and store it; `actor` None is the scheduled job."""
    if actor is not None:
        require(actor, "maturity.snapshot")
    from threshold.products.rollup import refresh

    refresh(platform)  # the usage signals read the rollups: count what the gateway recorded since
    started = time.perf_counter()
    at = platform.clock()
    with platform.store.session() as s:
        ensure_default(s)
        version, picture = in_force(s, at)
        domains = list(s.execute(select(Domain.id, Domain.name).order_by(Domain.name)))
        ids = [int(d) for d, _ in domains]
        measured = measure(Context(s, at, s.get_bind().dialect.name), ids)
        answers = assessment.newest(s, at)
        snap = Snapshot(at=at, trigger=trigger, picture_version=version, taken_by_id=actor.id if actor else None)
        s.add(snap)
        s.flush()
        rows: list[dict[str, Any]] = []
        for domain_id, name in domains:
            own = assessment.signals(picture, answers.get(int(domain_id), {}))
            for dim in DIMENSIONS:
                sigs = measured[int(domain_id)][dim] + own.get(dim, [])
                score = score_of(sigs)
                rows.append(
                    {
                        "snapshot_id": snap.id,
                        "domain_id": domain_id,
                        "dimension": dim,
                        "score": score,
                        "level": picture.level(dim, score),
                        "target": picture.target(name, dim),
                        "signals": [x.as_dict() for x in sigs],
                    }
                )
        if rows:
            s.execute(insert(Score), rows)
        snap.duration_ms = round((time.perf_counter() - started) * 1000, 1)
        return SnapshotResult(snap.id, at, trigger, version, len(domains), snap.duration_ms)


def snapshot_jobs(platform: Platform, keys: Sequence[str]) -> dict[str, Any]:
    """The job kind's runner: one organisation-wide snapshot per due key."""
    out: dict[str, Any] = {}
    for key in keys:
        r = take(platform, None, trigger="schedule")
        out[key] = {"snapshot": r.id, "domains": r.domains, "duration_ms": r.duration_ms}
    return out


def plan(platform: Platform) -> None:
    """Plan the monthly job (idempotent; `threshold init` and `threshold serve` call it)."""
    from threshold.jobs import service as jobs

    with platform.store.session() as s:
        jobs.plan(s, JOB_KIND, JOB_KEY, SCHEDULE, label="Snapshot the maturity of every domain", now=platform.clock())


def history(platform: Platform, viewer: Person, *, limit: int = 100) -> list[SnapshotResult]:
    """The snapshots taken, newest first."""
    from sqlalchemy import func

    from threshold.maturity.models import Score

    require(viewer, "maturity.view")
    limit = max(1, min(limit, 1000))
    with platform.store.reader() as s:
        counts = (
            select(Score.snapshot_id, func.count(func.distinct(Score.domain_id)).label("n"))
            .group_by(Score.snapshot_id)
            .subquery()
        )
        rows = s.execute(
            select(Snapshot, counts.c.n)
            .outerjoin(counts, counts.c.snapshot_id == Snapshot.id)
            .order_by(Snapshot.at.desc(), Snapshot.id.desc())
            .limit(limit)
        ).all()
        return [
            SnapshotResult(x.id, _aware(x.at), x.trigger, x.picture_version, int(n or 0), x.duration_ms)
            for x, n in rows
        ]


def _aware(at: datetime) -> datetime:
    from datetime import UTC

    return at if at.tzinfo else at.replace(tzinfo=UTC)
