"""Rerunning an insight on fresh data: asked for (by anyone who may view it, as themselves) or on its
schedule (a job of kind `insight.rerun` on the jobs core, as the insight's owner).

The owner's runs (and scheduled ones) are *the* runs of the insight: they move its last run, the
snapshots its staleness is measured against, and when their numbers differ from the run before (or the
run fails), its subscribers are told in their inbox and its home domain's webhook hears of it. The
message names the insight, never a value: each subscriber sees the numbers through their own rights.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from threshold.errors import ThresholdError
from threshold.identity.service import Person, get_person
from threshold.insights import service
from threshold.insights.models import Insight, InsightInput, InsightSubscription
from threshold.insights.results import result_for
from threshold.insights.staleness import forget_notices
from threshold.platform import Platform
from threshold.store.models import Dataset, Domain, User

log = logging.getLogger(__name__)


@dataclass
class RunOutcome:
    insight: int
    version: int
    status: str
    """`ok` or `failed`."""
    changed: bool
    """The numbers differ from the insight's last run (owner and scheduled runs only)."""
    rows: int
    duration_ms: float
    snapshots: dict[str, int | None]
    notified: int
    error: str | None = None


def rerun(
    platform: Platform,
    person: Person,
    ref: int | str,
    values: dict[str, Any] | None = None,
    *,
    interface: str = "python",
    trigger: str = "rerun",
) -> RunOutcome:
    """Compute the insight again on the newest data, as `person` (a failure is raised after it is recorded)."""
    insight, version = service.load_for(platform, person, ref)
    own = person.id == insight.owner_id or trigger == "schedule"
    try:
        computed = result_for(
            platform, person, insight, version, values, interface=interface, fresh=True, trigger=trigger
        )
    except ThresholdError as e:
        if own:
            _finish(platform, insight, None, str(e))
        raise
    outcome = RunOutcome(
        insight.id,
        version.version,
        "ok",
        False,
        computed.table.num_rows,
        round(computed.duration_ms, 1),
        computed.snapshots,
        0,
    )
    if own and not values:  # the insight's own numbers: its parameters at their defaults
        outcome.changed, outcome.notified = _finish(platform, insight, computed.digest, None, computed.snapshots)
    return outcome


def _finish(
    platform: Platform,
    insight: Insight,
    digest: str | None,
    error: str | None,
    snapshots: dict[str, int | None] | None = None,
) -> tuple[bool, int]:
    """Record the insight's run; tell subscribers when its numbers changed or it failed (once, not per retry)."""
    from threshold.notifications.service import emit, notify

    now = datetime.now(UTC)
    with platform.store.session() as s:
        row = s.get(Insight, insight.id)
        if row is None:
            return False, 0
        before_digest, before_status = row.last_digest, row.last_status
        row.last_run_at = now
        row.last_status = "failed" if error else "ok"
        row.last_error = error
        if digest is not None:
            row.last_digest = digest
            ids = dict(
                s.execute(
                    select(Dataset.full_name, Dataset.id).where(Dataset.full_name.in_(list(snapshots or {})))
                ).all()
            )
            for name, snap in (snapshots or {}).items():
                inp = s.get(InsightInput, (insight.id, ids.get(name, -1)))
                if inp is not None:
                    inp.snapshot_id = snap
            forget_notices(s, insight.id)
        subscribers = sorted(
            set(s.scalars(select(InsightSubscription.user_id).where(InsightSubscription.insight_id == insight.id)))
        )
        domain = s.scalars(select(Domain.name).where(Domain.id == row.domain_id)).one_or_none()
        owner = s.scalars(select(User.name).where(User.id == row.owner_id)).one_or_none()
    changed = digest is not None and before_digest is not None and digest != before_digest
    failed_now = error is not None and before_status != "failed"
    if not (changed or failed_now):
        return changed, 0
    kind = "insight.changed" if changed else "insight.failed"
    title = f"The numbers of “{insight.title}” changed" if changed else f"“{insight.title}” could not be rerun"
    body = "Open it to see the new numbers as you may see them." if changed else (error or "")[:500]
    link = f"/insights/{insight.id}"
    data = {"insight": insight.id, "title": insight.title, "link": link, "owner": owner, "at": now.isoformat()}
    told = notify(platform, subscribers, kind, title, body=body, link=link, data=data)
    emit(platform, domain, kind, data | ({"error": (error or "")[:500]} if error else {}))
    return changed, told


def rerun_jobs(platform: Platform, keys: Sequence[str]) -> dict[str, Any]:
    """The `insight.rerun` job kind: rerun each claimed insight as its owner (archived ones are skipped)."""
    results: dict[str, Any] = {}
    for key in keys:
        if not key.isdigit():
            continue
        with platform.store.reader() as s:
            insight = s.get(Insight, int(key))
            owner = s.scalars(select(User.name).where(User.id == insight.owner_id)).one_or_none() if insight else None
        if insight is None or insight.archived_at is not None or owner is None:
            continue
        try:
            o = rerun(platform, get_person(platform, owner), insight.id, interface="job", trigger="schedule")
            results[key] = {"status": o.status, "rows": o.rows, "changed": o.changed, "notified": o.notified}
        except Exception as e:  # a failed run: the jobs core retries it with backoff
            log.warning("insights: scheduled rerun of %s failed: %s", key, e)
            results[key] = e
    return results
