"""home identity: the id stamped in both the metadata store and the warehouse

Revision ID: ops_home_identity
Revises: limits_sign_in_failures
"""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "ops_home_identity"
down_revision = "quality_one_check_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "home_identity",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("restored_from", sa.String(length=36), nullable=True),
        sa.Column("warehouse", sa.Text(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    # Every store gets its id here, an existing one too; its warehouse is claimed by `threshold init`.
    op.bulk_insert(table, [{"id": str(uuid.uuid4()), "created_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table("home_identity")
