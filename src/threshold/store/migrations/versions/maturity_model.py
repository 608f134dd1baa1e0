"""maturity_model: target picture versions and proposals, self-assessments, snapshots of scores

Revision ID: maturity_model
Revises: compliance_register
"""

import sqlalchemy as sa
from alembic import op

revision = "maturity_model"
down_revision = "compliance_register"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "maturity_pictures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("proposal_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version"),
    )
    with op.batch_alter_table("maturity_pictures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_maturity_pictures_created_at"), ["created_at"], unique=False)
    op.create_table(
        "maturity_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["domain_id"], ["domains.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["proposed_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("maturity_proposals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_maturity_proposals_domain_id"), ["domain_id"], unique=False)
    op.create_table(
        "maturity_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["domain_id"], ["domains.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["answered_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("domain_id", "number"),
    )
    op.create_table(
        "maturity_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("picture_version", sa.Integer(), nullable=False),
        sa.Column("taken_by_id", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["taken_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("maturity_snapshots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_maturity_snapshots_at"), ["at"], unique=False)
    op.create_table(
        "maturity_scores",
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.String(length=40), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("signals", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["snapshot_id"], ["maturity_snapshots.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["domain_id"], ["domains.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("snapshot_id", "domain_id", "dimension"),
    )
    with op.batch_alter_table("maturity_scores", schema=None) as batch_op:
        batch_op.create_index("ix_maturity_scores_domain", ["domain_id", "snapshot_id"], unique=False)


def downgrade() -> None:
    op.drop_table("maturity_scores")
    op.drop_table("maturity_snapshots")
    op.drop_table("maturity_assessments")
    op.drop_table("maturity_proposals")
    op.drop_table("maturity_pictures")
