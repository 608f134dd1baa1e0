"""When an insight went stale, and why: the facts are read where they live, at the time they are asked.

- an input's schema changed since the last run: told by the event bus (`schema_changed`, subscribed in
  `registration.py`), kept as a notice until the insight runs again;
- an input was deprecated (with its replacement) or retired: the dataset's stage;
- an input has an open incident: quality's incidents;
- newer data than the last run: the published snapshot against the one the last run read;
- the last run failed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from threshold.events import SchemaChanged
from threshold.insights.models import Insight, InsightInput, InsightNotice
from threshold.platform import Platform
from threshold.products.models import Product
from threshold.quality.models import Incident
from threshold.store.models import Dataset

OPEN_INCIDENTS = ("open", "acknowledged")
"""Incidents nobody has fixed yet (quality.incidents: open -> acknowledged -> fixed -> verified)."""


@dataclass
class StaleReason:
    kind: str
    """`schema_changed`, `deprecated`, `retired`, `incident`, `newer_data` or `failed`."""
    dataset: str | None
    detail: str
    at: str | None = None


def reasons(s: Session, insights: list[Insight]) -> dict[int, list[StaleReason]]:
    """Why each insight may be stale (empty: it is not)."""
    out: dict[int, list[StaleReason]] = {i.id: [] for i in insights}
    if not insights:
        return out
    ids = list(out)
    last_run = {i.id: _aware(i.last_run_at) for i in insights}
    inputs = s.execute(
        select(
            InsightInput.insight_id,
            InsightInput.snapshot_id,
            Dataset.id,
            Dataset.full_name,
            Dataset.stage,
            Dataset.snapshot_id,
        )
        .join(Dataset, Dataset.id == InsightInput.dataset_id)
        .where(InsightInput.insight_id.in_(ids))
    ).all()
    dataset_ids = sorted({r[2] for r in inputs})
    replacements: dict[int, str] = {}
    if dataset_ids:
        repl = Dataset.__table__.alias("repl")
        replacements = dict(
            s.execute(
                select(Product.dataset_id, repl.c.full_name)
                .join(repl, repl.c.id == Product.replacement_id)
                .where(Product.dataset_id.in_(dataset_ids))
            ).all()
        )
    incidents: dict[int, int] = defaultdict(int)
    for d, _ in s.execute(
        select(Incident.dataset_id, Incident.id).where(
            Incident.dataset_id.in_(dataset_ids), Incident.status.in_(OPEN_INCIDENTS)
        )
    ):
        incidents[d] += 1
    notices = s.scalars(select(InsightNotice).where(InsightNotice.insight_id.in_(ids)).order_by(InsightNotice.at))
    names = {r[2]: r[3] for r in inputs}
    for n in notices:
        if last_run[n.insight_id] is None or _aware(n.at) > last_run[n.insight_id]:  # type: ignore[operator]
            out[n.insight_id].append(StaleReason(n.kind, names.get(n.dataset_id or 0), n.detail, _iso(n.at)))
    for insight_id, ran_snapshot, dataset_id, name, stage, snapshot in inputs:
        if stage in ("deprecated", "retired"):
            replacement = replacements.get(dataset_id)
            detail = f"{name} is {stage}" + (f": use {replacement} instead" if replacement else "")
            out[insight_id].append(StaleReason(stage, name, detail))
        if incidents.get(dataset_id):
            count = incidents[dataset_id]
            out[insight_id].append(
                StaleReason("incident", name, f"{name} has {count} open incident{'s' if count > 1 else ''}")
            )
        if ran_snapshot is not None and snapshot is not None and snapshot != ran_snapshot:
            out[insight_id].append(StaleReason("newer_data", name, f"{name} has newer data than the last run"))
    for i in insights:
        if i.last_status == "failed":
            out[i.id].append(StaleReason("failed", None, f"the last run failed: {(i.last_error or '')[:200]}"))
    return out


def schema_changed(platform: Platform, e: SchemaChanged) -> None:
    """SYNC subscriber: insights reading the dataset get a notice, in the share's own transaction."""
    s = e.session
    rows = s.execute(
        select(InsightInput.insight_id, InsightInput.columns).where(InsightInput.dataset_id == e.dataset.id)
    ).all()
    if not rows:
        return
    detail = f"{e.dataset.full_name} changed: " + "; ".join(e.changes)[:1500]
    text = " ".join(e.changes).lower()
    for insight_id, columns in rows:
        breaking = any(str(c).lower() in text for c in columns or [])
        s.add(
            InsightNotice(
                insight_id=insight_id,
                dataset_id=e.dataset.id,
                kind="schema_changed",
                detail=detail,
                breaking=breaking,
                at=datetime.now(UTC),
            )
        )


def forget_notices(s: Session, insight_id: int) -> None:
    """The insight ran on the new schema: its notices are answered."""
    for n in s.scalars(select(InsightNotice).where(InsightNotice.insight_id == insight_id)):
        s.delete(n)


def _aware(d: datetime | None) -> datetime | None:
    if d is None:
        return None
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def _iso(d: datetime) -> str:
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).isoformat(timespec="seconds")
