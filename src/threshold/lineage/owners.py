"""Who answers for a node of the supply chain, and who has been using it: the people to tell.

Owners of a lake dataset: its domain's owners and, for a derived dataset, the person it is derived
as. Owners of a source system: its owner. External datasets and jobs: the owners their OpenLineage
ownership facets name (names, not necessarily Threshold users). Recent consumers are usage's
(`usage.service.recent_consumers`, the one definition lineage and quality both ask).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from threshold.lineage.graph import in_ids
from threshold.lineage.models import Derivation
from threshold.store.models import Dataset, Membership, User


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


def times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"
