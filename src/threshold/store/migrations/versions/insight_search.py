"""search: saved insights' titles and narratives in the full-text search

Revision ID: insight_search
Revises: literacy

`insight_search_documents` holds each live insight's current title (names) and narrative (description),
analysed like the datasets' documents: SQLite FTS5 tables `insight_fts` (porter) and `insight_trigram`
beside it; on PostgreSQL stored `<field>_tsv` vectors with GIN indexes, and pg_trgm indexes on the text.
Existing insights are indexed in this migration's transaction (plain SQL: the migration does not depend
on code that may change later); their words join `search_terms` for typo correction.
"""

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "insight_search"
down_revision = "literacy"
branch_labels = None
depends_on = None

_FIELDS = ("names", "description")


def upgrade() -> None:
    op.create_table(
        "insight_search_documents",
        sa.Column("insight_id", sa.Integer(), nullable=False),
        *(sa.Column(f, sa.Text(), nullable=False) for f in _FIELDS),
        sa.ForeignKeyConstraint(["insight_id"], ["insights.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("insight_id"),
    )
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    columns = ", ".join(_FIELDS)
    if sqlite:
        op.execute(
            f"CREATE VIRTUAL TABLE insight_fts USING fts5({columns}, tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        op.execute(f"CREATE VIRTUAL TABLE insight_trigram USING fts5({columns}, tokenize = 'trigram')")
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for f in _FIELDS:
            op.execute(
                f"ALTER TABLE insight_search_documents ADD COLUMN {f}_tsv tsvector "
                f"GENERATED ALWAYS AS (to_tsvector('english', {f})) STORED"
            )
            op.execute(
                f"CREATE INDEX ix_insight_search_documents_{f}_fts ON insight_search_documents USING gin ({f}_tsv)"
            )
            op.execute(
                f"CREATE INDEX ix_insight_search_documents_{f}_trgm ON insight_search_documents "
                f"USING gin ({f} gin_trgm_ops)"
            )
    op.execute(
        "INSERT INTO insight_search_documents (insight_id, names, description) "
        "SELECT i.id, v.title, COALESCE(v.narrative, '') FROM insights i "
        "JOIN insight_versions v ON v.insight_id = i.id AND v.version = i.version WHERE i.archived_at IS NULL"
    )
    if sqlite:
        for table in ("insight_fts", "insight_trigram"):
            op.execute(
                f"INSERT INTO {table} (rowid, {columns}) SELECT insight_id, {columns} FROM insight_search_documents"
            )
    _add_terms(bind)


def _words(value: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", value.replace("ß", "ss").lower())
    return re.findall(r"[a-z0-9]+", "".join(c for c in folded if not unicodedata.combining(c)))


def _add_terms(bind: sa.engine.Connection) -> None:
    """Every word of the documents and its one-letter deletions (as `store.search_index.add_terms` writes them)."""
    found = {
        w
        for names, description in bind.execute(sa.text("SELECT names, description FROM insight_search_documents"))
        for w in _words(f"{names} {description}")
        if 3 <= len(w) <= 60 and not w.isdigit()
    }
    rows = [
        {"variant": v, "term": t}
        for t in sorted(found)
        for v in sorted({t} | ({t[:i] + t[i + 1 :] for i in range(len(t))} if len(t) >= 4 else set()))
    ]
    if not rows:
        return
    conflict = "INSERT OR IGNORE INTO" if bind.dialect.name == "sqlite" else "INSERT INTO"
    tail = "" if bind.dialect.name == "sqlite" else " ON CONFLICT DO NOTHING"
    statement = sa.text(f"{conflict} search_terms (variant, term) VALUES (:variant, :term){tail}")
    for start in range(0, len(rows), 5000):
        bind.execute(statement, rows[start : start + 5000])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE insight_trigram")
        op.execute("DROP TABLE insight_fts")
    op.drop_table("insight_search_documents")
