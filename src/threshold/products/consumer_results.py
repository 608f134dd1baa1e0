"""Who uses one dataset and why, as a typed result with its JSON form (`to_json`): the keys in the order
`/api/v1/consumers/{dataset}`, the `/consumers/{dataset}.json` twin and `threshold consumers --format json`
send them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from threshold.products.producer_results import ConsumerDomain


@dataclass(frozen=True)
class PurposeUse:
    """One purpose the dataset is read for: declared with reads (people, queries) or only granted, and how
    many people hold a grant for it."""

    purpose: str
    source: str
    people: int
    queries: int
    granted_people: int


@dataclass(frozen=True)
class ConsumerWeek:
    """One week of the window: reads, readers, their domains, refusals."""

    week: str
    queries: int
    people: int
    domains: int
    denied: int


@dataclass(frozen=True)
class AskedQuestion:
    """One question asked of the dataset (its fingerprint, values removed): how many people and reads, a
    browse or a recurring one, its text when the viewer may see it, and who asked it first (readers only)."""

    fingerprint: str
    people: int
    queries: int
    browse: bool
    recurring: bool
    text: str | None
    first_asked_by: str | None


@dataclass(frozen=True)
class UsedTogether:
    """A dataset read with this one, by how many people, in the same query or the same session."""

    dataset: str
    people: int
    in_query: int
    in_session: int


@dataclass(frozen=True)
class ConsumedColumn:
    """One column read: by how many people, in how many queries, from which domains, when last."""

    column: str
    people: int
    queries: int
    domains: list[str]
    last_used: str | None


@dataclass(frozen=True)
class Consumer:
    """One reader (names shown only to who may see them): their domains, reads, weeks, purposes, whether
    they came back, refusals and their last read."""

    user: str
    display_name: str
    domains: list[str]
    queries: int
    weeks: int
    purposes: list[str]
    repeat: bool
    denied: int
    last_used: str | None


@dataclass(frozen=True)
class YourUse:
    """The viewer's own use of the dataset."""

    queries: int
    weeks: int
    purposes: list[str]
    last_used: str | None


@dataclass(frozen=True)
class DatasetConsumers:
    """Everything the usage record says about one dataset's consumers over the window: the dataset, the
    window, whether names are shown (and why not), the totals, then by domain, purpose, week, question,
    datasets used with it, columns, what is built on it (`dependents.Related.as_dict()`), the readers
    (None when names are hidden) and the viewer's own use (None without a viewer)."""

    dataset: str
    domain: str
    stage: str
    visibility: str
    window: dict[str, Any]
    names_visible: bool
    note: str
    queries: int
    people: int
    people_outside: int
    consumer_domains: int
    repeat_people: int
    repeat_weeks: int
    denied: int
    denied_people: int
    last_used: str | None
    domains: list[ConsumerDomain]
    purposes: list[PurposeUse]
    weekly: list[ConsumerWeek]
    questions: list[AskedQuestion]
    together: list[UsedTogether]
    columns: list[ConsumedColumn]
    downstream: dict[str, Any]
    consumers: list[Consumer] | None
    you: YourUse | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
