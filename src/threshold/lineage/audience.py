"""Who answers for a node of the supply chain, and who has been using it: the people to tell.

Owners of a lake dataset: its domain's owners and, for a derived dataset, the person it is derived
as. Owners of a source system: its owner. External datasets and jobs: the owners their OpenLineage
ownership facets name (names, not necessarily Threshold users). Recent consumers: people whose
governed reads (usage events) touched the dataset, or a given column of it, in the last N days;
reads by derivations (interface `job`) are not counted: their owners are told as owners.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from threshold.lineage.graph import in_ids
from threshold.lineage.models import Derivation
from threshold.store.models import Dataset, Membership, UsageEvent, UsageRead, User

RECENT_DAYS = 30


@dataclass
class Owners:
    names: list[str] = field(default_factory=list)
    user_ids: list[int] = field(default_factory=list)


def dataset_owners(s: Session, dataset_ids: Iterable[int]) -> dict[int, Owners]:
    """Domain owners, then the derivation's owner, per dataset id."""
    ids = sorted(set(dataset_ids))
    out: dict[int, Owners] = {i: Owners() for i in ids}
    if not ids:
        return out
    domain_of = dict(s.execute(select(Dataset.id, Dataset.domain_id).where(in_ids(Dataset.id, ids))).all())
    owners: dict[int, list[tuple[int, str]]] = {}
    rows = s.execute(
        select(Membership.domain_id, User.id, User.name)
        .join(User, User.id == Membership.user_id)
        .where(Membership.role == "owner", Membership.domain_id.in_(set(domain_of.values())))
        .order_by(User.name)
    )
    for domain_id, user_id, name in rows:
        owners.setdefault(domain_id, []).append((user_id, name))
    for ds_id, domain_id in domain_of.items():
        for user_id, name in owners.get(domain_id, []):
            _add(out[ds_id], user_id, name)
    derived = s.execute(
        select(Derivation.dataset_id, User.id, User.name)
        .join(User, User.id == Derivation.owner_id)
        .where(in_ids(Derivation.dataset_id, ids))
    )
    for ds_id, user_id, name in derived:
        _add(out[ds_id], user_id, name)
    return out


def _add(owners: Owners, user_id: int, name: str) -> None:
    if user_id not in owners.user_ids:
        owners.user_ids.append(user_id)
        owners.names.append(name)


def recent_consumers(
    s: Session,
    dataset_ids: Iterable[int],
    *,
    columns: dict[int, set[str]] | None = None,
    days: int = RECENT_DAYS,
) -> dict[int, list[dict[str, Any]]]:
    """People who read each dataset (or, when `columns` names some, one of those columns) lately,
    most frequent first: [{user, user_id, queries, last_read}]."""
    ids = sorted(set(dataset_ids))
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if not ids:
        return out
    since = datetime.now(UTC) - timedelta(days=days)
    rows = s.execute(
        select(UsageRead.dataset_id, UsageRead.columns, UsageEvent.user_id, User.name, UsageEvent.at)
        .join(UsageEvent, UsageEvent.id == UsageRead.event_id)
        .join(User, User.id == UsageEvent.user_id)
        .where(UsageRead.dataset_id.in_(ids), UsageEvent.at >= since, UsageEvent.status == "ok")
        .where(UsageEvent.interface != "job")
    )
    tally: dict[tuple[int, int], dict[str, Any]] = {}
    for ds_id, cols, user_id, name, at in rows:
        wanted = (columns or {}).get(ds_id)
        if wanted and not wanted & set(cols or []):
            continue
        entry = tally.setdefault((ds_id, user_id), {"user": name, "user_id": user_id, "queries": 0, "last_read": at})
        entry["queries"] += 1
        entry["last_read"] = max(entry["last_read"], at, key=_aware)
    for (ds_id, _), entry in tally.items():
        entry["last_read"] = _aware(entry["last_read"]).isoformat(timespec="seconds")
        out[ds_id].append(entry)
    for entries in out.values():
        entries.sort(key=lambda e: (-e["queries"], e["user"]))
    return out


def times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)
