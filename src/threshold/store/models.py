"""The metadata model. Every change here comes with an Alembic migration in `migrations/versions`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Domain(Base):
    __tablename__ = "domains"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    default_visibility: Mapped[str] = mapped_column(String(20), default="open", server_default="open")
    """`open`, `on-request` or `restricted`; a dataset may override it."""
    webhook_url: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="domain", cascade="all, delete-orphan")
    datasets: Mapped[list[Dataset]] = relationship(back_populates="domain")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_governance: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    """Member of the governance group: sets global guardrails, reads the whole audit log."""
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Reader attributes policies may use later (region, cost centre...)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", cascade="all, delete-orphan")


class Membership(Base):
    __tablename__ = "memberships"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), default="member")
    """`owner` or `member`."""

    user: Mapped[User] = relationship(back_populates="memberships")
    domain: Mapped[Domain] = relationship(back_populates="memberships")


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 of the token; the token itself is shown once and never stored."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class Dataset(Base):
    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("domain_id", "name"), Index("ix_datasets_name", "name"))
    """`name` indexed alone too: search puts a dataset named exactly what was typed first, in any domain."""
    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id"), index=True)
    name: Mapped[str] = mapped_column(String(63))
    full_name: Mapped[str] = mapped_column(String(127), unique=True)
    """`domain.name`, the name people use in SQL."""
    title: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    purpose: Mapped[str] = mapped_column(Text, default="")
    """Why the data was collected (free text)."""
    stage: Mapped[str] = mapped_column(String(20), default="shared")
    visibility: Mapped[str | None] = mapped_column(String(20), default=None)
    """None: the domain's default visibility."""
    allowed_purposes: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    """Purposes this dataset may be read for; empty: any declared purpose."""
    snapshot_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """The published Iceberg snapshot. Readers read exactly this one, so a commit that was never
    recorded here (a share killed half-way) is invisible and rolled back by the next writer."""
    row_count: Mapped[int] = mapped_column(BigInteger, default=0)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    domain: Mapped[Domain] = relationship(back_populates="datasets")
    created_by: Mapped[User | None] = relationship()
    columns: Mapped[list[Column]] = relationship(
        back_populates="dataset", cascade="all, delete-orphan", order_by="Column.position"
    )
    tags: Mapped[list[Tag]] = relationship(
        back_populates="dataset", cascade="all, delete-orphan", foreign_keys="Tag.dataset_id"
    )
    shares: Mapped[list[Share]] = relationship(
        back_populates="dataset", cascade="all, delete-orphan", order_by="Share.id"
    )


class Column(Base):
    __tablename__ = "columns"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(127))
    label: Mapped[str] = mapped_column(String(500), default="")
    """The column's name as it was in the source."""
    type: Mapped[str] = mapped_column(String(200))
    field_id: Mapped[int] = mapped_column(Integer)
    nullable: Mapped[bool] = mapped_column(Boolean, default=True)
    null_fraction: Mapped[float | None] = mapped_column(Float, default=None)
    distinct_estimate: Mapped[int | None] = mapped_column(BigInteger, default=None)
    min_value: Mapped[str | None] = mapped_column(Text, default=None)
    max_value: Mapped[str | None] = mapped_column(Text, default=None)
    top_values: Mapped[list[Any]] = mapped_column(default=list)
    """[[value, count], ...] from a sample; hidden from readers who may not see raw values."""

    dataset: Mapped[Dataset] = relationship(back_populates="columns")


