"""Metadata tables of the quality capability (declared on the shared `Base`; migrations in store/migrations)."""

from __future__ import annotations

from threshold.store.models import Base  # noqa: F401
