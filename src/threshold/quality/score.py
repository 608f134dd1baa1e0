"""Quality figures, computed from the recorded history (never typed in).

Quality score of a dataset, 0-100, over the last `THRESHOLD_QUALITY__SCORE_WINDOW_DAYS` days (30): for each
check, the share of its runs that passed; then the mean of those shares weighted by
`THRESHOLD_QUALITY__BLOCKING_WEIGHT` (2) for a check that was
blocking when it ran (1 otherwise), times 100. Each check counts once however often it ran (an hourly
check does not drown a daily one). Runs that ended in `error` (the check could not judge) and runs on a
share a blocking check rejected (never published, nobody read it) do not count. No run in the window: no
score. Example: a blocking check passing 3 of 4 runs and a non-blocking one passing 1 of 2 score
100 * (2 * 0.75 + 1 * 0.5) / 3 = 66.7.

Quality score of a domain: the mean of its datasets' scores (datasets with a score).

Time to acknowledge / to fix, per domain, over incidents routed to it and opened in the last
`THRESHOLD_QUALITY__INCIDENT_WINDOW_DAYS` (90) days: hours from opening to acknowledging (fixing);
median, and p90 by linear interpolation between the two nearest ranks (numpy's default); incidents not
yet acknowledged (fixed) are counted apart, with the age of the oldest.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from threshold.access import knowable
from threshold.errors import NotFound
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.quality.models import Check, CheckRun, Incident
from threshold.quality.results import CheckScore, DatasetQuality, DatasetScoreRow, DomainQuality, ResponseTime
from threshold.store.models import Dataset, Domain


def dataset_scores(
    platform: Platform, dataset_ids: list[int], *, days: int | None = None, now: datetime | None = None
) -> dict[int, dict[str, Any]]:
    """{dataset id: {score, checks: [{check, name, runs, passed, weight}], runs, errors}}."""
    days = days or platform.settings.quality.score_window_days
    since = (now or platform.clock()) - timedelta(days=days)
    out: dict[int, dict[str, Any]] = {d: {"score": None, "checks": [], "runs": 0, "errors": 0} for d in dataset_ids}
    if not dataset_ids:
        return out
    with platform.store.session() as s:
        rows = s.execute(
            select(CheckRun.dataset_id, CheckRun.check_id, CheckRun.status, CheckRun.blocking, CheckRun.at)
            .where(CheckRun.dataset_id.in_(dataset_ids), CheckRun.at >= since, CheckRun.rejected.is_(False))
            .order_by(CheckRun.at)
        ).all()
        names = dict(s.execute(select(Check.id, Check.name).where(Check.dataset_id.in_(dataset_ids))).all())
    per: dict[tuple[int, int], dict[str, Any]] = {}
    for dataset_id, check_id, status, blocking, _at in rows:
        if status == "error":
            out[dataset_id]["errors"] += 1
            continue
        entry = per.setdefault((dataset_id, check_id), {"runs": 0, "passed": 0, "blocking": False})
        entry["runs"] += 1
        entry["passed"] += status == "pass"
        entry["blocking"] = bool(blocking)  # as it was at the newest run
    sums: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for (dataset_id, check_id), e in sorted(per.items()):
        weight = platform.settings.quality.blocking_weight if e["blocking"] else 1.0
        sums[dataset_id][0] += weight * e["passed"] / e["runs"]
        sums[dataset_id][1] += weight
        out[dataset_id]["runs"] += e["runs"]
        out[dataset_id]["checks"].append(
            {
                "check": check_id,
                "name": names.get(check_id, ""),
                "runs": e["runs"],
                "passed": e["passed"],
                "weight": weight,
            }
        )
    for dataset_id, (num, den) in sums.items():
        out[dataset_id]["exact"] = 100 * num / den if den else None
        out[dataset_id]["score"] = round(100 * num / den, 1) if den else None
    return out


def dataset_quality(
    platform: Platform, full_name: str, *, viewer: Person | None = None, now: datetime | None = None
) -> DatasetQuality:
    """A dataset's quality score with the checks behind it (of a dataset `viewer` may know exists)."""
    from threshold.access import find_dataset

    with platform.store.session() as s:
        dataset_id = find_dataset(s, viewer, full_name).id
    d = dataset_scores(platform, [dataset_id], now=now)[dataset_id]
    return DatasetQuality(
        score=d["score"],
        checks=[CheckScore(**c) for c in d["checks"]],
        runs=d["runs"],
        errors=d["errors"],
        exact=d.get("exact"),
        window_days=platform.settings.quality.score_window_days,
        scored="exact" in d,
    )


