"""search: the full-text search index (documents, terms; FTS5 on SQLite, GIN full text + pg_trgm on PostgreSQL)

Built for the datasets a home already has, in this migration's transaction.

Revision ID: search_index
Revises: ops_dataset_maintenance
"""

import sqlalchemy as sa
from alembic import op

revision = "search_index"
down_revision = "ops_dataset_maintenance"
branch_labels = None
depends_on = None

_FIELDS = ("names", "columns", "tags", "description")


def upgrade() -> None:
    op.create_table(
        "search_documents",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        *(sa.Column(f, sa.Text(), nullable=False) for f in _FIELDS),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("dataset_id"),
    )
    op.create_table(
        "search_terms",
        sa.Column("variant", sa.String(length=127), nullable=False),
        sa.Column("term", sa.String(length=127), nullable=False),
        sa.PrimaryKeyConstraint("variant", "term"),
    )
    op.create_index("ix_datasets_name", "datasets", ["name"])
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        columns = ", ".join(_FIELDS)
        op.execute(
            f"CREATE VIRTUAL TABLE search_fts USING fts5({columns}, tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        op.execute(f"CREATE VIRTUAL TABLE search_trigram USING fts5({columns}, tokenize = 'trigram')")
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for f in _FIELDS:
            op.execute(
                f"CREATE INDEX ix_search_documents_{f}_fts ON search_documents USING gin (to_tsvector('english', {f}))"
            )
            op.execute(f"CREATE INDEX ix_search_documents_{f}_trgm ON search_documents USING gin ({f} gin_trgm_ops)")

    from threshold.store.search_index import rebuild

    rebuild(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TABLE search_trigram")
        op.execute("DROP TABLE search_fts")
    op.drop_index("ix_datasets_name", table_name="datasets")
    op.drop_table("search_terms")
    op.drop_table("search_documents")
