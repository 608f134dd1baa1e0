"""What governance answers with: typed results, each with its JSON form (`to_json`), the keys in the order the
REST API, the `/governance.json` twin and the CLI send them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class AccessTimes:
    """Time to access in one domain: how many requests, how many were decided (auto-approved ones at once),
    how many wait and the oldest wait, and the median and 90th percentile of the hours to a decision."""

    domain: str
    requests: int
    decided: int
    auto_approved: int
    waiting: int
    oldest_waiting_hours: float | None
    median_hours: float | None
    p90_hours: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RequestRecord:
    """An access request: what was asked (dataset, purpose, columns, days, why), by whom, and its answer (status,
    when and by whom, the reason, the auto-approval rule, the hours it waited). `grant` is the grant an approval
    made is in `Approval`."""

    id: int
    dataset: str | None
    domain: str | None
    requester: str | None
    purpose: str
    columns: list[str]
    days: int
    justification: str
    status: str
    created_at: str | None
    decided_at: str | None
    decided_by: str | None
    reason: str | None
    auto_rule: str | None
    hours_to_decision: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Approval(RequestRecord):
    """An approved request with the grant the approval made (sent last)."""

    grant: int


@dataclass(frozen=True)
class GrantRow:
    """A grant: who may read which dataset for which purposes (and columns, personal data), until when, and
    whether it is still in force."""

    id: int
    dataset: str
    user: str
    purposes: list[str]
    columns: list[str]
    allows_personal: bool
    expires_at: str | None
    revoked_at: str | None
    active: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RevokedGrant:
    """A grant revoked: its id, its dataset and when."""

    grant: int
    dataset: str
    revoked_at: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TagSet:
    """A tag put on a dataset, or on one of its columns."""

    dataset: str
    column: str | None
    tag: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TagRemoved:
    """A tag taken off a dataset, or off one of its columns."""

    dataset: str
    column: str | None
    removed: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DatasetVisibility:
    """A dataset's new visibility."""

    dataset: str
    visibility: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DomainVisibility:
    """A domain's new default visibility for the datasets shared into it."""

    domain: str
    default_visibility: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AllowedPurposes:
    """The purposes a dataset may now be read for (none: any purpose)."""

    dataset: str
    allowed_purposes: list[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ColumnAccess:
    """How one column reads for the reader: as it is or masked (which mask), the rules that decided it, and why."""

    column: str
    visible: bool
    mask: str | None
    rules: list[str]
    why: str


@dataclass(frozen=True)
class RowFilterShown:
    """A row filter that applies to the reader: the rule and its rendered predicate."""

    rule: str
    where: str


@dataclass(frozen=True)
class Explanation:
    """What a reader can see of a dataset (for a purpose) and which rule decided each part: the verdict and its
    rule, the columns, the row filters, what the decision point allows them, whether a request would help, and
    how to see more (sent only when masked columns could be unmasked by a request)."""

    dataset: str
    allowed: bool
    rule: str
    reason: str
    purpose: str | None
    visibility: str
    grant: int | None
    columns: list[ColumnAccess]
    row_filters: list[RowFilterShown]
    reader: str
    reader_domains: list[str]
    may: dict[str, bool]
    can_request: bool
    how_to_see_more: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if self.how_to_see_more is None:
            del out["how_to_see_more"]
        return out


@dataclass(frozen=True)
class PolicyRow:
    """One rule (one version of it with `history`): its id, global or a domain's, its kind, whether it is in
    force, who wrote it, why and when, and the rule itself as written (`spec`; the built-in personal-data
    guardrail's in words)."""

    rule: str
    scope: str
    domain: str | None
    kind: str
    version: int
    active: bool
    author: str | None
    reason: str | None
    at: str | None
    spec: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AuditRecord:
    """One entry of the audit log: when, who acted (None for the platform), what (`query.masked`,
    `request.approved`, ...), on which dataset and for which purpose, the rules that decided it, and its detail."""

    id: int
    at: str
    actor: str | None
    action: str
    dataset: str | None
    purpose: str | None
    rules: list[str]
    detail: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
