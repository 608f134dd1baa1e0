"""Metadata tables of the products capability (declared on the shared `Base`; migration 0005).

Two kinds: the *rollups* that make consumption views fast (derived from usage events, rebuilt at
will, never typed in) and the *product records* people create (nominations, candidate reviews,
owner decisions, products and their contracts).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from threshold.store.models import Base, utcnow

# --- Rollups: usage events summed up, maintained by `products.rollup` ----------------------------

_CLUSTERED: dict[str, Any] = {"sqlite_with_rowid": False}
"""On SQLite the rollups are stored in primary-key order (WITHOUT ROWID): the views read them by key
ranges, and every row then comes with its key instead of through a second lookup."""


class RollupState(Base):
    """How far the rollups have read the usage log (one row). `dirty` is set by a database trigger
    when an event they already counted is changed or deleted; the next read rebuilds them."""

    __tablename__ = "usage_rollup_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    watermark: Mapped[int] = mapped_column(BigInteger, default=0)
    """Highest usage event id counted."""
    dirty: Mapped[bool] = mapped_column(Boolean, default=False)
    settings_key: Mapped[str] = mapped_column(String(64), default="")
    """Hash of the settings the rollups depend on (session length, whether browsing counts)."""
    signals_key: Mapped[str] = mapped_column(String(64), default="", server_default="")
    """The window and settings `usage_signals` were computed for; another one recomputes them all."""
    rebuilt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class UsageWeekly(Base):
    """Reads of one dataset by one person in one week for one declared purpose."""

    __tablename__ = "usage_weekly"
    __table_args__ = (Index("ix_usage_weekly_user", "user_id"), _CLUSTERED)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    week: Mapped[date] = mapped_column(Date, primary_key=True)
    """Monday of the week (UTC)."""
    purpose: Mapped[str] = mapped_column(String(200), primary_key=True)
    """The declared purpose, '' when none was declared."""
    domain_id: Mapped[int] = mapped_column(Integer)
    """The dataset's domain (denormalised: the reuse matrix groups by it)."""
    queries: Mapped[int] = mapped_column(Integer, default=0)
    denied: Mapped[int] = mapped_column(Integer, default=0)
    """Reads the gateway refused: demand that was not met."""
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UsageQuestion(Base):
    """One query shape (fingerprint) asked of one dataset by one person."""

    __tablename__ = "usage_questions"
    __table_args__ = (_CLUSTERED,)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    queries: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    browse: Mapped[bool] = mapped_column(Boolean, default=False)
    """`SELECT * FROM x LIMIT n`: looking at the data, not a question."""


