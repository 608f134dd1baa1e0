"""Who may know a dataset exists, and who may see and move an incident along.

- a dataset: anyone may know an open or on-request dataset exists; a restricted one only its domain's
  members (and admins and the governance group);
- an incident: admins and governance, its reporter and assignee, members of the routed domain, and anyone
  who may know the dataset it was seen in exists;
- acknowledge, fix, reroute: members of the domain it is routed to (they make the data), and admins;
- verify, reopen: the reporter; for an incident a check opened, the owners of the dataset's domain;
  admins always.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from threshold.errors import Denied, NotFound
from threshold.identity.service import Person
from threshold.quality.models import Incident
from threshold.store.models import Dataset, Domain

ACTIONS = {
    "ack": ({"open"}, "acknowledged"),
    "fix": ({"open", "acknowledged"}, "fixed"),
    "verify": ({"fixed"}, "verified"),
    "reopen": ({"fixed"}, "open"),
}
"""action -> (statuses it applies to, status it leads to)."""
_VERBS = {"ack": "acknowledge", "fix": "fix", "verify": "verify", "reopen": "reopen"}


def visible_dataset(s: Session, viewer: Person, full_name: str) -> Dataset:
    """The dataset, if `viewer` may know it exists (restricted datasets only to their domain)."""
    ds = s.scalars(select(Dataset).where(Dataset.full_name == full_name)).one_or_none()
    if ds is None or ds.snapshot_id is None or not knowable(s, viewer, ds):
        raise NotFound(f"no dataset {full_name[:80]!r}; see `threshold datasets`")
    return ds


def knowable(s: Session, viewer: Person, ds: Dataset) -> bool:
    if viewer.is_admin or viewer.is_governance:
        return True
    domain = s.get(Domain, ds.domain_id)
    assert domain is not None
    if domain.name in viewer.domains:
        return True
    return (ds.visibility or domain.default_visibility or "open") != "restricted"


def can_see(s: Session, viewer: Person, inc: Incident) -> bool:
    if viewer.is_admin or viewer.is_governance or viewer.id in (inc.reporter_id, inc.assignee_id):
        return True
    routed = s.get(Domain, inc.routed_domain_id)
    if routed is not None and routed.name in viewer.domains:
        return True
    ds = s.get(Dataset, inc.dataset_id)
    return ds is not None and knowable(s, viewer, ds)


def allowed_actions(s: Session, person: Person, inc: Incident) -> list[str]:
    out = []
    for action, (allowed_from, _) in ACTIONS.items():
        if inc.status in allowed_from and permitted(s, person, inc, action):
            out.append(action)
    if inc.status in ("open", "acknowledged") and permitted(s, person, inc, "reroute"):
        out.append("reroute")
    return out


def permitted(s: Session, person: Person, inc: Incident, action: str) -> bool:
    if person.is_admin:
        return True
    if action in ("ack", "fix", "reroute"):
        routed = s.get(Domain, inc.routed_domain_id)
        return routed is not None and routed.name in person.domains
    if inc.reporter_id is not None:
        return person.id == inc.reporter_id
    seen = s.get(Dataset, inc.dataset_id)
    domain = s.get(Domain, seen.domain_id) if seen else None
    return domain is not None and domain.name in person.owner_of


def may(s: Session, person: Person, inc: Incident, action: str) -> None:
    if not can_see(s, person, inc):
        raise NotFound(f"no incident #{inc.id}")
    if permitted(s, person, inc, action):
        return
    verb = _VERBS.get(action, action)
    if action in ("ack", "fix", "reroute"):
        routed = s.get(Domain, inc.routed_domain_id)
        who = f"members of {routed.name if routed else 'its domain'}, where it is routed,"
        rule = "incident.routed-domain"
    elif inc.reporter_id is not None:
        who, rule = "the person who reported it", "incident.reporter"
    else:
        who, rule = "the owners of the dataset's domain", "incident.dataset-owner"
    raise Denied(f"{person.name} may not {verb} incident #{inc.id}: only {who} or an admin can (rule: {rule})")
