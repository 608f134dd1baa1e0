"""pgwire: SCRAM-SHA-256 secrets of passwords and tokens, for the PostgreSQL front door

Revision ID: pgwire_scram_secrets
Revises: gateway_fast_path
"""

import sqlalchemy as sa
from alembic import op

revision = "pgwire_scram_secrets"
down_revision = "gateway_fast_path"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scram_secrets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("iterations", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["token_id"], ["api_tokens.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_id"),
    )
    op.create_index("ix_scram_secrets_user_id", "scram_secrets", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_scram_secrets_user_id", table_name="scram_secrets")
    op.drop_table("scram_secrets")
