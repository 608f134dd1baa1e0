"""literacy: learning completions (ticked by events), cohorts and their members

Revision ID: literacy
Revises: erasure_certificates
"""

import sqlalchemy as sa
from alembic import op

revision = "literacy"
down_revision = "erasure_certificates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learning_completions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("track", sa.String(length=100), nullable=False),
        sa.Column("task", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("ref", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "track", "task"),
    )
    with op.batch_alter_table("learning_completions", schema=None) as batch_op:
        batch_op.create_index("ix_learning_completions_at", ["at"], unique=False)
    op.create_table(
        "learning_cohorts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("track", sa.String(length=100), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "learning_cohort_members",
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["cohort_id"], ["learning_cohorts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("cohort_id", "user_id"),
    )
    with op.batch_alter_table("learning_cohort_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_learning_cohort_members_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("learning_cohort_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_learning_cohort_members_user_id"))
    op.drop_table("learning_cohort_members")
    op.drop_table("learning_cohorts")
    with op.batch_alter_table("learning_completions", schema=None) as batch_op:
        batch_op.drop_index("ix_learning_completions_at")
    op.drop_table("learning_completions")
