"""What the products capability answers with: typed results, each with its JSON form (`to_json`), the keys in
the order the REST API (`/api/v1/owners/...`), the pages' `.json` twins and `threshold ... --format json` send.

Owners: `OwnerSuggestions` (the ranked `OwnerSuggestion`s with their `Evidence`, where the proposal stands and
its history), `Proposal` (ownership asked of one person), `OwnerDecided` (an accept or a decline, and after a
decline the next proposal), `ProposalWaiting` (one proposal in a person's inbox).

Candidates: `CandidateListing` (the ranked `CandidateRow`s of a page, each open one with what promoting it
`Needs`, and the datasets `Watching`), `Nominated`, `NominationRow`, `Dismissed`. A candidate's reasons stay the
dicts `candidates.score` gives (they are kept with the candidate and drawn as the page's score bar).

Products: `ProductRecord` (one product in full, with its `Badge`s, `ProductPart`s and, after a deprecation or
retirement, who was `Notified`) and `ProductRow` (one line of the listing)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threshold.quality.contract_runs import ContractResult


@dataclass(frozen=True)
class Evidence:
    """Why a person is suggested as owner: the kind of signal, the points it earned, a sentence."""

    kind: str
    points: float
    text: str


@dataclass(frozen=True)
class OwnerSuggestion:
    """One suggested owner, ranked by points, with the evidence (highest first) and their answer so far."""

    rank: int
    user: str
    display_name: str
    domains: list[str]
    score: float
    evidence: list[Evidence]
    status: str | None
    """proposed, accepted or declined (None: not asked)."""
    reason: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OwnerDecisionRow:
    """One step of a dataset's ownership history: proposed to, accepted, declined or withdrawn."""

    user: str | None
    status: str
    rank: int | None
    reason: str | None
    proposed_by: str | None
    decided_by: str | None
    proposed_at: str | None
    decided_at: str | None


@dataclass(frozen=True)
class OwnerSuggestions:
    """Owner suggestions for a dataset and where its ownership stands."""

    dataset: str
    domain: str
    suggestions: list[OwnerSuggestion]
    proposed_to: str | None
    accepted_by: str | None
    owner: str | None
    """The product's owner (None: not a product)."""
    next: str | None
    """Whom a proposal would go to next (not declined, not proposed already)."""
    history: list[OwnerDecisionRow]
    notes: list[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Proposal:
    """Ownership of a dataset asked of one person (their rank and evidence when they were suggested)."""

    dataset: str
    proposed_to: str
    rank: int | None
    evidence: list[Evidence]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OwnerDecided:
    """A person's answer to ownership; after a decline, `next` is the proposal made to the next suggestion
    (None: no one left). An accept's JSON has no `next`."""

    dataset: str
    user: str
    status: str
    reason: str
    next: Proposal | None = None

    def to_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "dataset": self.dataset,
            "user": self.user,
            "status": self.status,
            "reason": self.reason,
        }
        if self.status == "declined":
            shown["next"] = self.next.to_json() if self.next else None
        return shown


@dataclass(frozen=True)
class ProposalWaiting:
    """An ownership proposal waiting for a person's answer."""

    dataset: str
    proposed_at: str | None
    proposed_by: str | None
    link: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OwnerNeed:
    """Who would own a candidate: the top suggestion not declined, and where a proposal stands."""

    suggested: str | None
    score: float | None
    proposed_to: str | None
    accepted_by: str | None


