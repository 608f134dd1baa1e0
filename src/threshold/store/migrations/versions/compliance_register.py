"""compliance_register: the collection register, its change history and retention runs

Revision ID: compliance_register
Revises: insight_search
"""

import sqlalchemy as sa
from alembic import op

revision = "compliance_register"
down_revision = "insight_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collection_register",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.String(length=40), nullable=True),
        sa.Column("special_condition", sa.String(length=40), nullable=True),
        sa.Column("subjects", sa.JSON(), nullable=False),
        sa.Column("retention", sa.String(length=20), nullable=True),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("retention_column", sa.String(length=127), nullable=True),
        sa.Column("source_system", sa.String(length=200), nullable=False),
        sa.Column("controller", sa.String(length=320), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dataset_id"),
    )
    op.create_table(
        "collection_register_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("collection_register_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_collection_register_changes_dataset_id"), ["dataset_id"], unique=False)
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cutoff", sa.Date(), nullable=False),
        sa.Column("rows_removed", sa.BigInteger(), nullable=False),
        sa.Column("rows_left", sa.BigInteger(), nullable=False),
        sa.Column("snapshot_before", sa.BigInteger(), nullable=True),
        sa.Column("snapshot_after", sa.BigInteger(), nullable=True),
        sa.Column("snapshots_expired", sa.Integer(), nullable=False),
        sa.Column("files_removed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("retention_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retention_runs_dataset_id"), ["dataset_id"], unique=False)


def downgrade() -> None:
    op.drop_table("retention_runs")
    op.drop_table("collection_register_changes")
    op.drop_table("collection_register")
