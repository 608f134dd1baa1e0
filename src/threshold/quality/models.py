"""Metadata tables of the quality capability (declared on the shared `Base`; migration 0006).

- `Check`: a rule on a dataset (kind + options), blocking or not, run on every share and on a schedule;
  added by hand or taken from a product's ODCS contract. Removing one keeps it (inactive) with its history.
- `CheckRun`: one evaluation of one check on one snapshot, with a sample of failing rows as the owner
  saw them (re-masked for every viewer when shown, see `samples.py`).
- `Quarantine`: a file a blocking check rejected, kept under `THRESHOLD_HOME/quarantine` for the owner.
- `Incident` (+ `IncidentComment`, `IncidentAffected`): a data problem, routed upstream to the domain
  that produces the data, with its flow open -> acknowledged -> fixed -> verified.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from threshold.store.models import Base, utcnow

CHECK_SOURCES = ("manual", "contract")
RUN_STATUSES = ("pass", "fail", "error")
TRIGGERS = ("share", "schedule", "manual")
INCIDENT_STATUSES = ("open", "acknowledged", "fixed", "verified")


class Check(Base):
    __tablename__ = "quality_checks"
    __table_args__ = (Index("ix_quality_checks_dataset_active", "dataset_id", "active"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    """What people read in lists: `e_mail is not null`, or the contract rule's name."""
    kind: Mapped[str] = mapped_column(String(30))
    """One of `kinds.KINDS`: not_null, unique, accepted_values, range, regex, row_count, freshness, schema, sql."""
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Kind-specific options, validated when added (columns, values, bounds, pattern, max age, SQL...)."""
    blocking: Mapped[bool] = mapped_column(Boolean, default=False)
    """A failure rejects the share or append that caused it (the file goes to quarantine)."""
    schedule: Mapped[str | None] = mapped_column(String(50), default=None)
    """`hourly`, `daily`, `weekly`, `every 15 minutes`...; None: only on shares and when run by hand. When it
    runs next is the jobs core's (`jobs` row of kind `quality.check`)."""
    source: Mapped[str] = mapped_column(String(20), default="manual")
    """`manual` or `contract` (replaced whenever the contract's checks are synchronised)."""
    contract_ref: Mapped[str | None] = mapped_column(String(200), default=None)
    """Which contract and rule it came from, e.g. `contract 3 (1.2.0) quality q-nulls`."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_status: Mapped[str | None] = mapped_column(String(10), default=None)
    """The status of the newest run (pass, fail, error), kept here for cheap lists."""
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class CheckRun(Base):
    __tablename__ = "quality_check_runs"
    __table_args__ = (
        Index("ix_quality_check_runs_check_at", "check_id", "at"),
        Index("ix_quality_check_runs_dataset_at", "dataset_id", "at"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("quality_checks.id", ondelete="CASCADE"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    snapshot_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    trigger: Mapped[str] = mapped_column(String(20))
    """`share` (the gate of a share or append), `schedule` or `manual`."""
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    """Who caused the run (the sharer, the person who ran it); None: the scheduler."""
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(10))
    """`pass`, `fail` or `error` (the check could not be evaluated; the message says why)."""
    blocking: Mapped[bool] = mapped_column(Boolean, default=False)
    """Whether the check was blocking when it ran (the quality score weighs by it)."""
    rejected: Mapped[bool] = mapped_column(Boolean, default=False)
    """The snapshot it ran on was never published (a blocking check rejected the share)."""
    failing: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """Failing rows (row checks), problems (schema); None for checks that measure a value."""
    checked: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """Rows evaluated (the appended rows only, for a row check at an append)."""
    metric: Mapped[float | None] = mapped_column(Float, default=None)
    """The measured value: row count, age in seconds, the value a SQL assertion returned."""
    message: Mapped[str] = mapped_column(Text, default="")
    sample: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """{columns: [{name, type}], rows: [[text or null, ...]]}: failing rows as the owner read them."""
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Scope (`whole dataset` or `appended rows`), the baseline an append was compared with, bounds."""
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)


class Quarantine(Base):
    """A rejected file, kept for the owner: nothing a blocking check refuses is lost."""

    __tablename__ = "quality_quarantine"
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(1000))
    """Folder under the home's `quarantine/` holding the kept file(s), relative to the home."""
    file_name: Mapped[str] = mapped_column(String(500))
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    mode: Mapped[str] = mapped_column(String(20))
    """The share mode that was refused (`append` or `replace`)."""
    snapshot_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """The snapshot that was committed, checked and rolled back."""
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")
    run_ids: Mapped[list[Any]] = mapped_column(default=list)
    """The check runs that rejected it."""
    status: Mapped[str] = mapped_column(String(20), default="held")
    """`held`, or `released` (an owner shared it anyway)."""
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_routed_domain_status", "routed_domain_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    """`check` (a failed check opened it) or `report` (a person reported it)."""
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    """Where the problem was seen."""
    column_name: Mapped[str | None] = mapped_column(String(255), default=None)
    insight: Mapped[str | None] = mapped_column(String(200), default=None)
    """The insight it was seen in, when reported on one."""
    query: Mapped[str] = mapped_column(Text, default="")
    """The reporter's query that shows it, as written; shown only to people who may read what it reads."""
    check_id: Mapped[int | None] = mapped_column(ForeignKey("quality_checks.id", ondelete="SET NULL"), default=None)
    check_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("quality_check_runs.id", ondelete="SET NULL"), default=None
    )
    routed_dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"), default=None)
    """The upstream dataset that produces the problem data (lineage), or the dataset itself."""
    routed_column: Mapped[str | None] = mapped_column(String(255), default=None)
    routed_domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"))
    routing: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """{method: lineage | own-domain | rerouted, reason: one sentence, path: [{dataset, column, kind}]}."""
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    status: Mapped[str] = mapped_column(String(20), default="open")
    """`open`, `acknowledged`, `fixed` or `verified`."""
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    """How often its check failed while it was open."""
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    fixed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    fixed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    verified_via: Mapped[str | None] = mapped_column(String(20), default=None)
    """`reporter`, `check` (a passing run of its check) or `admin`."""
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IncidentComment(Base):
    """A comment, or an event of the incident's timeline (`event` set, e.g. `acknowledged`)."""

    __tablename__ = "incident_comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    """None: Threshold itself (a check run)."""
    event: Mapped[str | None] = mapped_column(String(30), default=None)
    body: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IncidentAffected(Base):
    """A dataset the incident touches, and who was told about it."""

    __tablename__ = "incident_affected"
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    relation: Mapped[str] = mapped_column(String(20))
    """`routed` (where it is fixed), `seen` (where it was noticed) or `downstream` (built on the routed one)."""
    level: Mapped[int] = mapped_column(Integer, default=0)
    """Lineage levels below the routed dataset (0 for routed and seen)."""
    told: Mapped[list[Any]] = mapped_column(default=list)
    """Names of the people told because of this dataset (owners and recent consumers)."""
