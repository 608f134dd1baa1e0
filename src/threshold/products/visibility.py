"""Who may see what of the consumption record: the rule every view of this package applies.

- Producers (members of the dataset's domain), administrators and the governance group see everything.
- People who may read a dataset (open to the organisation, or a live grant) see who else uses it,
  as the dataset page already shows them.
- Everyone else sees aggregates only (counts by domain and purpose), never consumers' names, and
  does not learn that another domain's *restricted* datasets exist at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from threshold.identity.service import Person
from threshold.store.models import Dataset, Domain, Grant


@dataclass(frozen=True)
class Sight:
    """What one viewer may see of one dataset's consumption."""

    exists: bool
    """May know the dataset exists (everything but another domain's restricted datasets)."""
    names: bool
    """May see who consumes it."""
    producer: bool
    """Member of its domain, administrator or governance: everything, waiting requests included."""

    @property
    def why(self) -> str:
        if self.names:
            return ""
        return "aggregates only: you cannot read this dataset, so the people who use it are not named"


EVERYTHING, READER, AGGREGATES, NOTHING = (
    Sight(True, True, True),
    Sight(True, True, False),
    Sight(True, False, False),
    (Sight(False, False, False)),
)


def is_producer(viewer: Person | None, domain: str) -> bool:
    return viewer is None or viewer.is_admin or viewer.is_governance or domain in viewer.domains


def sight(s: Session, viewer: Person | None, dataset: Dataset, domain: str, visibility: str) -> Sight:
    """The viewer's sight of one dataset (`viewer=None`: the platform itself, sees everything)."""
    if is_producer(viewer, domain):
        return Sight(True, True, True)
    assert viewer is not None
    if visibility == "restricted":
        return Sight(False, False, False)
    if visibility == "open":
        return Sight(True, True, False)
    return Sight(True, _has_grant(s, viewer, [dataset.id]) == {dataset.id}, False)


def sights(s: Session, viewer: Person | None, dataset_ids: list[int] | None = None) -> dict[int, Sight]:
    """Sight of many datasets at once (all of them when `dataset_ids` is None)."""
    q = select(Dataset.id, Domain.name, func.coalesce(Dataset.visibility, Domain.default_visibility)).join(
        Domain, Domain.id == Dataset.domain_id
    )
    if dataset_ids is not None:
        q = q.where(Dataset.id.in_(dataset_ids))
    rows = s.connection().execute(q).all()
    if viewer is None or viewer.is_admin or viewer.is_governance:
        return dict.fromkeys((i for i, _, _ in rows), EVERYTHING)
    asked = [i for i, domain, vis in rows if vis == "on-request" and domain not in viewer.domains]
    granted = _has_grant(s, viewer, asked)
    out = {}
    for i, domain, vis in rows:
        if domain in viewer.domains:
            out[i] = EVERYTHING
        elif vis == "restricted":
            out[i] = NOTHING
        else:
            out[i] = READER if vis == "open" or i in granted else AGGREGATES
    return out


def _has_grant(s: Session, viewer: Person, dataset_ids: list[int]) -> set[int]:
    if not dataset_ids:
        return set()
    now = datetime.now(UTC)
    q = select(Grant.dataset_id).where(
        Grant.user_id == viewer.id,
        Grant.dataset_id.in_(dataset_ids),
        Grant.revoked_at.is_(None),
        or_(Grant.expires_at.is_(None), Grant.expires_at > now),
    )
    return set(s.scalars(q))
