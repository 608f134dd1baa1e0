"""What the incident listings answer with: typed results, each with its JSON form (`to_json`), the keys in the
order the REST API (`/api/incidents`), the pages' `.json` twins and `threshold incidents --format json` send.

`IncidentRow` is one line of a listing; `IncidentRecord` is one incident in full (the row's fields, then the
reporter's query, the comments, the affected datasets, what the viewer may do, and the failing run)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class RoutedTo:
    """Where an incident was sent: a dataset (only its domain named when the viewer may not know it), the
    column (None when hidden), and the domain that owns it."""

    dataset: str | None
    column: str | None
    domain: str | None


@dataclass(frozen=True)
class IncidentRow:
    """One incident as a listing shows it: what, where it was seen, where it was routed and why, who, when."""

    id: int
    kind: str
    title: str
    description: str | None
    status: str
    dataset: str | None
    column: str | None
    insight: str | None
    routed_to: RoutedTo
    domain: str | None
    routing: dict[str, Any]
    """{method, reason, path: [{dataset, kind}]}: how lineage routed it (hidden steps named generically)."""
    reporter: str | None
    assignee: str | None
    check: int | None
    occurrences: int
    reopened: int
    opened_at: str | None
    last_seen_at: str | None
    acknowledged_at: str | None
    acknowledged_by: str | None
    fixed_at: str | None
    fixed_by: str | None
    verified_at: str | None
    verified_by: str | None
    verified_via: str | None
    hours_to_acknowledge: float | None
    hours_to_fix: float | None
    link: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class IncidentComment:
    """One entry of an incident's history: a comment (`event` None) or a change of status."""

    id: int
    at: str | None
    by: str
    event: str | None
    body: str


@dataclass(frozen=True)
class AffectedDataset:
    """A dataset the incident touches: where it was seen, where it was routed, and downstream ones told."""

    dataset: str | None
    relation: str
    level: int
    told: list[str]


@dataclass(frozen=True)
class FailingRun:
    """The check run that opened it, with its failing-row sample as the viewer may see it."""

    id: int
    at: str | None
    status: str
    failing: int | None
    message: str | None
    sample: dict[str, Any]


@dataclass(frozen=True)
class IncidentRecord(IncidentRow):
    """One incident in full, as `/incidents/N` shows it."""

    query: str | None
    query_hidden: str | None
    """Why the reporter's query is not shown (None: shown, or there is none)."""
    comments: list[IncidentComment]
    affected: list[AffectedDataset]
    actions: list[str]
    """What the viewer may do next: ack, fix, verify, reopen, comment, reroute."""
    run: FailingRun | None
