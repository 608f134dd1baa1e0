"""Who may operate what, asked of the decision point (`threshold.access`):

- repair, compaction and snapshot expiry of a dataset: `dataset.operate` (its domain's owners, admins);
- the whole home (doctor --fix, backup, restore, maintenance of every dataset): `platform.admin`.
A dataset an outsider may not know exists is "not found" for them, never "denied".
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from threshold.access import find_dataset, refs, require
from threshold.identity.service import Person
from threshold.store.models import Dataset


def dataset_for(s: Session, person: Person, full_name: str, verb: str) -> Dataset:
    """The dataset `person` may operate on (`verb`: repair, compact, expire snapshots of)."""
    ds = find_dataset(s, person, full_name)
    require(person, "dataset.operate", refs(s, person, [ds.id])[ds.id])
    return ds


def must_operate_home(person: Person, verb: str) -> None:
    """Operating the whole home (`verb` names it in the refusal's context) is for administrators."""
    del verb  # the decision point's refusal names the rule and who may
    require(person, "platform.admin")