def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between the closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * p
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _hours(a: datetime, b: datetime) -> float:
    return (_aware(b) - _aware(a)).total_seconds() / 3600


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def response_times(
    platform: Platform, domain_ids: list[int], *, days: int | None = None, now: datetime | None = None
) -> dict[int, dict[str, Any]]:
    """Per domain id: incidents by status, time to acknowledge and to fix (hours: median, p90, count)."""
    now = now or platform.clock()
    days = days or platform.settings.quality.incident_window_days
    since = now - timedelta(days=days)
    with platform.store.session() as s:
        rows = s.execute(
            select(
                Incident.routed_domain_id,
                Incident.status,
                Incident.opened_at,
                Incident.acknowledged_at,
                Incident.fixed_at,
            ).where(Incident.routed_domain_id.in_(domain_ids), Incident.opened_at >= since)
        ).all()
    out: dict[int, dict[str, Any]] = {}
    for d in domain_ids:
        mine = [r for r in rows if r[0] == d]
        ack = [_hours(r[2], r[3]) for r in mine if r[3] is not None]
        fix = [_hours(r[2], r[4]) for r in mine if r[4] is not None]
        waiting_ack = [_hours(r[2], now) for r in mine if r[3] is None]
        waiting_fix = [_hours(r[2], now) for r in mine if r[4] is None and r[1] != "verified"]
        out[d] = {
            "incidents": {
                st: sum(1 for r in mine if r[1] == st) for st in ("open", "acknowledged", "fixed", "verified")
            },
            "time_to_acknowledge": _summary(ack, waiting_ack),
            "time_to_fix": _summary(fix, waiting_fix),
            "window_days": days,
        }
    return out


def _summary(done: list[float], waiting: list[float]) -> dict[str, Any]:
    med, p90 = percentile(done, 0.5), percentile(done, 0.9)
    return {
        "count": len(done),
        "median_hours": round(med, 2) if med is not None else None,
        "p90_hours": round(p90, 2) if p90 is not None else None,
        "waiting": len(waiting),
        "oldest_waiting_hours": round(max(waiting), 2) if waiting else None,
    }


def domain_quality(
    platform: Platform, domain: str, *, viewer: Person | None = None, now: datetime | None = None
) -> DomainQuality:
    """A domain's quality, for its page: score, its datasets' scores, incidents, time to acknowledge and fix.
    Of the domain's datasets `viewer` may know exist (the score too is theirs)."""
    with platform.store.session() as s:
        dom = s.scalars(select(Domain).where(Domain.name == domain)).one_or_none()
        if dom is None:
            raise NotFound(f"no domain {domain!r}")
        datasets = s.execute(
            select(Dataset.id, Dataset.full_name)
            .where(Dataset.domain_id == dom.id, knowable(viewer))
            .order_by(Dataset.full_name)
        ).all()
        counts = dict(
            s.execute(
                select(Check.dataset_id, func.count(Check.id))
                .where(Check.active.is_(True), Check.dataset_id.in_([d for d, _ in datasets]))
                .group_by(Check.dataset_id)
            ).all()
        )
        failing = dict(
            s.execute(
                select(Check.dataset_id, func.count(Check.id))
                .where(
                    Check.active.is_(True),
                    Check.last_status.in_(("fail", "error")),
                    Check.dataset_id.in_([d for d, _ in datasets]),
                )
                .group_by(Check.dataset_id)
            ).all()
        )
        domain_id = dom.id
    scores = dataset_scores(platform, [d for d, _ in datasets], now=now)
    rows = [
        DatasetScoreRow(
            name=name,
            score=scores[d]["score"],
            checks=int(counts.get(d, 0)),
            runs=scores[d]["runs"],
            failing_checks=int(failing.get(d, 0)),
        )
        for d, name in datasets
    ]
    scored = [scores[d]["exact"] for d, _ in datasets if scores[d].get("exact") is not None]
    times = response_times(platform, [domain_id], now=now)[domain_id]
    return DomainQuality(
        domain=domain,
        score=round(sum(scored) / len(scored), 1) if scored else None,
        window_days=platform.settings.quality.score_window_days,
        datasets=rows,
        incidents=times["incidents"],
        time_to_acknowledge=ResponseTime(**times["time_to_acknowledge"]),
        time_to_fix=ResponseTime(**times["time_to_fix"]),
        incident_window_days=times["window_days"],
    )
