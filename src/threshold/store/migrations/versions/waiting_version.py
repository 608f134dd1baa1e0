"""waiting version: a second row of `metadata_version` that moves with what waits for people's answers

Revision ID: waiting_version
Revises: usage_event_engine

Row 2 of `metadata_version` changes in every transaction that changes an access request, an incident or an
ownership proposal (row 1 keeps its meaning: what resolving and deciding a read depends on). With row 1 it
is everything the navigation's badge counts depend on (`interface.home.waiting`): the counts are kept per
(both numbers, person), so a page reads two numbers instead of counting, and a change shows on the next
page. Triggers as row 1's (`gateway_fast_path`): deferred to the commit on PostgreSQL.
"""

from alembic import op

revision = "waiting_version"
down_revision = "usage_event_engine"
branch_labels = None
depends_on = None

WATCHED = ("access_requests", "incidents", "owner_decisions")


def upgrade() -> None:
    op.execute("INSERT INTO metadata_version (id, version) VALUES (2, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION threshold_waiting_bump() RETURNS trigger AS $$
            BEGIN
                UPDATE metadata_version SET version = version + 1 WHERE id = 2;
                RETURN NULL;
            END $$ LANGUAGE plpgsql
            """
        )
        for table in WATCHED:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER {table}_waiting_bump AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION threshold_waiting_bump()"
            )
        return
    for table in WATCHED:
        for what in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_waiting_bump_{what.lower()} AFTER {what} ON {table} "
                "BEGIN UPDATE metadata_version SET version = version + 1 WHERE id = 2; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_waiting_bump ON {table}")
        op.execute("DROP FUNCTION IF EXISTS threshold_waiting_bump()")
    else:
        for table in WATCHED:
            for what in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_waiting_bump_{what}")
    op.execute("DELETE FROM metadata_version WHERE id = 2")
