"""What the producer view answers with: typed results, each with its JSON form (`to_json`), the keys in the
order the REST API (`/api/v1/domains/{name}/producer`, `/api/v1/datasets/{name}/columns/{column}/impact`), the
domain page's `.json` twin and `threshold producer --format json` send."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ConsumerDomain:
    """A domain whose people read the dataset in the window, and whether it is another domain than the one
    that makes it."""

    domain: str
    people: int
    queries: int
    outside: bool


@dataclass(frozen=True)
class ConsumerPurpose:
    """A purpose the dataset was read for in the window ("(none declared)" when none was)."""

    purpose: str
    people: int
    queries: int


@dataclass(frozen=True)
class ReadTrend:
    """Reads in the recent complete weeks against the weeks before, and which way they go."""

    recent: int
    prior: int
    direction: str
    """rising, falling or steady."""


@dataclass(frozen=True)
class TopConsumer:
    """One of the people who read the dataset most in the window."""

    user: str
    queries: int


@dataclass(frozen=True)
class ColumnUse:
    """A column with who read it (all time, by domain), whether a product's contract promises it, and in
    words what a change to it would affect."""

    column: str
    type: str
    people: int
    queries: int
    domains: list[str]
    in_contract: bool
    affects: str


@dataclass(frozen=True)
class WeekReads:
    """Reads of the dataset in one week (the Monday it starts)."""

    week: str
    queries: int


@dataclass(frozen=True)
class WaitingRequest:
    """An access request to the dataset waiting for a decision."""

    id: int
    requester: str
    purpose: str
    columns: list[Any]
    since: str | None


@dataclass(frozen=True)
class ProductBadge:
    """The data product the dataset is: its status, version and owner."""

    status: str
    version: str
    owner: str


@dataclass(frozen=True)
class CandidateBadge:
    """The dataset as a promotion candidate: its status, score and whether someone nominated it."""

    status: str
    score: float
    nominated: bool


@dataclass(frozen=True)
class ProducedDataset:
    """One dataset of the domain in the producer view: what it is, its use in the window (by domain and
    purpose, trend, top consumers: None for a viewer who may not see names), its columns and what a change
    to each would affect, the viewer's own reads, the purposes granted, its weekly reads, what depends on it
    downstream, the requests waiting (listed only for producers), and its product or candidate status."""

    dataset: str
    stage: str
    visibility: str
    rows: int | None
    shared_at: str | None
    people: int
    queries: int
    outside_people: int
    domains: list[ConsumerDomain]
    purposes: list[ConsumerPurpose]
    trend: ReadTrend
    top_consumers: list[TopConsumer] | None
    columns: list[ColumnUse]
    you: int | None
    purposes_granted: list[str]
    weekly: list[WeekReads]
    downstream_count: int
    downstream: dict[str, Any]
    """`dependents.Related.as_dict()` (or, with nothing downstream, whether the lineage could be read)."""
    waiting_requests: int
    requests: list[WaitingRequest] | None
    product: ProductBadge | None
    candidate: CandidateBadge | None


@dataclass(frozen=True)
class ProducerTotals:
    """The domain in figures: datasets (and those used), reads, readers (and those from outside), the other
    domains reading its data, products, open candidates and requests waiting."""

    datasets: int
    used: int
    reads: int
    people: int
    outside_people: int
    consumer_domains: list[str]
    products: int
    candidates: int
    waiting_requests: int


@dataclass(frozen=True)
class DomainView:
    """A domain's producer view: who uses its data and why, one page of its datasets (most used first), as
    the viewer may see it (`producer_view`: names and waiting requests for producers)."""

    domain: str
    title: str
    description: str
    owners: list[str]
    producer_view: bool
    window: dict[str, object]
    note: str
    page: int
    per_page: int
    pages: int
    totals: ProducerTotals
    datasets: list[ProducedDataset]
    notes: list[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ColumnImpact:
    """What changing one column would affect: who read it (people, queries, by domain, as the dataset's
    consumers listing counts them), whether a product's contract promises it, and what depends on the
    dataset downstream (`dependents.Related.as_dict()`)."""

    dataset: str
    column: str
    people: int
    queries: int
    domains: list[str]
    in_contract: bool
    downstream: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
