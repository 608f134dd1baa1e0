"""Where authorisation plugs into the gateway: one decision per dataset a query reads.

Today everyone in the organisation may read every dataset. Governance (policies, grants,
masks, row filters) replaces `decide` without touching the rest of the gateway: a decision
carries the view a reader gets, and the gateway binds every reference to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from threshold.identity.service import Person


@dataclass(frozen=True)
class Decision:
    dataset: str
    allowed: bool
    rule: str
    reason: str = ""
    masks: dict[str, str] = field(default_factory=dict)
    """column -> SQL expression replacing it in this reader's view."""
    row_filter: str | None = None
    """SQL predicate applied to every row this reader's view returns."""


def decide(person: Person, datasets: list[str], purpose: str | None) -> list[Decision]:
    return [Decision(d, True, "open.default", "every dataset is open to the organisation") for d in datasets]
