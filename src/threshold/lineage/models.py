"""Metadata tables of the lineage capability (declared on the shared `Base`; migration 0004).

The graph is small in shape and large in number:
- `LineageNode`: anything data flows through — a lake dataset, an external dataset or job named by
  OpenLineage, a source system, a shared file, an insight.
- `LineageEdge`: table-level flow `src -> dst` (dataset to dataset, or dataset to a consuming job),
  labelled with the job that made it. One edge per pair; both directions are indexed so that a
  traversal step is one index range scan (see `graph.py`).
- `ColumnLineage`: `target.column <- source.column` with the kind of transformation, including the
  columns a query only filters, joins, groups or sorts by (target column NULL: the whole dataset),
  and the columns whose origin could not be resolved (kind `unresolved`, with the reason).
- `Derivation` (+ `DerivationRun`): a dataset computed by SQL through the gateway, refreshed on
  demand or on a schedule; `SourceSystem`: where shared data comes from, with an owner;
  `OpenLineageEvent`: events received (events to send are messages of the one outbox, `jobs.models`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from threshold.store.models import Base, utcnow

NODE_KINDS = ("dataset", "external", "job", "source", "file", "insight")
DIRECT_KINDS = ("identity", "transform", "aggregate")
"""Values flow from the source column into the target column (strongest last)."""
INDIRECT_KINDS = ("filter", "join", "group_by", "sort", "window", "conditional")
"""The source column decides which rows or which values, without flowing into the target."""
COLUMN_KINDS = (*DIRECT_KINDS, *INDIRECT_KINDS, "constant", "unresolved")


class LineageNode(Base):
    """A node of the supply chain. Lake datasets use namespace `threshold`, name `domain.dataset`."""

    __tablename__ = "lineage_nodes"
    __table_args__ = (UniqueConstraint("namespace", "name", name="uq_lineage_nodes_namespace_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    """One of NODE_KINDS."""
    namespace: Mapped[str] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(500))
    dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="SET NULL"), default=None, unique=True
    )
    """The lake dataset this node is (kind `dataset`)."""
    source_system_id: Mapped[int | None] = mapped_column(
        ForeignKey("source_systems.id", ondelete="CASCADE"), default=None, index=True
    )
    owners: Mapped[list[Any]] = mapped_column(default=list)
    """Owners named by OpenLineage ownership facets (external datasets and jobs)."""
    columns: Mapped[list[Any]] = mapped_column(default=list)
    """[{name, type}] of external datasets (OpenLineage schema facet)."""
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Anything else worth showing: job type, producer, SQL, file digest, description."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LineageEdge(Base):
    """Data flows from `src` to `dst` (a dataset, or a job that only consumes)."""

    __tablename__ = "lineage_edges"
    __table_args__ = (
        UniqueConstraint("src_id", "dst_id", name="uq_lineage_edges_src_dst"),
        Index("ix_lineage_edges_dst_src", "dst_id", "src_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    src_id: Mapped[int] = mapped_column(ForeignKey("lineage_nodes.id", ondelete="CASCADE"))
    dst_id: Mapped[int] = mapped_column(ForeignKey("lineage_nodes.id", ondelete="CASCADE"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("lineage_nodes.id", ondelete="SET NULL"), default=None)
    """The job that last moved data along this edge (a derivation's job, an OpenLineage job)."""
    origin: Mapped[str] = mapped_column(String(20))
    """`derivation`, `openlineage`, `share` (file -> dataset) or `source` (source system -> dataset)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ColumnLineage(Base):
    """`target.target_column <- source.source_column`, or an unresolved / constant column."""

    __tablename__ = "column_lineage"
    __table_args__ = (
        Index("ix_column_lineage_target", "target_id", "target_column"),
        Index("ix_column_lineage_source", "source_id", "source_column"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("lineage_nodes.id", ondelete="CASCADE"))
    target_column: Mapped[str | None] = mapped_column(String(255), default=None)
    """None: the source column affects the whole target dataset (a filter, join, grouping...)."""
    source_id: Mapped[int | None] = mapped_column(ForeignKey("lineage_nodes.id", ondelete="CASCADE"), default=None)
    source_column: Mapped[str | None] = mapped_column(String(255), default=None)
    kind: Mapped[str] = mapped_column(String(20))
    """One of COLUMN_KINDS: direct (identity, transform, aggregate), indirect (filter, join, group_by,
    sort, window, conditional), `constant` (computed from no column) or `unresolved`."""
    masking: Mapped[bool] = mapped_column(Boolean, default=False)
    """The transformation hides the input's values (a count): tags are not inherited through it."""
    description: Mapped[str] = mapped_column(Text, default="")
    """The expression (SQL) that computes the column, or why its origin is unresolved."""
    origin: Mapped[str] = mapped_column(String(20))
    """`derivation` or `openlineage`."""
    job_id: Mapped[int | None] = mapped_column(ForeignKey("lineage_nodes.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SourceSystem(Base):
    """A system data is shared from (an ERP, a CRM, a plant's MES), with the person accountable for it."""

    __tablename__ = "source_systems"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    kind: Mapped[str] = mapped_column(String(30), default="application")
    """`database`, `application`, `files`, `api`... (free text, shown)."""
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Derivation(Base):
    """A dataset computed from others by SQL, run through the gateway as its owner."""

    __tablename__ = "derivations"
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), unique=True)
    sql: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    """Whose rights the query runs with, on every refresh (whoever triggers it)."""
    purpose: Mapped[str | None] = mapped_column(String(200), default=None)
    """The purpose declared to the gateway on every run."""
    schedule: Mapped[str | None] = mapped_column(String(50), default=None)
    """`hourly`, `daily`, `weekly`, `every 15 minutes`, `daily at 06:30`...; None: on demand only. When it
    runs next is the jobs core's (`jobs` row of kind `derivation.refresh`)."""
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_snapshot_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    status: Mapped[str] = mapped_column(String(20), default="ok")
    """`ok`, `failed` (the last run failed; the previous snapshot stays published) or `running`."""
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DerivationRun(Base):
    """One run of a derivation: its OpenLineage run id, what triggered it and how it ended."""

    __tablename__ = "derivation_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    derivation_id: Mapped[int] = mapped_column(ForeignKey("derivations.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[str] = mapped_column(String(36), unique=True)
    trigger: Mapped[str] = mapped_column(String(20))
    """`create`, `manual` or `schedule`."""
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    """Who triggered it (None: the scheduler)."""
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    status: Mapped[str] = mapped_column(String(20), default="running")
    snapshot_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    rows: Mapped[int | None] = mapped_column(BigInteger, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)


class OpenLineageEvent(Base):
    """An OpenLineage run event as received at POST /api/v1/lineage (kept whole, for audit and replay)."""

    __tablename__ = "openlineage_events"
    __table_args__ = (Index("ix_openlineage_events_job", "job_namespace", "job_name"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    event_type: Mapped[str] = mapped_column(String(20))
    event_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    job_namespace: Mapped[str] = mapped_column(String(300))
    job_name: Mapped[str] = mapped_column(String(500))
    producer: Mapped[str] = mapped_column(String(500), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
