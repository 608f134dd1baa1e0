"""Tables of the connectors (migration `source_connections`).

- `SourceConnection`: how to reach a registered source system's database. The URL is kept without its password;
  the password is kept apart, encrypted (`secrets.py`).
- `SourceSync`: one table or query of a connection shared as one dataset: in full or incrementally by a cursor
  column (merged by key), on a schedule or on demand, with the cursor reached by the last committed sync.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from threshold.store.models import Base, utcnow


class SourceConnection(Base):
    __tablename__ = "source_connections"
    id: Mapped[int] = mapped_column(primary_key=True)
    source_system_id: Mapped[int] = mapped_column(ForeignKey("source_systems.id", ondelete="CASCADE"), unique=True)
    dialect: Mapped[str] = mapped_column(String(20))
    """`postgresql`, `mysql`, `mssql`, `sqlite` or `access` (`dialects.py`)."""
    url: Mapped[str] = mapped_column(Text)
    """SQLAlchemy URL without its password (an Access or SQLite file: its path)."""
    secret: Mapped[str | None] = mapped_column(Text, default=None)
    """The password, encrypted under the settings' key (Fernet token); never shown."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SourceSync(Base):
    __tablename__ = "source_syncs"
    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("source_connections.id", ondelete="CASCADE"))
    dataset: Mapped[str] = mapped_column(String(127), unique=True)
    """`domain.name` the sync shares into (one sync per dataset)."""
    table: Mapped[str | None] = mapped_column(String(255), default=None)
    """`table` or `schema.table` at the source; or None with `query`."""
    query: Mapped[str | None] = mapped_column(Text, default=None)
    """A SELECT run at the source instead of a table."""
    mode: Mapped[str] = mapped_column(String(20), default="full")
    """`full` (replace the dataset) or `incremental` (rows past the cursor, merged by `keys`)."""
    cursor_column: Mapped[str | None] = mapped_column(String(255), default=None)
    keys: Mapped[str] = mapped_column(Text, default="")
    """Key columns, comma separated (incremental)."""
    cursor_value: Mapped[str | None] = mapped_column(Text, default=None)
    """JSON `{"type": ..., "value": ...}` of the highest cursor value committed; advanced only after a commit."""
    schedule: Mapped[str | None] = mapped_column(String(100), default=None)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    """The person the sync shares as (who set it up)."""
    last_status: Mapped[str | None] = mapped_column(String(20), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    last_rows: Mapped[int | None] = mapped_column(Integer, default=None)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
