"""Who may operate what: the one place this capability asks (the decision point may take it over).

- Repair, compaction and snapshot expiry of a dataset: its domain's owners, or an admin.
- The whole home (doctor --fix, backup, restore, maintenance of every dataset): admins.
A dataset an outsider may not know exists is "not found" for them, never "denied".
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from threshold.errors import Denied, NotFound
from threshold.identity.service import Person
from threshold.store.models import Dataset, Domain


def dataset_for(s: Session, person: Person, full_name: str, verb: str) -> Dataset:
    """The dataset `person` may `verb` (repair, compact, expire snapshots of)."""
    ds = s.scalars(select(Dataset).where(Dataset.full_name == full_name.lower())).one_or_none()
    domain = s.get(Domain, ds.domain_id) if ds is not None else None
    if ds is None or domain is None or not _knowable(person, ds, domain):
        raise NotFound(f"no dataset {full_name[:80]!r}; see `threshold datasets`")
    if not (person.is_admin or domain.name in person.owner_of):
        raise Denied(
            f"{person.name} may not {verb} {ds.full_name}: only owners of {domain.name} or an admin can "
            "(rule: operations.owner)"
        )
    return ds


def must_operate_home(person: Person, verb: str) -> None:
    if not person.is_admin:
        raise Denied(f"{person.name} may not {verb}: only an admin can (rule: operations.admin)")


def _knowable(person: Person, ds: Dataset, domain: Domain) -> bool:
    if person.is_admin or person.is_governance or domain.name in person.domains:
        return True
    return (ds.visibility or domain.default_visibility or "open") != "restricted"
