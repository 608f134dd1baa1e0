"""Usage seen from one person: who used the datasets they shared this week, and what their domains share
that nobody uses yet (the home page's "my datasets" and "unused in my domains")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import or_, select

from threshold.access import knowable, may, refs
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.store.models import Dataset, Domain, Share, UsageEvent, UsageRead
from threshold.usage.service import counted_kinds, recent_consumers

WEEK_DAYS = 7
"""What "this week" means on the home page: the last seven days."""


@dataclass(frozen=True)
class Consumer:
    user: str
    queries: int


@dataclass(frozen=True)
class MyDataset:
    """A dataset the person shared, and its use in the last `WEEK_DAYS` days (by others and themselves)."""

    dataset: str
    queries_this_week: int
    people_this_week: int
    consumers: list[Consumer] = field(default_factory=list)
    """Who used it, most frequent first; empty when the person may not see names (`dataset.usage.names`)."""
    names_visible: bool = True


@dataclass(frozen=True)
class UnusedDataset:
    dataset: str
    shared_at: str | None


def my_datasets(platform: Platform, person: Person, *, limit: int = 20) -> list[MyDataset]:
    """The datasets `person` shared (created or shared into), busiest this week first."""
    with platform.store.session() as s:
        mine = (
            select(Dataset.id, Dataset.full_name)
            .where(knowable(person))
            .where(
                or_(
                    Dataset.created_by_id == person.id,
                    Dataset.id.in_(select(Share.dataset_id).where(Share.user_id == person.id)),
                )
            )
            .order_by(Dataset.full_name)
        )
        rows = s.execute(mine).all()
        ids = [i for i, _ in rows]
        week = recent_consumers(s, ids, days=WEEK_DAYS)
        refs_by_id = refs(s, person, ids)
        names = {i: bool(may(person, "dataset.usage.names", refs_by_id[i], platform=platform)) for i in ids}
    out = []
    for ds_id, full_name in rows:
        consumers = week.get(ds_id, [])
        own = [c for c in consumers if c["user_id"] == person.id]
        shown = consumers if names[ds_id] else own  # a person always sees their own use
        out.append(
            MyDataset(
                dataset=full_name,
                queries_this_week=sum(c["queries"] for c in consumers),
                people_this_week=len(consumers),
                consumers=[Consumer(c["user"], c["queries"]) for c in shown],
                names_visible=names[ds_id],
            )
        )
    out.sort(key=lambda d: (-d.queries_this_week, d.dataset))
    return out[:limit]


def unused_in_my_domains(platform: Platform, person: Person, *, limit: int = 20) -> list[UnusedDataset]:
    """Datasets of `person`'s domains that nobody has used yet (use as `counted_kinds` counts it), oldest first."""
    if not person.domains:
        return []
    used = (
        select(UsageRead.dataset_id)
        .join(UsageEvent, UsageEvent.id == UsageRead.event_id)
        .where(UsageEvent.status == "ok", UsageEvent.kind.in_(counted_kinds(platform)))
    )
    with platform.store.session() as s:
        rows = s.execute(
            select(Dataset.full_name, Dataset.created_at)
            .join(Domain, Domain.id == Dataset.domain_id)
            .where(Domain.name.in_(person.domains), knowable(person), Dataset.id.not_in(used))
            .order_by(Dataset.created_at, Dataset.full_name)
            .limit(limit)
        ).all()
    return [UnusedDataset(name, _iso(at)) for name, at in rows]


def _iso(d: datetime | None) -> str | None:
    if d is None:
        return None
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).isoformat(timespec="seconds")