@dataclass(frozen=True)
class Needs:
    """What promoting a dataset would take: an owner (None: its users' names are not the viewer's to see), a
    contract (`contracts.draft_summary`), a freshness SLO, and the commands that do it."""

    owner: OwnerNeed | None
    contract: ImportedDraft | GeneratedDraft
    freshness_hours: int | None
    steps: list[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CandidateRow:
    """One promotion candidate: its live score with the reasons, its review, its rank; an open one with
    what promoting it needs (its JSON has no `needs` otherwise)."""

    dataset: str
    domain: str
    stage: str
    status: str
    """open, dismissed or promoted."""
    score: float
    threshold: float
    people: int
    queries: int
    nominated: bool
    detected_at: str | None
    score_when_detected: float | None
    reasons: list[dict[str, Any]]
    """One per signal: {signal, value, target, weight, points, text}, most points first."""
    why: str
    reviewed_by: str | None
    review_reason: str | None
    may_review: bool
    rank: int
    needs: Needs | None = None

    def to_json(self) -> dict[str, Any]:
        shown = asdict(self)
        if self.status != "open":
            del shown["needs"]
        return shown


@dataclass(frozen=True)
class Watching:
    """A shared dataset half way to the threshold."""

    dataset: str
    domain: str
    score: float
    people: int
    why: str


@dataclass(frozen=True)
class CandidateListing:
    """A page of ranked candidates, the scoring in force, and the datasets being watched."""

    window: dict[str, object]
    threshold: float
    min_people: int
    weights: dict[str, dict[str, Any]]
    candidates: list[CandidateRow]
    total: int
    page: int
    per_page: int
    pages: int
    watching: list[Watching]
    notes: list[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"candidates": [c.to_json() for c in self.candidates]}


@dataclass(frozen=True)
class Nominated:
    """A nomination recorded: how many the dataset has, and whether it made the dataset a new candidate."""

    dataset: str
    nominated_by: str
    reason: str
    nominations: int
    candidate: str
    new_candidate: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class NominationRow:
    by: str
    reason: str
    at: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Dismissed:
    """A candidate reviewed and not promoted now, with the reason its users can read."""

    dataset: str
    status: str
    reason: str
    by: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Badge:
    """One badge a product shows: status, version, contract or freshness, with its tone (ok, warn, bad,
    neutral)."""

    kind: str
    label: str
    tone: str


@dataclass(frozen=True)
class ProductPart:
    dataset: str
    domain: str


@dataclass(frozen=True)
class Notified:
    """Who was told of a deprecation or retirement: people (inbox) and the domains whose webhooks fired."""

    people: int
    domains: list[str]
    since: str | None


@dataclass(frozen=True)
class ProductRecord:
    """A data product in full: owner, description, version, status and badges, its datasets (those the viewer
    may know), freshness, its contract with the checks and its history, and what the viewer may do. After a
    deprecation or a retirement, `notified` says who was told (the JSON of a product has no `notified`
    otherwise)."""

    dataset: str
    domain: str
    status: str
    version: str
    owner: str | None
    owner_display_name: str | None
    description: str
    datasets: list[ProductPart]
    domains: list[str]
    cross_domain: bool
    freshness_hours: int | None
    freshness: dict[str, Any]
    """{label, tone, age_hours, met, last_update} (no last_update when no data was shared)."""
    badges: list[Badge]
    promoted_by: str | None
    promoted_at: str | None
    deprecated_at: str | None
    retired_at: str | None
    deprecation_reason: str | None
    replacement: str | None
    contract: dict[str, Any] | None
    """The current contract with its check results and its document (None: none, or it describes a dataset
    hidden from the viewer)."""
    contracts: list[ContractVersionRow]
    may_manage: bool
    notified: Notified | None = None

    def to_json(self) -> dict[str, Any]:
        shown = asdict(self)
        if self.notified is None:
            del shown["notified"]
        return shown


@dataclass(frozen=True)
class ProductRow:
    """A data product in a listing."""

    dataset: str
    domain: str
    owner: str
    status: str
    version: str
    contract: str
    """The current contract's status (passed, failed, ...) or missing."""
    datasets: list[str]
    freshness_hours: int | None
    description: str
    promoted_at: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DomainDatasetUse:
    """One dataset of a domain with its use in the window (usage by schema level, one level down)."""

    dataset: str
    stage: str
    queries: int
    people: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ContractView:
    """A contract version with its rules' newest results (from the checks' run history)."""

    version: str
    status: str
    """passed, failed or unchecked."""
    results: list[ContractResult]
    checked_at: str | None
    created_at: str | None
    product: bool
    """Whether it is a product's contract (False: a draft for a promotion)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ContractChecked(ContractView):
    """A contract run again against the table: its results now, and its dataset."""

    dataset: str


@dataclass(frozen=True)
class ContractChange:
    """How a new contract version differs from the one before, and whether the change breaks a promise."""

    breaking: bool
    change: str


@dataclass(frozen=True)
class ContractPublished(ContractView):
    """A contract version published: its results, what changed against the version before, and whether it is
    a draft for a dataset still to be promoted."""

    changes: list[ContractChange]
    draft: bool


@dataclass(frozen=True)
class ContractUnchanged(ContractView):
    """The current contract published again as it is: nothing kept, nothing changed."""

    changes: list[ContractChange]
    unchanged: bool = True


@dataclass(frozen=True)
class ContractVersionRow(ContractView):
    """One version of a dataset's contracts, newest first, with who published it."""

    by: str | None


@dataclass(frozen=True)
class ImportedDraft:
    """A promotion's contract: the draft imported for it, with its version and check status."""

    source: str
    version: str
    status: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GeneratedDraft:
    """A promotion's contract generated from the table: how many columns and suggested checks it would hold,
    and the command that exports it for editing."""

    source: str
    columns: int
    checks: int
    export: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ReuseCell:
    """One (consuming domain, producing domain) pair with readers: distinct people, reads, whether it is a
    domain reading its own data."""

    consumer: str
    producer: str
    people: int
    reads: int
    own: bool


@dataclass(frozen=True)
class ReuseMatrix:
    """Who reads whose data: the consuming and producing domains, the cells with readers, and the reads and
    pairs across domains."""

    consumers: list[str]
    producers: list[str]
    cells: list[ReuseCell]
    cross_domain_reads: int
    cross_domain_pairs: int


@dataclass(frozen=True)
class DomainBalance:
    """One domain's give and take: datasets it shares, reads of its data (by its own people and from outside),
    and how much it reads of other domains' data (`ratio`: what it takes over what others take from it)."""

    domain: str
    datasets: int
    reads: int
    people: int
    outside_people: int
    outside_reads: int
    consumes_from_others: int
    consumes_domains: list[str]
    ratio: float | None


@dataclass(frozen=True)
class UsageChange:
    """A dataset rising or falling: queries and person-weeks in the recent complete weeks against the weeks
    before, their difference, and the relative change of queries (None when there were none before)."""

    dataset: str
    domain: str
    recent_queries: int
    prior_queries: int
    recent_person_weeks: int
    prior_person_weeks: int
    change_queries: int
    change_person_weeks: int
    change: float | None


@dataclass(frozen=True)
class TrendPeriods:
    """The two periods a trend compares: the prior one from `prior_since`, the recent one until `recent_until`."""

    prior_since: str
    recent_since: str
    recent_until: str


@dataclass(frozen=True)
class NeverUsed:
    """A dataset nobody has read, with when it was shared."""

    dataset: str
    domain: str
    shared_at: str | None
    stage: str


@dataclass(frozen=True)
class OnePerson:
    """A dataset only one person has ever read, with when it was last read."""

    dataset: str
    domain: str
    people: int
    last_used: str | None


@dataclass(frozen=True)
class LongTail:
    """Datasets never used and used by one person only (a page of each, with the counts), and the share of all
    datasets never used."""

    never_used: list[NeverUsed]
    never_used_count: int
    one_person: list[OnePerson]
    one_person_count: int
    share_never_used: float | None


@dataclass(frozen=True)
class PatternTotals:
    """Reads and distinct readers in the window; datasets shared, and those ever used."""

    reads: int
    people: int
    datasets: int
    datasets_used: int


@dataclass(frozen=True)
class OrgPatterns:
    """The organisation's consumption patterns over the window: totals, the reuse matrix, each domain's give
    and take, domains that consume but never share, rising and falling datasets, the long tail."""

    window: dict[str, object]
    trend_weeks: int
    totals: PatternTotals
    reuse_matrix: ReuseMatrix
    domains: list[DomainBalance]
    consume_not_share: list[str]
    periods: TrendPeriods
    rising: list[UsageChange]
    falling: list[UsageChange]
    long_tail: LongTail

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
