"""The jobs core's tables: scheduled jobs, their run history, and the outbox of everything sent outside."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from threshold.store.models import Base, utcnow


class Job(Base):
    """One job a capability declared: a kind (`derivation.refresh`) and a key (`sales.worst_plant`), with
    its schedule, when it runs next, who holds it now, and how its last run went."""

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_jobs_kind_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    key: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(300), default="")
    """What the job works on, as people read it (usually a dataset)."""
    schedule: Mapped[str | None] = mapped_column(String(50), default=None)
    """In the one schedule grammar (`jobs.schedule`); None: it runs only when asked."""
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Failed runs in a row since the last success (drives the retry backoff)."""
    claimed_by: Mapped[str | None] = mapped_column(String(100), default=None)
    """The worker running it now (a compare-and-set claim); None: nobody."""
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    """A claim not finished by then is taken over (its worker died)."""
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_status: Mapped[str | None] = mapped_column(String(20), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class JobRun(Base):
    """One run of a job (the history shown by `threshold jobs history` and the jobs page)."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_kind_key", "kind", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), default=None, index=True)
    kind: Mapped[str] = mapped_column(String(60))
    key: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(300), default="")
    trigger: Mapped[str] = mapped_column(String(20))
    """`schedule`, `retry` or `manual`."""
    worker: Mapped[str] = mapped_column(String(100), default="")
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    status: Mapped[str] = mapped_column(String(20), default="ok")
    """`ok`, `failed` or `skipped` (the kind had nothing to do, e.g. a dataset not published yet)."""
    error: Mapped[str | None] = mapped_column(Text, default=None)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OutboxMessage(Base):
    """One message to send outside (a webhook call, an OpenLineage event, later mail), written in the
    transaction of the change it tells about, then delivered with retries; never dropped silently."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_channel_status", "channel", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(30))
    """A declared channel (`webhook`, `openlineage`): who knows how to send it."""
    topic: Mapped[str] = mapped_column(String(100), default="")
    """What it is about: the webhook event (`schema.changed`), the OpenLineage event type."""
    scope: Mapped[str | None] = mapped_column(String(100), default=None, index=True)
    """Whose it is: the domain of a webhook."""
    destination: Mapped[str | None] = mapped_column(String(500), default=None)
    """Where it goes (a URL), fixed when it is written."""
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    """`pending`, `sending` (claimed), `delivered`, or `failed` (every attempt failed; can be retried)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    """A `sending` message not finished by then is taken over."""
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
