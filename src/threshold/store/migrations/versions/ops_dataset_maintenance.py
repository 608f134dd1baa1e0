"""dataset maintenance: compaction, snapshot expiry, repair and clean-up, in each dataset's history

Revision ID: ops_dataset_maintenance
Revises: ops_home_identity
"""

import sqlalchemy as sa
from alembic import op

revision = "ops_dataset_maintenance"
down_revision = "ops_home_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dataset_maintenance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("snapshot_id", sa.BigInteger(), nullable=True),
        sa.Column("previous_snapshot_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows_before", sa.BigInteger(), nullable=False),
        sa.Column("rows_after", sa.BigInteger(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dataset_maintenance_dataset_at", "dataset_maintenance", ["dataset_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_dataset_maintenance_dataset_at", table_name="dataset_maintenance")
    op.drop_table("dataset_maintenance")
