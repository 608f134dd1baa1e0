"""gateway fast path: journal segments of the usage log, and a version of what read decisions depend on

Revision ID: gateway_fast_path
Revises: glossary

- `usage_journal_segments`: the gateway appends each usage event to a local journal and a flusher inserts
  them in batches; the name of each segment it applies is written in the same transaction, so a segment
  a killed process left behind is replayed exactly once (`usage.journal`).
- `metadata_version`: one row whose number changes in every transaction that changes what resolving
  and deciding a read depends on (datasets, their columns and tags, domains, people, memberships,
  grants, policies). The gateway keeps its prepared reads keyed on it (`gateway.prepared`). On
  PostgreSQL the number is bumped by deferred constraint triggers, at commit: a writer holds the row's
  lock only while it commits, so two writers never wait on each other in a cycle.
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_fast_path"
down_revision = "glossary"
branch_labels = None
depends_on = None

WATCHED = ("datasets", "columns", "tags", "domains", "users", "memberships", "grants", "policies")


def upgrade() -> None:
    op.create_table(
        "usage_journal_segments",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "metadata_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO metadata_version (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION threshold_metadata_bump() RETURNS trigger AS $$
            BEGIN
                UPDATE metadata_version SET version = version + 1 WHERE id = 1;
                RETURN NULL;
            END $$ LANGUAGE plpgsql
            """
        )
        for table in WATCHED:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER {table}_metadata_bump AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION threshold_metadata_bump()"
            )
        return
    for table in WATCHED:
        for what in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_metadata_bump_{what.lower()} AFTER {what} ON {table} "
                "BEGIN UPDATE metadata_version SET version = version + 1 WHERE id = 1; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_metadata_bump ON {table}")
        op.execute("DROP FUNCTION IF EXISTS threshold_metadata_bump()")
    else:
        for table in WATCHED:
            for what in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_metadata_bump_{what}")
    op.drop_table("metadata_version")
    op.drop_table("usage_journal_segments")
