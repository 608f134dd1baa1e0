"""erasure_certificates: the record that data subjects were erased everywhere, and how it was verified

Revision ID: erasure_certificates
Revises: pgwire_scram_secrets
"""

import sqlalchemy as sa
from alembic import op

revision = "erasure_certificates"
down_revision = "pgwire_scram_secrets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erasure_certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("subjects", sa.JSON(), nullable=False),
        sa.Column("searched", sa.JSON(), nullable=False),
        sa.Column("tables", sa.JSON(), nullable=False),
        sa.Column("verification", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("erasure_certificates", schema=None) as batch_op:
        batch_op.create_index("ix_erasure_certificates_status", ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("erasure_certificates", schema=None) as batch_op:
        batch_op.drop_index("ix_erasure_certificates_status")
    op.drop_table("erasure_certificates")
