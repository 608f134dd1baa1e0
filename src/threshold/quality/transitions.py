"""An incident's workflow: which action leads from which status to which, and who may take it.

Who may see, work on or close an incident is decided by the decision point (`incident.see`,
`incident.work`, `incident.close` in `threshold.access`); this module only describes the incident to it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from threshold.access import DatasetRef, IncidentRef, may, require
from threshold.errors import NotFound
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
_DECIDED_BY = {"ack": "incident.work", "fix": "incident.work", "reroute": "incident.work"}
"""Workflow action -> the action of the vocabulary that decides it (verify and reopen: `incident.close`)."""


def incident_ref(s: Session, inc: Incident) -> IncidentRef:
    routed = s.get(Domain, inc.routed_domain_id) if inc.routed_domain_id is not None else None
    seen = s.get(Dataset, inc.dataset_id) if inc.dataset_id is not None else None
    return IncidentRef(
        inc.id,
        inc.reporter_id,
        inc.assignee_id,
        routed.name if routed is not None else None,
        DatasetRef.of(seen) if seen is not None else None,
    )


def can_see(s: Session, viewer: Person, inc: Incident) -> bool:
    return bool(may(viewer, "incident.see", incident_ref(s, inc)))


def allowed_actions(s: Session, person: Person, inc: Incident) -> list[str]:
    ref = incident_ref(s, inc)
    out = [a for a, (allowed_from, _) in ACTIONS.items() if inc.status in allowed_from and _may(person, ref, a)]
    if inc.status in ("open", "acknowledged") and _may(person, ref, "reroute"):
        out.append("reroute")
    return out


def _may(person: Person, ref: IncidentRef, action: str) -> bool:
    return bool(may(person, _DECIDED_BY.get(action, "incident.close"), ref))


def check(s: Session, person: Person, inc: Incident, action: str) -> None:
    """`person` may take workflow `action` on `inc`; an incident they may not see does not exist for them."""
    ref = incident_ref(s, inc)
    if not may(person, "incident.see", ref):
        raise NotFound(f"no incident #{inc.id}")
    require(person, _DECIDED_BY.get(action, "incident.close"), ref)
