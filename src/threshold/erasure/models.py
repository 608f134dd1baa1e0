"""Metadata tables of erasure (declared on the shared `Base`; migration `erasure_certificates`).

- `ErasureCertificate`: one erasure of one or more data subjects: what was searched, where rows were found
  and removed (dataset, snapshots before and after, rows, bytes rewritten), how it was verified and by
  whom. The subject's identifier is kept only as a keyed hash (HMAC-SHA256, `ErasureSettings.key`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from threshold.store.models import Base, utcnow

STATUSES = ("running", "completed", "incomplete", "failed")
"""`running`; `completed` (erased and verified everywhere); `incomplete` (stopped between tables: the
certificate names the tables that remain); `failed` (a value was still found somewhere: where is said)."""


class ErasureCertificate(Base):
    __tablename__ = "erasure_certificates"
    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="running", index=True)
    subjects: Mapped[list[Any]] = mapped_column(default=list)
    """[{tag, hash}]: the hash is HMAC-SHA256(key, tag + "=" + value), hex."""
    searched: Mapped[list[Any]] = mapped_column(default=list)
    """Every dataset searched: [{dataset, columns, via, rows}] (rows 0: searched, nothing found)."""
    tables: Mapped[list[Any]] = mapped_column(default=list)
    """Every dataset erased or still to erase: [{dataset, rows_removed, snapshot_before, snapshot_after,
    expired, bytes_rewritten, files_removed, bytes_removed, done}]."""
    verification: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """{checked: [what was decoded], found: [where a value remained], cleared: [copies removed]}."""
    error: Mapped[str | None] = mapped_column(Text, default=None)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
