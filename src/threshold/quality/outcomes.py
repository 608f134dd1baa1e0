"""What check runs on published data lead to: an incident for a failure (or one more occurrence of the
open one; a fixed one reopens), verification of a fixed incident by a passing run, and a word to the
owners when a check starts failing to run at all."""

from __future__ import annotations

import logging

from sqlalchemy import select

from threshold import events
from threshold.events import CheckFailed
from threshold.notifications.service import notify
from threshold.platform import Platform
from threshold.quality.incidents import UNRESOLVED, open_incident, tell_people
from threshold.quality.models import Incident, IncidentComment
from threshold.quality.reading import Target
from threshold.quality.recipients import owners
from threshold.quality.runner import Result
from threshold.store.models import Dataset

log = logging.getLogger(__name__)


def after_runs(platform: Platform, target: Target, results: list[Result]) -> None:
    """What runs on a published snapshot lead to: incidents for failures, verification of fixed incidents
    by passing runs, and a word to the owners when a check starts failing to run at all."""
    for r in results:
        try:
            if r.outcome.status == "fail":
                _failed(platform, target, r)
            elif r.outcome.status == "pass":
                _passed(platform, r)
            elif r.previous_status != "error":
                _erroring(platform, target, r)
            if r.outcome.status in ("fail", "error"):
                failed = CheckFailed(target.full_name, r.check.id, r.check.name, r.outcome.status, r.outcome.message)
                events.publish(platform, failed)
        except Exception:  # one check's follow-up must not stop the others' (the runs are recorded)
            log.exception("quality: follow-up of check %s failed", r.check.id)


def _failed(platform: Platform, target: Target, r: Result) -> None:
    now = platform.clock()
    with platform.store.session() as s:
        existing = s.scalars(
            select(Incident)
            .where(Incident.check_id == r.check.id, Incident.status.in_(UNRESOLVED))
            .order_by(Incident.id.desc())
            .limit(1)
        ).one_or_none()
        if existing is not None:
            existing.occurrences += 1
            existing.last_seen_at = now
            existing.check_run_id = r.run_id
            existing.updated_at = now
            if existing.status != "fixed":
                return
            existing.status, existing.fixed_at, existing.fixed_by_id = "open", None, None
            existing.reopened += 1
            s.add(
                IncidentComment(
                    incident_id=existing.id,
                    event="reopened",
                    at=now,
                    body=f"the check failed again after the fix: {r.outcome.message}",
                )
            )
            incident_id, domain_id, assignee = existing.id, existing.routed_domain_id, existing.assignee_id
            title = existing.title
        else:
            incident_id = 0
    if incident_id:
        tell_people(
            platform,
            incident_id,
            domain_id,
            [assignee] if assignee else [],
            "incident.reopened",
            f"Incident #{incident_id} reopened: its check failed again",
            title,
        )
        return
    column = r.check.columns[0] if r.check.columns else None
    open_incident(
        platform,
        kind="check",
        title=f"{target.full_name}: check failed: {r.check.name}",
        description=r.outcome.message,
        dataset_id=target.dataset_id,
        column=column,
        reporter_id=None,
        check_id=r.check.id,
        run_id=r.run_id,
    )


def _passed(platform: Platform, r: Result) -> None:
    now = platform.clock()
    with platform.store.session() as s:
        fixed = list(s.scalars(select(Incident).where(Incident.check_id == r.check.id, Incident.status == "fixed")))
        for inc in fixed:
            inc.status, inc.verified_at, inc.verified_via, inc.updated_at = "verified", now, "check", now
            s.add(
                IncidentComment(
                    incident_id=inc.id,
                    event="verified",
                    at=now,
                    body=f"verified by a passing run of its check: {r.outcome.message}",
                )
            )
        done = [(i.id, i.routed_domain_id, i.assignee_id, i.title) for i in fixed]
    for incident_id, domain_id, assignee, title in done:
        tell_people(
            platform,
            incident_id,
            domain_id,
            [assignee] if assignee else [],
            "incident.verified",
            f"Incident #{incident_id} verified by its check",
            title,
        )


def _erroring(platform: Platform, target: Target, r: Result) -> None:
    with platform.store.session() as s:
        domain_id = s.scalar(select(Dataset.domain_id).where(Dataset.id == target.dataset_id))
    assert domain_id is not None
    people = owners(platform, [domain_id])[domain_id] + ([r.check.created_by_id] if r.check.created_by_id else [])
    notify(
        platform,
        people,
        "quality.check-error",
        f"Check on {target.full_name} cannot run: {r.check.name}",
        body=r.outcome.message,
        link=f"/datasets/{target.full_name}/quality",
        dataset_id=target.dataset_id,
    )
