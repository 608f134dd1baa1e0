"""What lineage answers with: typed results, each with its JSON form (`to_json`), the keys in the order the REST
API (`/api/v1/lineage`), the `/lineage.json` twin and `threshold lineage --format json` send them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ColumnGap:
    """A column of a dataset on a supply chain whose origin lineage could not resolve, and why (its reason
    scrubbed of the names the viewer may not know)."""

    dataset: str
    column: str | None
    """None: the whole query's lineage is unknown."""
    reason: str | None


@dataclass(frozen=True)
class LineageGap(ColumnGap):
    """A gap of the whole graph, with where it came from (`origin`: the input columns it may come from)."""

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


@dataclass(frozen=True)
class NodeDerivation:
    """How a derived dataset on a supply chain is refreshed: its schedule (None: on demand), how its last run
    ended, when it ran last and runs next."""

    schedule: str | None
    status: str
    last_run_at: str | None
    next_run_at: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "schedule": self.schedule,
            "status": self.status,
            "last_run_at": self.last_run_at,
            "next_run_at": self.next_run_at,
        }


@dataclass(frozen=True)
class ChainNode:
    """One node of a supply chain: its level (negative upstream, 0 the dataset asked about, positive
    downstream), kind (dataset, file, source, job, external, deleted …), name, domain and owners (who to ask),
    stage and title, whether it is a dataset the viewer may not see (then named "a dataset you may not see",
    without link or derivation), the link to its own lineage, its derivation and how many of its columns
    lineage could not resolve."""

    id: int
    kind: str
    name: str
    namespace: str
    level: int
    domain: str | None
    owners: list[str]
    stage: str | None
    title: str
    hidden: bool
    link: str | None
    derivation: NodeDerivation | None
    gaps: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "namespace": self.namespace,
            "level": self.level,
            "domain": self.domain,
            "owners": list(self.owners),
            "stage": self.stage,
            "title": self.title,
            "hidden": self.hidden,
            "link": self.link,
            "derivation": None if self.derivation is None else self.derivation.to_json(),
            "gaps": self.gaps,
        }


@dataclass(frozen=True)
class DatasetNode(ChainNode):
    """A node that is a dataset of the catalog, with its row count (None when it is hidden from the viewer)."""

    rows: int | None

    def to_json(self) -> dict[str, Any]:
        return super().to_json() | {"rows": self.rows}


@dataclass(frozen=True)
class InsightNode(ChainNode):
    """An insight built on the chain, named by its number only, and how many people view it (what producers
    weigh)."""

    viewers: int

    def to_json(self) -> dict[str, Any]:
        return super().to_json() | {"viewers": self.viewers}


@dataclass(frozen=True)
class ChainEdge:
    """A dataset-level edge, `from_` → `to` (node ids), and the job that made it (None: shared from a file or
    a source, or leading to a hidden node)."""

    from_: int  # "from" in JSON
    to: int
    job: str | None

    def to_json(self) -> dict[str, Any]:
        return {"from": self.from_, "to": self.to, "job": self.job}


@dataclass(frozen=True)
class ColumnEdge:
    """A column-level edge: `from_column` of node `from_` flows into `to_column` of node `to` (None: the whole
    dataset depends on it, as through a filter or a join) by `kind` (identity, transform, aggregate, filter …),
    masking or not. A column of a hidden node is None. The fields are in alphabetical order, as the JSON
    has always sent them."""

    from_: int  # "from" in JSON
    from_column: str | None
    kind: str
    masking: bool
    to: int
    to_column: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.from_,
            "from_column": self.from_column,
            "kind": self.kind,
            "masking": self.masking,
            "to": self.to,
            "to_column": self.to_column,
        }


@dataclass(frozen=True)
class Lineage:
    """The supply chain of a dataset (or of one of its columns) as the viewer may see it: what was asked
    (`direction`, `depth`; `root` the dataset's node id, 0 when nothing was ever recorded about it), its
    nodes in level order, its edges and column edges, whether the walk stopped at the node limit
    (`truncated`) or there is more beyond `depth` (`deeper`), and the dataset's unresolved columns."""

    dataset: str
    column: str | None
    direction: str
    depth: int
    root: int
    nodes: list[ChainNode]
    edges: list[ChainEdge]
    column_edges: list[ColumnEdge]
    truncated: bool
    deeper: bool
    gaps: list[ColumnGap]

    def to_json(self) -> dict[str, Any]:
        # written out, not asdict(): a view may hold 2,000 nodes and tens of thousands of edges, which
        # asdict's deep copy makes cost a fifth of a second
        return {
            "dataset": self.dataset,
            "column": self.column,
            "direction": self.direction,
            "depth": self.depth,
            "root": self.root,
            "nodes": [n.to_json() for n in self.nodes],
            "edges": [e.to_json() for e in self.edges],
            "column_edges": [e.to_json() for e in self.column_edges],
            "truncated": self.truncated,
            "deeper": self.deeper,
            "gaps": [asdict(g) for g in self.gaps],
        }
