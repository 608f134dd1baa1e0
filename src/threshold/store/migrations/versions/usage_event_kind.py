"""usage: what kind of read each usage event was (consumption, browse, platform), history classified

Revision ID: usage_event_kind
Revises: access_tag_scopes

Before this, every governed read counted as use, and the consumption views skipped reads by a list of
purpose strings (`products.ignored_purposes`). Now each event says what it was. Existing history is
classified so that the figures built on it stay meaningful:

- `platform`: reads declared for the purposes the platform's checks use (`data quality`, `contract check`);
- `browse`: the dataset page's preview (purpose `preview`), and the preview's own shape read from the
  web (`SELECT * FROM domain.dataset LIMIT n`, which the page ran with the reader's granted purpose);
- `consumption`: everything else.

The rollups' trigger now watches `kind` too, and the rollups are marked dirty: the next consumption
view rebuilds them from the whole log, counting consumption only.
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "usage_event_kind"
down_revision = "access_tag_scopes"
branch_labels = None
depends_on = None

_PLATFORM_PURPOSES = ("data quality", "contract check")
_BROWSE = re.compile(r"^select \* from [a-z0-9_\"]+\.[a-z0-9_\"]+( as [a-z0-9_\"]+)? limit \?$")
_OLD_WATCHED = "at, user_id, purpose, status, fingerprint"
_NEW_WATCHED = "at, user_id, purpose, status, fingerprint, kind"
_CHUNK = 500


def upgrade() -> None:
    op.add_column(
        "usage_events",
        sa.Column("kind", sa.String(length=20), server_default="consumption", nullable=False),
    )
    events = sa.table(
        "usage_events",
        sa.column("id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("purpose", sa.String()),
        sa.column("interface", sa.String()),
        sa.column("fingerprint", sa.String()),
        sa.column("query_text", sa.Text()),
    )
    bind = op.get_bind()
    purpose = sa.func.lower(sa.func.trim(sa.func.coalesce(events.c.purpose, "")))
    bind.execute(sa.update(events).where(purpose.in_(_PLATFORM_PURPOSES)).values(kind="platform"))
    bind.execute(sa.update(events).where(purpose == "preview").values(kind="browse"))
    # One text per query shape decides whether the shape is the page's preview.
    first = sa.select(sa.func.min(events.c.id)).where(events.c.interface == "web").group_by(events.c.fingerprint)
    shapes = bind.execute(sa.select(events.c.fingerprint, events.c.query_text).where(events.c.id.in_(first))).all()
    browse = sorted(fp for fp, text in shapes if fp and _BROWSE.match(" ".join((text or "").lower().split())))
    for i in range(0, len(browse), _CHUNK):
        bind.execute(
            sa.update(events)
            .where(
                events.c.fingerprint.in_(browse[i : i + _CHUNK]),
                events.c.interface == "web",
                events.c.kind == "consumption",
            )
            .values(kind="browse")
        )
    _watch(_NEW_WATCHED)
    bind.execute(sa.text("UPDATE usage_rollup_state SET dirty = :yes WHERE id = 1 AND watermark > 0"), {"yes": True})


def downgrade() -> None:
    _watch(_OLD_WATCHED)
    op.drop_column("usage_events", "kind")  # SQLite drops it in place: the trigger no longer names it
    op.get_bind().execute(
        sa.text("UPDATE usage_rollup_state SET dirty = :yes WHERE id = 1 AND watermark > 0"), {"yes": True}
    )


def _watch(columns: str) -> None:
    """Re-create the trigger that marks the rollups dirty when a counted event changes (migration 0005)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS usage_events_rollup_dirty ON usage_events")
        op.execute(
            f"""
            CREATE TRIGGER usage_events_rollup_dirty AFTER UPDATE OF {columns} OR DELETE ON usage_events
            FOR EACH ROW EXECUTE FUNCTION threshold_usage_rollup_dirty()
            """
        )
        return
    op.execute("DROP TRIGGER IF EXISTS usage_events_rollup_dirty_update")
    when = "WHEN OLD.id <= (SELECT watermark FROM usage_rollup_state WHERE id = 1)"
    body = "BEGIN UPDATE usage_rollup_state SET dirty = 1 WHERE id = 1; END"
    op.execute(
        f"CREATE TRIGGER usage_events_rollup_dirty_update AFTER UPDATE OF {columns} ON usage_events "
        f"FOR EACH ROW {when} {body}"
    )
