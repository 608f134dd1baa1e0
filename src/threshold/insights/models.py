"""Metadata tables of the insights capability (declared on the shared `Base`; migration `insights`).

- `Insight`: a saved question with its owner, home domain, audience, purpose and schedule; what it says
  (title, narrative, query, parameters, chart) is in its versions, the newest being `version`.
- `InsightVersion`: one saved state, never changed (history, diff, the version a run computed).
- `InsightInput`: a dataset the current version reads and the snapshot its last run read (staleness,
  "N insights built on this", search).
- `InsightRun`: one computation of an insight (a view that missed the cache, a rerun, a scheduled run).
- `InsightResult`: a result kept for reuse, under the gateway's read key (one per decision, never shown
  to a reader of another decision), with its charts rendered once.
- `InsightNotice`: why an insight may be stale, as events told it (an input's schema changed).
- `InsightSubscription`, `InsightComment`, `InsightView`: who is told, what was said, who looked.
- `Board` + `BoardItem`: an ordered collection of insights with one shared parameter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from threshold.store.models import Base, utcnow

AUDIENCES = ("everyone", "domain", "private")
"""Who may find an insight: everyone who may know its datasets, its home domain's members, its owner."""


class Insight(Base):
    __tablename__ = "insights"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    """Whose rights scheduled reruns use, and who may edit it (with its home domain's owners)."""
    domain_id: Mapped[int | None] = mapped_column(ForeignKey("domains.id", ondelete="SET NULL"), default=None)
    """Home domain: whose webhook hears of it, whose owners may edit it."""
    audience: Mapped[str] = mapped_column(String(20), default="everyone")
    purpose: Mapped[str] = mapped_column(String(200), default="")
    """Declared to the gateway by every read of it (views, reruns): what its use is counted for."""
    version: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(200))
    """The current version's title (kept here for listings and search)."""
    forked_from_id: Mapped[int | None] = mapped_column(ForeignKey("insights.id", ondelete="SET NULL"), default=None)
    forked_from_version: Mapped[int | None] = mapped_column(Integer, default=None)
    schedule: Mapped[str | None] = mapped_column(String(100), default=None)
    """The jobs core's grammar (`daily`, `weekly`, `daily at 06:30`, cron); None: on demand."""
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_status: Mapped[str | None] = mapped_column(String(20), default=None)
    """`ok` or `failed` (the owner's last computation)."""
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    last_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    """Digest of the owner's last result: a rerun with another digest changed the numbers."""
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InsightVersion(Base):
    __tablename__ = "insight_versions"
    __table_args__ = (UniqueConstraint("insight_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    insight_id: Mapped[int] = mapped_column(ForeignKey("insights.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    narrative: Mapped[str] = mapped_column(Text, default="")
    """Markdown, rendered with raw HTML escaped."""
    sql: Mapped[str] = mapped_column(Text)
    """Gateway SQL with `:name` placeholders for the parameters."""
    explore: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    """The explore spec the SQL was generated from (None: written as SQL)."""
    parameters: Mapped[list[Any]] = mapped_column(default=list)
    """[{name, type, label, default, choices}]."""
    chart: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """{kind, x, y, color, title, x_title, y_title}; kind `auto` chooses from the result's types."""
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    note: Mapped[str] = mapped_column(String(300), default="")
    """What changed, in the author's words."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InsightInput(Base):
    __tablename__ = "insight_inputs"
    __table_args__ = (Index("ix_insight_inputs_dataset", "dataset_id"),)
    insight_id: Mapped[int] = mapped_column(ForeignKey("insights.id", ondelete="CASCADE"), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    columns: Mapped[list[Any]] = mapped_column(default=list)
    snapshot_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """The snapshot the last run read (None: never run)."""


class InsightRun(Base):
    __tablename__ = "insight_runs"
    __table_args__ = (Index("ix_insight_runs_insight_at", "insight_id", "at"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    insight_id: Mapped[int] = mapped_column(ForeignKey("insights.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    trigger: Mapped[str] = mapped_column(String(20))
    """`view` (a reader's first look under their decision), `rerun` (asked for) or `schedule`."""
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20))
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_ms: Mapped[float] = mapped_column(default=0.0)
    snapshots: Mapped[dict[str, Any]] = mapped_column(default=dict)
    digest: Mapped[str | None] = mapped_column(String(64), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)


class InsightResult(Base):
    __tablename__ = "insight_results"
    __table_args__ = (Index("ix_insight_results_insight", "insight_id", "created_at"),)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    """sha256 of (insight, version, parameter values, the gateway's read key)."""
    insight_id: Mapped[int] = mapped_column(ForeignKey("insights.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    arrow: Mapped[bytes] = mapped_column(LargeBinary)
    """The result as an Arrow IPC stream (zstd)."""
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    truncated: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[list[Any]] = mapped_column(default=list)
    snapshots: Mapped[dict[str, Any]] = mapped_column(default=dict)
    digest: Mapped[str] = mapped_column(String(64))
    duration_ms: Mapped[float] = mapped_column(default=0.0)
    charts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """{chart key: SVG} rendered once per result."""


class InsightNotice(Base):
    __tablename__ = "insight_notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    insight_id: Mapped[int] = mapped_column(ForeignKey("insights.id", ondelete="CASCADE"), index=True)
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), default=None)
    kind: Mapped[str] = mapped_column(String(30))
    """`schema_changed`."""
    detail: Mapped[str] = mapped_column(Text, default="")
    breaking: Mapped[bool] = mapped_column(default=False)
    """The change touches a column the insight reads."""
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InsightSubscription(Base):
    __tablename__ = "insight_subscriptions"
    insight_id: Mapped[int] = mapped_column(ForeignKey("insights.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InsightComment(Base):
    __tablename__ = "insight_comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    insight_id: Mapped[int] = mapped_column(ForeignKey("insights.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InsightView(Base):
    """Who looked at an insight: distinct viewers per insight (producers see "N insights with M viewers")."""

    __tablename__ = "insight_views"
    insight_id: Mapped[int] = mapped_column(ForeignKey("insights.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    views: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Board(Base):
    __tablename__ = "boards"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    domain_id: Mapped[int | None] = mapped_column(ForeignKey("domains.id", ondelete="SET NULL"), default=None)
    topic: Mapped[str] = mapped_column(String(100), default="")
    parameter: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    """The shared parameter {name, type, label, default, choices}, passed to every insight that has it."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BoardItem(Base):
    __tablename__ = "board_items"
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), primary_key=True)
    insight_id: Mapped[int] = mapped_column(ForeignKey("insights.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class InsightSearchDocument(Base):
    """An insight's searchable text (its current title and narrative), rewritten with every new version and
    dropped when it is archived (`insights/search.py`). The engine's own indexes sit on it, as on the
    datasets' documents: SQLite FTS5 tables `insight_fts` (porter) and `insight_trigram` beside it,
    PostgreSQL stored vectors with GIN indexes (full text and pg_trgm) on it."""

    __tablename__ = "insight_search_documents"
    insight_id: Mapped[int] = mapped_column(ForeignKey("insights.id", ondelete="CASCADE"), primary_key=True)
    names: Mapped[str] = mapped_column(Text, default="")
    """The title."""
    description: Mapped[str] = mapped_column(Text, default="")
    """The narrative."""