class Tag(Base):
    __tablename__ = "tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    column_name: Mapped[str | None] = mapped_column(String(127), default=None)
    """None: the tag is on the dataset."""
    tag: Mapped[str] = mapped_column(String(100), index=True)
    origin: Mapped[str] = mapped_column(String(20), default="detected")
    """`detected` at share time, or `manual`."""
    confidence: Mapped[float | None] = mapped_column(Float, default=None)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    scope_domain_id: Mapped[int | None] = mapped_column(ForeignKey("domains.id", ondelete="SET NULL"), default=None)
    """Where the column's values come from, when not from this dataset (a tag inherited through lineage
    from a column read in clear): the origin's domain. None: this dataset's own domain."""
    scope_dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"), default=None)
    """The origin dataset (a grant on it may lift the guardrail). None: this dataset."""
    scope_grant_id: Mapped[int | None] = mapped_column(ForeignKey("grants.id", ondelete="SET NULL"), default=None)
    """The grant the values were read under, when a grantee derived them."""

    dataset: Mapped[Dataset] = relationship(back_populates="tags", foreign_keys=[dataset_id])


class Share(Base):
    """One share = one Iceberg commit (one snapshot) on a dataset."""

    __tablename__ = "shares"
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    snapshot_id: Mapped[int] = mapped_column(BigInteger)
    mode: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    rows_added: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_total: Mapped[int] = mapped_column(BigInteger, default=0)
    source_name: Mapped[str] = mapped_column(String(500), default="")
    source_format: Mapped[str] = mapped_column(String(20), default="")
    source_size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    source_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    notes: Mapped[list[Any]] = mapped_column(default=list)
    column_tags: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    """{column: [tags]} as they were when this snapshot was published: time travel masks by them."""
    column_scopes: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    """{column: [[tag, origin domain id, origin dataset id, grant id]]} for tags whose values came from
    elsewhere (lineage), as they were when this snapshot was published."""

    dataset: Mapped[Dataset] = relationship(back_populates="shares")
    user: Mapped[User | None] = relationship()


class UsageEvent(Base):
    """One governed read, recorded by the gateway. Query text is kept with literals stripped."""

    __tablename__ = "usage_events"
    __table_args__ = (Index("ix_usage_events_user_at", "user_id", "at"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    interface: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str | None] = mapped_column(String(200), default=None)
    fingerprint: Mapped[str] = mapped_column(String(32), index=True)
    query_text: Mapped[str] = mapped_column(Text, default="")
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(20), default="ok")
    """`ok`, `error` (the query failed) or `denied`."""
    error: Mapped[str | None] = mapped_column(Text, default=None)
    kind: Mapped[str] = mapped_column(String(20), default="consumption", server_default="consumption")
    """What the read was: `consumption` (a person used the data: queries, explored questions, insights
    viewed or rerun), `browse` (looked at a dataset page's preview: governed and audited, not use) or
    `platform` (the platform's own reads: quality and contract checks)."""
    engine: Mapped[str] = mapped_column(String(20), default="duckdb", server_default="duckdb")
    """The engine that answered: `duckdb`, or `daft` (a big query, or one its person sent there)."""


