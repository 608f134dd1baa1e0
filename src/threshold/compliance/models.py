"""Metadata tables of compliance (declared on the shared `Base`; migration `compliance_register`).

- `RegisterEntry`: the collection register's record of one dataset (purpose, legal basis, subjects,
  retention and the date column it runs from, source system, controller's contact).
- `RegisterChange`: one change to an entry (who, when, each field's old and new value).
- `RetentionRun`: one execution of a dataset's retention (or a notice given ahead of one): counts, never values.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from threshold.store.models import Base, utcnow


class RegisterEntry(Base):
    __tablename__ = "collection_register"
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), unique=True)
    purpose: Mapped[str] = mapped_column(Text, default="")
    """Why the data was collected."""
    legal_basis: Mapped[str | None] = mapped_column(String(40), default=None)
    """A `LegalBasis` value (GDPR Art. 6(1))."""
    special_condition: Mapped[str | None] = mapped_column(String(40), default=None)
    """A `SpecialCondition` value (Art. 9(2)), for special categories of data."""
    subjects: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """Categories of data subjects (customers, employees ...)."""
    retention: Mapped[str | None] = mapped_column(String(20), default=None)
    """The period as written (`2y`)."""
    retention_days: Mapped[int | None] = mapped_column(Integer, default=None)
    retention_column: Mapped[str | None] = mapped_column(String(127), default=None)
    """The date column the period runs from."""
    source_system: Mapped[str] = mapped_column(String(200), default="")
    controller: Mapped[str] = mapped_column(String(320), default="")
    """The controller's contact (the data protection officer's address)."""
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RegisterChange(Base):
    __tablename__ = "collection_register_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """{field: [old, new]}."""
    note: Mapped[str] = mapped_column(Text, default="")
    """`recorded at share`, `edited` ..."""


class RetentionRun(Base):
    __tablename__ = "retention_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    """`run` (rows removed) or `notice` (owners told ahead)."""
    ran_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    cutoff: Mapped[date] = mapped_column(Date)
    """Rows whose retention column is before this day are (or will be) removed."""
    rows_removed: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_left: Mapped[int] = mapped_column(BigInteger, default=0)
    snapshot_before: Mapped[int | None] = mapped_column(BigInteger, default=None)
    snapshot_after: Mapped[int | None] = mapped_column(BigInteger, default=None)
    snapshots_expired: Mapped[int] = mapped_column(Integer, default=0)
    files_removed: Mapped[int] = mapped_column(Integer, default=0)
