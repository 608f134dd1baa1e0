"""Tables of literacy (declared on the shared `Base`; migration `literacy`).

- `LearningCompletion`: a person did a task of a track: when, by which platform event, and a reference to
  what they did (a query's datasets, a request, an insight). One row per person and task, whatever the
  number of events that would tick it: the first one counts.
- `Cohort`: people who follow a track together from a start date, created by an organiser.
- `CohortMember`: a person in a cohort.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from threshold.store.models import Base, utcnow


class LearningCompletion(Base):
    __tablename__ = "learning_completions"
    __table_args__ = (
        UniqueConstraint("user_id", "track", "task"),
        Index("ix_learning_completions_at", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    track: Mapped[str] = mapped_column(String(100))
    task: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """When the event that ticked it happened."""
    event: Mapped[str] = mapped_column(String(40))
    """The event's name (`threshold.events`): what the person did."""
    ref: Mapped[str] = mapped_column(String(300), default="")
    """What it was about, as the person may see it: `request 12`, `sales.orders`, `insight 4`."""


class Cohort(Base):
    __tablename__ = "learning_cohorts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    track: Mapped[str] = mapped_column(String(100))
    starts_on: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CohortMember(Base):
    __tablename__ = "learning_cohort_members"
    cohort_id: Mapped[int] = mapped_column(ForeignKey("learning_cohorts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