class UsageRead(Base):
    """Which dataset (and columns) one usage event read."""

    __tablename__ = "usage_reads"
    __table_args__ = (Index("ix_usage_reads_dataset_event", "dataset_id", "event_id"),)
    event_id: Mapped[int] = mapped_column(ForeignKey("usage_events.id", ondelete="CASCADE"), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    columns: Mapped[list[Any]] = mapped_column(default=list)
    snapshot_id: Mapped[int | None] = mapped_column(BigInteger, default=None)


class Policy(Base):
    """One version of a policy rule. Changing a rule adds a version; old versions stay for history."""

    __tablename__ = "policies"
    __table_args__ = (Index("ix_policies_scope_active", "scope", "active"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(150), index=True)
    """Stable id people see in explanations: `guardrail.personal-data` or `manufacturing.mask-emails`."""
    scope: Mapped[str] = mapped_column(String(20))
    """`global` (governance group) or `domain`."""
    domain_id: Mapped[int | None] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"), default=None)
    kind: Mapped[str] = mapped_column(String(30))
    """`mask`, `row_filter`, `auto_approve` or `deny_purpose`."""
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AccessRequest(Base):
    __tablename__ = "access_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    columns: Mapped[list[Any]] = mapped_column(default=list)
    """Columns asked for; empty: the whole dataset."""
    purpose: Mapped[str] = mapped_column(String(200))
    days: Mapped[int] = mapped_column(Integer, default=90)
    justification: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    """`pending`, `approved`, `denied` or `withdrawn`."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    auto_rule: Mapped[str | None] = mapped_column(String(150), default=None)


class Grant(Base):
    """Who may read what, for which purposes, until when."""

    __tablename__ = "grants"
    __table_args__ = (Index("ix_grants_user_dataset", "user_id", "dataset_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("access_requests.id"), default=None)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    purposes: Mapped[list[Any]] = mapped_column(default=list)
    columns: Mapped[list[Any]] = mapped_column(default=list)
    allows_personal: Mapped[bool] = mapped_column(Boolean, default=False)
    """The approved purpose allows personal data: the personal-data guardrail does not mask for it."""
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class AuditEntry(Base):
    """Append-only record of every authorisation decision and governance change."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_dataset_at", "dataset_id", "at"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    action: Mapped[str] = mapped_column(String(40), index=True)
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"), default=None)
    purpose: Mapped[str | None] = mapped_column(String(200), default=None)
    rules: Mapped[list[Any]] = mapped_column(default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Maintenance(Base):
    """One maintenance operation on a dataset's lake table: compaction, snapshot expiry, repair, clean-up.

    Maintenance that publishes a snapshot (compaction, repair) is part of the dataset's history: time
    travel reads it like a share's snapshot (`published_snapshots`), but it is no new data, so
    freshness and "who shares this" keep looking at shares only."""

    __tablename__ = "dataset_maintenance"
    __table_args__ = (Index("ix_dataset_maintenance_dataset_at", "dataset_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    """`compact`, `expire`, `rollback` (repair to the last readable snapshot), `drop-lost` (repair
    without a lost file's rows) or `cleanup` (an abandoned write removed)."""
    snapshot_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """The snapshot it published (compact, rollback, drop-lost); None when the data did not change."""
    previous_snapshot_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    rows_before: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_after: Mapped[int] = mapped_column(BigInteger, default=0)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Files and bytes before and after, snapshots expired, lost files and their rows..."""

    user: Mapped[User | None] = relationship()


class HomeIdentity(Base):
    """The one row naming this home. The same id is stamped in the warehouse (`.threshold-home`), so a
    home never writes into a warehouse that is not its own (`threshold.home`)."""

    __tablename__ = "home_identity"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    restored_from: Mapped[str | None] = mapped_column(String(36), default=None)
    """The id of the home whose backup this one was restored from."""
    warehouse: Mapped[str | None] = mapped_column(Text, default=None)
    """URI of the warehouse this store last claimed (to tell a copy of the store from a move)."""
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class SearchDocument(Base):
    """A dataset's searchable text, one row per dataset, rewritten in the transaction that changes the
    dataset, its columns or tags (`store/search_index.py`). The engine's own indexes sit on it: SQLite
    FTS5 tables (porter and trigram) beside it, PostgreSQL GIN indexes (full text and pg_trgm) on it."""

    __tablename__ = "search_documents"
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    names: Mapped[str] = mapped_column(Text, default="")
    """Full name and name with separators as spaces, title, domain name and title."""
    columns: Mapped[str] = mapped_column(Text, default="")
    """Column names (separators as spaces) and labels."""
    tags: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    """Description and purpose."""


class SearchTerm(Base):
    """Every word in the search documents, and its one-letter deletions: what a misspelt word is
    corrected against (a deletion shared by the typed word and a term = one edit apart)."""

    __tablename__ = "search_terms"
    variant: Mapped[str] = mapped_column(String(127), primary_key=True)
    term: Mapped[str] = mapped_column(String(127), primary_key=True)


class MetadataVersion(Base):
    """One row whose `version` changes in every transaction that changes what resolving and deciding a read
    depends on (maintained by triggers, migration `gateway_fast_path`; read by `Store.metadata_version`)."""

    __tablename__ = "metadata_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
