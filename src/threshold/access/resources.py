"""What the decision point decides about: small, detached descriptions of datasets, domains, products,
policies, people and incidents (services build them from their rows; the rules never query)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

VISIBILITIES = ("open", "on-request", "restricted")


@dataclass(frozen=True)
class DatasetRef:
    id: int
    name: str
    """`domain.name`."""
    domain: str
    visibility: str
    """The effective visibility: the dataset's own, else its domain's default."""
    granted: bool = False
    """The actor it was built for holds a live grant on it (only looked up where it matters: on request)."""

    @classmethod
    def of(cls, dataset: Any, *, granted: bool = False) -> DatasetRef:
        """From a `store.models.Dataset` row whose `domain` is loaded."""
        visibility = dataset.visibility or dataset.domain.default_visibility or "open"
        return cls(dataset.id, dataset.full_name, dataset.domain.name, visibility, granted)


@dataclass(frozen=True)
class DomainRef:
    name: str


@dataclass(frozen=True)
class ProductRef:
    dataset: DatasetRef
    owner_id: int | None
    """The product's accountable owner."""


@dataclass(frozen=True)
class OwnershipRef:
    """An open question of who owns a dataset as a product (the candidates' working backward)."""

    dataset: DatasetRef
    proposed_to: str | None
    """The person it is proposed to now, if anyone."""
    suggested: tuple[str, ...]
    """The people the evidence suggests."""


@dataclass(frozen=True)
class DerivationRef:
    dataset: DatasetRef
    owner_id: int | None
    """The person the derivation runs as."""


@dataclass(frozen=True)
class PolicyScope:
    domain: str | None
    """None: the global guardrails."""


@dataclass(frozen=True)
class PersonRef:
    id: int
    name: str


@dataclass(frozen=True)
class SourceRef:
    """A registered source system (its connection and syncs are managed by its owner)."""

    name: str
    owner_id: int


@dataclass(frozen=True)
class IncidentRef:
    id: int
    reporter_id: int | None
    assignee_id: int | None
    routed_domain: str | None
    """The domain it is routed to (that makes the data)."""
    seen_in: DatasetRef | None
    """The dataset it was seen in."""


@dataclass(frozen=True)
class InsightRef:
    id: int
    owner_id: int
    domain: str | None
    """Its home domain."""
    audience: str
    """`everyone` (who may know its data), `domain` (its home domain's members) or `private`."""
    datasets: tuple[DatasetRef, ...]
    """The datasets it reads."""


@dataclass(frozen=True)
class TermRef:
    """A glossary term (and, for a review, the author of the revision under review)."""

    key: str
    domain: str
    """Its owning domain."""
    author_id: int | None = None


@dataclass(frozen=True)
class TermLinkRef:
    term: TermRef
    dataset: DatasetRef | None
    """The dataset linked (or the one a linked column belongs to); None for an insight."""


@dataclass(frozen=True)
class TargetProposalRef:
    """A domain's proposed maturity target, and who proposed it."""

    domain: str
    proposed_by_id: int | None


@dataclass(frozen=True)
class BoardRef:
    id: int
    owner_id: int
    domain: str | None
