"""What lineage answers with: typed results, each with its JSON form (`to_json`), the keys in the order the REST
API (`/api/v1/lineage`), the `/lineage.json` twin and `threshold lineage --format json` send them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class LineageGap:
    """A column whose origin lineage could not resolve, and why (`origin`: the input columns it may come from)."""

    dataset: str
    column: str | None
    """None: the whole query's lineage is unknown."""
    reason: str | None
    origin: Any


@dataclass(frozen=True)
class Gaps:
    columns: int
    """Unresolved columns the viewer may know of."""
    datasets: int
    """Datasets holding them."""
    list: list[LineageGap]  # named as the JSON key clients read
    """The first of them, by dataset and column."""


@dataclass(frozen=True)
class LineageOverview:
    """The whole graph in numbers, as the viewer may know it, and its gaps."""

    nodes: dict[str, int]
    """Nodes per kind (dataset, file, job, source …)."""
    edges: int
    column_lineage: int
    derivations: dict[str, int]
    """Derivations per status of their last run."""
    datasets: int
    gaps: Gaps

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SourceSystemRow:
    """A source system (the application or database data comes from), its accountable owner, and how many
    lineage edges lead from it (`datasets`)."""

    name: str
    kind: str
    owner: str | None
    description: str | None
    datasets: int
    created_at: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DerivationRow:
    """A derived dataset: its owner, schedule, purpose and last refresh (its error hidden like its SQL from a
    viewer who may not know every dataset it reads)."""

    dataset: str
    owner: str
    schedule: str | None
    purpose: str | None
    status: str
    last_run_at: str | None
    next_run_at: str | None
    snapshot_id: int | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DerivationRunRow:
    """One refresh of a derived dataset."""

    run_id: str
    trigger: str
    status: str
    started_at: str | None
    finished_at: str | None
    snapshot_id: int | None
    rows: int | None
    error: str | None


@dataclass(frozen=True)
class DerivationRecord(DerivationRow):
    """A derivation with its SQL (None when the viewer may not see it) and its last refreshes, newest first."""

    sql: str | None
    runs: list[DerivationRunRow]


@dataclass(frozen=True)
class Impact:
    """If a column is dropped, renamed or retyped: every dependent with its level, effect and why (dicts as the
    propagation builds them), how many break and are affected, the column's recent readers and who must be told
    (named only to those who may see the names; counted always), and how many were told."""

    dataset: str
    column: str
    type: str
    change: str
    dependents: list[dict[str, Any]]
    breaks: int
    affected: int
    readers: list[dict[str, Any]]
    reader_count: int
    names_visible: bool
    notify: list[dict[str, Any]]
    notify_count: int
    notified: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DerivationSchedule:
    """A derived dataset's schedule as set (None: on demand only) and its next run."""

    dataset: str
    schedule: str | None
    next_run_at: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EmittedEvent:
    """One OpenLineage event Threshold emitted: its delivery status and attempts, the event type and job, when."""

    id: int
    status: str
    attempts: int
    error: str | None
    event: str | None
    job: str | None
    at: str | None


@dataclass(frozen=True)
class EmittedEvents:
    """Where emitted OpenLineage events go (the URL without its secret) and the latest of them."""

    url: str | None
    events: list[EmittedEvent]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Ingested:
    """OpenLineage events merged into the graph, one summary each (the stored event's id, the job, its type,
    the inputs and outputs as the sender may see them, column lineage rows written and left unresolved)."""

    events: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
