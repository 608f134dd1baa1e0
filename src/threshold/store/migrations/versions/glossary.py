"""glossary: terms, their reviewed revisions, and their links to datasets, columns and insights

Revision ID: glossary
Revises: search_stored_vectors
"""

import sqlalchemy as sa
from alembic import op

revision = "glossary"
down_revision = "search_stored_vectors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "glossary_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["domain_id"], ["domains.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("glossary_terms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_glossary_terms_domain_id"), ["domain_id"], unique=False)
    op.create_table(
        "glossary_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("term_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("synonyms", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["term_id"], ["glossary_terms.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("term_id", "number"),
    )
    with op.batch_alter_table("glossary_revisions", schema=None) as batch_op:
        batch_op.create_index("ix_glossary_revisions_status", ["status"], unique=False)
    op.create_table(
        "glossary_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("term_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=True),
        sa.Column("column_name", sa.String(length=200), nullable=True),
        sa.Column("insight_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["term_id"], ["glossary_terms.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["insight_id"], ["insights.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("term_id", "kind", "dataset_id", "column_name", "insight_id"),
    )
    with op.batch_alter_table("glossary_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_glossary_links_term_id"), ["term_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_glossary_links_dataset_id"), ["dataset_id"], unique=False)


def downgrade() -> None:
    op.drop_table("glossary_links")
    op.drop_table("glossary_revisions")
    op.drop_table("glossary_terms")
