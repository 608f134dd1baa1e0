"""Concrete actions that would move a domain up a dimension, computed from the data as it is now.

Each names the datasets it is about, but only those the viewer may know exist (the decision point's
`knowable`): a restricted dataset is never named, and never counted, for someone outside its domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, distinct, exists, func, select
from sqlalchemy.orm import Session

from threshold.access import knowable
from threshold.identity.service import Person
from threshold.maturity.signals import RECENT_DAYS, WINDOW_DAYS
from threshold.products.lookup import monday
from threshold.products.models import Contract, Product, UsageWeekly
from threshold.quality.models import Check
from threshold.store.models import AccessRequest, Dataset, Membership, Share

LISTED = 10
"""Datasets named per action (the count says how many there are)."""


@dataclass(frozen=True)
class Move:
    dimension: str
    text: str
    count: int
    datasets: list[str] = field(default_factory=list)


def moves(s: Session, viewer: Person, domain_id: int, dimensions: set[str], at: datetime) -> list[Move]:
    """Actions for the `dimensions` below target, most useful first within each."""
    live = and_(
        Dataset.domain_id == domain_id,
        Dataset.stage != "deprecated",
        Dataset.snapshot_id.is_not(None),
        knowable(viewer),
    )
    outside = exists().where(
        UsageWeekly.dataset_id == Dataset.id,
        UsageWeekly.week >= monday(at - timedelta(days=WINDOW_DAYS - 1)),
        UsageWeekly.queries > 0,
        ~exists().where(Membership.user_id == UsageWeekly.user_id, Membership.domain_id == Dataset.domain_id),
    )
    out: list[Move] = []

    def add(dimension: str, text: str, where: Any) -> None:
        names = list(s.scalars(select(Dataset.full_name).where(live, where).order_by(Dataset.full_name)))
        if names:
            shown = text.format(n=len(names), datasets="dataset" if len(names) == 1 else "datasets")
            out.append(Move(dimension, shown, len(names), names[:LISTED]))

    no_owner = ~exists().where(Product.dataset_id == Dataset.id, Product.status != "retired")
    if "ownership" in dimensions:
        add("ownership", "add owners to {n} {datasets} used by other domains", and_(no_owner, outside))
        add("ownership", "add owners to {n} {datasets} nobody answers for", and_(no_owner, ~outside))
    if "documentation" in dimensions:
        add("documentation", "describe {n} {datasets}", func.length(func.trim(Dataset.description)) == 0)
        add(
            "documentation",
            "add a contract to {n} {datasets} used by other domains",
            and_(~exists().where(Contract.dataset_id == Dataset.id), outside),
        )
    if "quality" in dimensions:
        add(
            "quality",
            "add quality checks to {n} {datasets}",
            ~exists().where(Check.dataset_id == Dataset.id, Check.active.is_(True)),
        )
        add(
            "quality",
            "fix the failing checks of {n} {datasets}",
            exists().where(Check.dataset_id == Dataset.id, Check.active.is_(True), Check.last_status != "pass"),
        )
    if "sharing" in dimensions:
        stale = ~exists().where(Share.dataset_id == Dataset.id, Share.at > at - timedelta(days=RECENT_DAYS))
        add("sharing", "refresh {n} {datasets} not updated in 90 days", stale)
        count = s.scalar(select(func.count()).where(live)) or 0
        if count < 10:
            out.append(Move("sharing", f"share more of the domain's data: {count} datasets so far", 10 - count))
    if "reuse" in dimensions:
        add(
            "reuse",
            "describe {n} {datasets} no other domain reads yet, so others find them",
            and_(~outside, func.length(func.trim(Dataset.description)) == 0),
        )
    if "access_speed" in dimensions:
        waiting = exists().where(
            AccessRequest.dataset_id == Dataset.id,
            AccessRequest.status == "pending",
            AccessRequest.created_at <= at - timedelta(hours=24),
        )
        add("access_speed", "decide the access requests waiting over a day on {n} {datasets}", waiting)
        add(
            "access_speed",
            "set auto-approval or open visibility on {n} {datasets} others ask for",
            exists().where(
                AccessRequest.dataset_id == Dataset.id, AccessRequest.created_at > at - timedelta(days=RECENT_DAYS)
            ),
        )
    if "literacy" in dimensions:
        members = s.scalar(select(func.count()).select_from(Membership).where(Membership.domain_id == domain_id)) or 0
        week = monday(at - timedelta(days=WINDOW_DAYS - 1))
        readers = (
            s.scalar(
                select(func.count(distinct(UsageWeekly.user_id)))
                .join(Membership, Membership.user_id == UsageWeekly.user_id)
                .where(Membership.domain_id == domain_id, UsageWeekly.week >= week, UsageWeekly.queries > 0)
            )
            or 0
        )
        if members > readers:
            out.append(
                Move(
                    "literacy",
                    f"help {members - readers} of {members} members run a first query this month",
                    members - readers,
                )
            )
        out.append(Move("literacy", "save a question the domain asks often as an insight and share it", 1))
    return out
