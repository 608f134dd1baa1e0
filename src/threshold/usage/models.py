"""Tables of the usage capability beside the usage log itself (migration `usage_journal`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from threshold.store.models import Base, utcnow


class JournalSegment(Base):
    """A journal segment whose events are in the usage log (`usage.journal`): written in the same transaction
    as its events, so a segment left behind by a killed process is replayed exactly once."""

    __tablename__ = "usage_journal_segments"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
