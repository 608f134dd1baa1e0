"""Migration 0006 creates exactly the quality tables the models declare, and can be undone and redone."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from threshold.quality import models
from threshold.store.db import Store
from threshold.store.models import Base

QUALITY_TABLES = {
    "quality_checks",
    "quality_check_runs",
    "quality_quarantine",
    "incidents",
    "incident_comments",
    "incident_affected",
}


def test_the_quality_tables_are_the_models_tables() -> None:
    declared = {t.name for t in Base.metadata.sorted_tables if t.name in QUALITY_TABLES}
    mine = {
        m.__tablename__
        for m in (
            models.Check,
            models.CheckRun,
            models.Quarantine,
            models.Incident,
            models.IncidentComment,
            models.IncidentAffected,
        )
    }
    assert declared == mine == QUALITY_TABLES


def test_0006_up_down_and_up_again_without_a_difference(empty_database_url: str) -> None:
    store = Store(empty_database_url)
    try:
        store.migrate("0005")
        assert not QUALITY_TABLES & set(sa.inspect(store.engine).get_table_names())
        store.migrate("0006")
        assert QUALITY_TABLES <= set(sa.inspect(store.engine).get_table_names())
        store.downgrade("0005")
        assert not QUALITY_TABLES & set(sa.inspect(store.engine).get_table_names())
        store.migrate("head")
        with store.engine.connect() as c:
            ctx = MigrationContext.configure(c, opts={"version_table": "threshold_alembic_version"})
            diff = compare_metadata(ctx, Base.metadata)
        assert [d for d in diff if any(t in str(d) for t in QUALITY_TABLES)] == []
    finally:
        store.dispose()
