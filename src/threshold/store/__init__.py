"""Metadata store: SQLAlchemy models, engine/session, Alembic migrations."""

from threshold.store.db import Store

__all__ = ["Store"]
