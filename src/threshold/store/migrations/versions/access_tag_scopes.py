"""access: where a tagged column's values come from (origin domain, dataset and grant), kept per snapshot

Revision ID: access_tag_scopes
Revises: limits_sign_in_failures
"""

import sqlalchemy as sa
from alembic import op

revision = "access_tag_scopes"
down_revision = "limits_sign_in_failures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tags") as batch_op:
        batch_op.add_column(sa.Column("scope_domain_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("scope_dataset_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("scope_grant_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_tags_scope_domain", "domains", ["scope_domain_id"], ["id"], ondelete="SET NULL")
        batch_op.create_foreign_key(
            "fk_tags_scope_dataset", "datasets", ["scope_dataset_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_foreign_key("fk_tags_scope_grant", "grants", ["scope_grant_id"], ["id"], ondelete="SET NULL")
    with op.batch_alter_table("shares") as batch_op:
        batch_op.add_column(sa.Column("column_scopes", sa.JSON(), server_default="{}", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("shares") as batch_op:
        batch_op.drop_column("column_scopes")
    with op.batch_alter_table("tags") as batch_op:
        batch_op.drop_constraint("fk_tags_scope_grant", type_="foreignkey")
        batch_op.drop_constraint("fk_tags_scope_dataset", type_="foreignkey")
        batch_op.drop_constraint("fk_tags_scope_domain", type_="foreignkey")
        batch_op.drop_column("scope_grant_id")
        batch_op.drop_column("scope_dataset_id")
        batch_op.drop_column("scope_domain_id")
