"""Who may do what with an insight: one small function, to move into the decision point (`access`) as
the actions `insight.view`, `insight.edit`, `insight.fork`, `insight.schedule`, `insight.comment`.

- view (and comment, subscribe, export): may know every dataset it reads (another domain's restricted
  dataset does not exist for them), and is in its audience: `everyone`, the home domain's members
  (`domain`), or its owner (`private`). What they then see of the result is their own decision: the
  result is computed through the gateway as them.
- fork: may view it.
- edit (a new version, audience, archive): its owner, owners of its home domain, administrators.
- schedule: its owner (scheduled reruns run with the owner's rights) and administrators.
Administrators and the governance group may view every insight.
"""

from __future__ import annotations

from dataclasses import dataclass

from threshold.identity.service import Person

ACTIONS = ("view", "comment", "fork", "edit", "schedule")


@dataclass(frozen=True)
class Facts:
    """What the rule needs to know of one insight."""

    owner_id: int
    domain: str | None
    audience: str
    datasets_known: bool
    """The person may know every dataset the insight reads."""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    rule: str
    reason: str = ""


def may(person: Person, action: str, insight: Facts) -> Verdict:
    """May `person` do `action` with this insight (and by which rule)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown insight action {action!r}")
    owner = person.id == insight.owner_id
    if action in ("view", "comment", "fork"):
        if person.is_admin or person.is_governance:
            return Verdict(True, "insight.view.oversight")
        if not insight.datasets_known:
            return Verdict(False, "insight.view.datasets", "it reads data you may not know of")
        if owner or insight.audience == "everyone":
            return Verdict(True, "insight.view")
        if insight.audience == "domain" and insight.domain in person.domains:
            return Verdict(True, "insight.view.domain")
        return Verdict(False, f"insight.view.{insight.audience}", "it is not shared with you")
    if action == "edit":
        if owner or person.is_admin or (insight.domain is not None and insight.domain in person.owner_of):
            return Verdict(True, "insight.edit")
        return Verdict(False, "insight.edit", "only its owner, its domain's owners and administrators change it")
    if owner or person.is_admin:
        return Verdict(True, "insight.schedule")
    return Verdict(False, "insight.schedule", "scheduled runs use the owner's rights: only the owner schedules it")
