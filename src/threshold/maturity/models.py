"""Metadata tables of the maturity model (declared on the shared `Base`; migration `maturity_model`).

- `TargetPicture`: one version of the target picture (the YAML document in force from `created_at` until the
  next version), who changed it and why. Never edited: a change adds a version.
- `TargetProposal`: a domain proposes its own target ("happy place"); the governance group approves it into a
  new picture version or rejects it.
- `Assessment`: one version of a domain's self-assessment (answers to the picture's questions), who answered, when.
- `Snapshot` / `Score`: the scores of every domain on every dimension at one moment, with the signals behind
  each and the level against the picture in force then. Trends read these rows, never recompute the past.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from threshold.store.models import Base, utcnow


class TargetPicture(Base):
    __tablename__ = "maturity_pictures"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    document: Mapped[str] = mapped_column(Text)
    """The YAML text, validated before it is stored (docs/maturity.md describes the format)."""
    reason: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    proposal_id: Mapped[int | None] = mapped_column(Integer, default=None)
    """The domain proposal this version took in, if any."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class TargetProposal(Base):
    __tablename__ = "maturity_proposals"
    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"), index=True)
    levels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """{dimension or `default`: level} the domain aims for."""
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    """`pending`, `approved` or `rejected`."""
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    decision_note: Mapped[str] = mapped_column(Text, default="")


class Assessment(Base):
    __tablename__ = "maturity_assessments"
    __table_args__ = (UniqueConstraint("domain_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """{question id: answer 0-4}."""
    note: Mapped[str] = mapped_column(Text, default="")
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Snapshot(Base):
    __tablename__ = "maturity_snapshots"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    trigger: Mapped[str] = mapped_column(String(20))
    """`schedule` (the monthly job) or `demand`."""
    picture_version: Mapped[int] = mapped_column(Integer)
    """The target picture in force when it was taken: its levels are against this version."""
    taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)


class Score(Base):
    __tablename__ = "maturity_scores"
    __table_args__ = (Index("ix_maturity_scores_domain", "domain_id", "snapshot_id"),)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("maturity_snapshots.id", ondelete="CASCADE"), primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(40), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    """0-100: the mean of its measured signals' ratios."""
    level: Mapped[int] = mapped_column(Integer)
    """Against the picture in force at the snapshot."""
    target: Mapped[int] = mapped_column(Integer)
    """The domain's target level in that picture."""
    signals: Mapped[list[Any]] = mapped_column(default=list)
    """[{name, label, value, of, ratio, formula, source}]: the numbers behind the score."""
