"""usage: the engine that answered each usage event (`duckdb`, or `daft` for big queries on Ray)

Revision ID: usage_event_engine
Revises: source_connections

Every event before this one was answered by DuckDB, the only engine there was: the column's default says so.
"""

import sqlalchemy as sa
from alembic import op

revision = "usage_event_engine"
down_revision = "source_connections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "usage_events",
        sa.Column("engine", sa.String(length=20), server_default="duckdb", nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("usage_events") as batch:
        batch.drop_column("engine")
