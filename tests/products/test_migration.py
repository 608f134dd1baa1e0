"""Migration 0005 builds exactly the products tables (and the rollups' trigger), and takes them away again."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from threshold.products import models
from threshold.store.db import Store
from threshold.store.models import Base

TABLES = {
    "usage_rollup_state",
    "usage_weekly",
    "usage_questions",
    "usage_columns",
    "usage_pairs",
    "nominations",
    "candidates",
    "owner_decisions",
    "usage_signals",
    "usage_question_summary",
    "usage_dataset_weekly",
    "usage_domain_weekly",
    "products",
    "product_datasets",
    "contracts",
}


def _triggers(store: Store) -> set[str]:
    with store.engine.connect() as c:
        if store.engine.dialect.name == "postgresql":
            q = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        else:
            q = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        return {r[0] for r in c.execute(sa.text(q))}


def test_upgrade_downgrade_upgrade(empty_database_url: str) -> None:
    store = Store(empty_database_url)
    try:
        store.migrate()
        assert TABLES <= set(sa.inspect(store.engine).get_table_names())
        assert {t.name for t in Base.metadata.sorted_tables if t.name in TABLES} == TABLES
        assert models.Product.__tablename__ in TABLES
        with store.engine.connect() as c:
            ctx = MigrationContext.configure(c, opts={"version_table": "threshold_alembic_version"})
            diff = [
                d
                for d in compare_metadata(ctx, Base.metadata)
                if str(d).find("usage_") >= 0 or any(t in str(d) for t in TABLES)
            ]
        assert diff == []
        assert any(t.startswith("usage_events_rollup_dirty") for t in _triggers(store))
        with store.engine.connect() as c:
            assert c.execute(sa.text("SELECT id, watermark FROM usage_rollup_state")).all() == [(1, 0)]
        store.downgrade("0004")
        assert not TABLES & set(sa.inspect(store.engine).get_table_names())
        assert not any(t.startswith("usage_events_rollup_dirty") for t in _triggers(store))
        store.migrate("head")
        assert TABLES <= set(sa.inspect(store.engine).get_table_names())
    finally:
        store.dispose()