class UsageQuestionSummary(Base):
    """One query shape asked of one dataset: by how many people, how often, first by whom, last when."""

    __tablename__ = "usage_question_summary"
    __table_args__ = (_CLUSTERED,)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(32), primary_key=True)
    people: Mapped[int] = mapped_column(Integer, default=0)
    queries: Mapped[int] = mapped_column(Integer, default=0)
    browse: Mapped[bool] = mapped_column(Boolean, default=False)
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UsageColumn(Base):
    """Reads of one column of a dataset by one person (what a column change would affect)."""

    __tablename__ = "usage_columns"
    __table_args__ = (_CLUSTERED,)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    column: Mapped[str] = mapped_column(String(127), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    queries: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UsagePair(Base):
    """Two datasets one person used together: in the same query, or in the same session."""

    __tablename__ = "usage_pairs"
    __table_args__ = (Index("ix_usage_pairs_b", "dataset_b"), _CLUSTERED)
    dataset_a: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    dataset_b: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    """Always dataset_a < dataset_b."""
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    in_query: Mapped[int] = mapped_column(Integer, default=0)
    in_session: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UsageDatasetWeekly(Base):
    """Reads of one dataset in one week, and how many people read it that week (trends)."""

    __tablename__ = "usage_dataset_weekly"
    __table_args__ = (Index("ix_usage_dataset_weekly_week", "week"), _CLUSTERED)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    week: Mapped[date] = mapped_column(Date, primary_key=True)
    queries: Mapped[int] = mapped_column(Integer, default=0)
    denied: Mapped[int] = mapped_column(Integer, default=0)
    people: Mapped[int] = mapped_column(Integer, default=0)
    domains: Mapped[int] = mapped_column(Integer, default=0)
    """Distinct domains its readers read it from that week."""


class UsageDomainWeekly(Base):
    """Reads of one domain's data by one person in one week (the reuse matrix)."""

    __tablename__ = "usage_domain_weekly"
    __table_args__ = (Index("ix_usage_domain_weekly_week", "week"), _CLUSTERED)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"), primary_key=True)
    week: Mapped[date] = mapped_column(Date, primary_key=True)
    queries: Mapped[int] = mapped_column(Integer, default=0)


class UsageSignals(Base):
    """One dataset's consumption signals over the settings' window, kept current by every refresh
    (the candidates and the producer view read these instead of the weekly rows)."""

    __tablename__ = "usage_signals"
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    since: Mapped[date] = mapped_column(Date)
    """First week of the window the signals were computed for."""
    people: Mapped[int] = mapped_column(Integer, default=0)
    outside_people: Mapped[int] = mapped_column(Integer, default=0)
    domains: Mapped[list[Any]] = mapped_column(default=list)
    """Names of the domains outside the owning one its consumers read it from."""
    repeat: Mapped[int] = mapped_column(Integer, default=0)
    questions: Mapped[int] = mapped_column(Integer, default=0)
    purposes: Mapped[list[Any]] = mapped_column(default=list)
    denied_people: Mapped[int] = mapped_column(Integer, default=0)
    queries: Mapped[int] = mapped_column(Integer, default=0)
    people_ever: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    by_domain: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """{consumer domain: [people, queries]} (members of the owning domain count for it alone)."""
    by_purpose: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """{declared purpose ('' for none): [people, queries]}."""
    top: Mapped[list[Any]] = mapped_column(default=list)
    """[[user id, queries], ...]: its five heaviest readers."""


# --- What people decide -----------------------------------------------------------------------------


class Nomination(Base):
    """Someone asks for a dataset to be considered for promotion, with a reason."""

    __tablename__ = "nominations"
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Candidate(Base):
    """A dataset whose use made it a promotion candidate, and where its review stands."""

    __tablename__ = "candidates"
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    """`open` (waiting for review), `dismissed` (reviewed: not now), `promoted`."""
    score: Mapped[float] = mapped_column(Float, default=0.0)
    """Score when it was detected (the live score is recomputed)."""
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    nominated: Mapped[bool] = mapped_column(Boolean, default=False)
    """Became a candidate through a nomination rather than its score."""
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    review_reason: Mapped[str] = mapped_column(Text, default="")


class OwnerDecision(Base):
    """Ownership proposed to a person, and their answer. In order: a decline moves to the next one."""

    __tablename__ = "owner_decisions"
    __table_args__ = (Index("ix_owner_decisions_dataset", "dataset_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    """The person ownership was proposed to."""
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    """`proposed`, `accepted`, `declined` or `withdrawn` (the product was promoted with someone else)."""
    rank: Mapped[int | None] = mapped_column(Integer, default=None)
    """Their place among the suggestions when it was proposed."""
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    """The evidence that made them a suggestion, as it was then."""
    reason: Mapped[str] = mapped_column(Text, default="")
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class Product(Base):
    """A data product: a dataset (and maybe more, from several domains) with an accountable owner."""

    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), unique=True)
    """The product's main dataset: it names the product (`/products/domain.name`)."""
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    """Written for consumers: what it is, what it is good for, what it is not."""
    version: Mapped[str] = mapped_column(String(40), default="1.0.0")
    """Semantic version: the version of its current contract."""
    freshness_hours: Mapped[int | None] = mapped_column(Integer, default=None)
    """Freshness SLO: the newest data is at most this old."""
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    """`active`, `deprecated` or `retired`."""
    replacement_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"), default=None)
    deprecation_reason: Mapped[str] = mapped_column(Text, default="")
    promoted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deprecated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    visibility_before_retirement: Mapped[str | None] = mapped_column(String(20), default=None)


class ProductDataset(Base):
    """Every dataset a product is made of (the main one included)."""

    __tablename__ = "product_datasets"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Contract(Base):
    """One version of a data contract (ODCS v3 YAML) and its rules, each evaluated by a check of quality's:
    results and status are read from the checks' runs (`quality.contract_runs.results`)."""

    __tablename__ = "contracts"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    """The main dataset of the product it belongs to (or will, when promoted)."""
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), default=None)
    """None: a draft imported before promotion."""
    version: Mapped[str] = mapped_column(String(40))
    document: Mapped[str] = mapped_column(Text)
    """The ODCS YAML exactly as published."""
    rules: Mapped[list[Any]] = mapped_column(default=list)
    """Its rules in the order the contract view lists them (`quality.contract_rules.ContractRule`), each
    naming the check that evaluates it (`check`), or why none does (`status` skipped/error, `note`)."""
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
