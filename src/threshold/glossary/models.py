"""Metadata tables of the glossary (declared on the shared `Base`; migration `glossary`).

- `GlossaryTerm`: one word or phrase of the organisation's vocabulary, owned by a domain; what it says is in
  its revisions, the one in force being its (single) `approved` revision.
- `GlossaryRevision`: one proposed text of a term (title, definition, synonyms), never edited after review:
  `draft` (its author still writes), `in_review`, then `approved` or `rejected`; an approval makes the
  previously approved revision `superseded`. A rejected edit leaves the approved text in force.
- `GlossaryLink`: the term names a dataset, one of its columns, or an insight.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from threshold.store.models import Base, utcnow

STATUSES = ("draft", "in_review", "approved", "rejected", "superseded")
OPEN = ("draft", "in_review")
"""A revision still being written or waiting for its review: at most one per term."""
LINK_KINDS = ("dataset", "column", "insight")


class GlossaryTerm(Base):
    __tablename__ = "glossary_terms"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    """The term folded to lower-case words joined by single spaces: "Scrap rate" and "scrap  RATE" are one."""
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id"), index=True)
    """The owning domain: its owners review the term's revisions (with the governance group)."""
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GlossaryRevision(Base):
    __tablename__ = "glossary_revisions"
    __table_args__ = (UniqueConstraint("term_id", "number"), Index("ix_glossary_revisions_status", "status"))
    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("glossary_terms.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    """The term as people write it ("Scrap rate")."""
    definition: Mapped[str] = mapped_column(Text)
    synonyms: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """Other words for the same thing ("Ausschussquote", "reject rate"): search finds the term's datasets by them."""
    status: Mapped[str] = mapped_column(String(20))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    """Why the author proposes it."""
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    review_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class GlossaryLink(Base):
    __tablename__ = "glossary_links"
    __table_args__ = (UniqueConstraint("term_id", "kind", "dataset_id", "column_name", "insight_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("glossary_terms.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), default=None, index=True
    )
    column_name: Mapped[str | None] = mapped_column(String(200), default=None)
    insight_id: Mapped[int | None] = mapped_column(ForeignKey("insights.id", ondelete="CASCADE"), default=None)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
