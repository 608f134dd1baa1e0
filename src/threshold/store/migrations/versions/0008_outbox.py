"""one outbox: webhook deliveries and OpenLineage events to send become messages of one table

Every row of `webhook_deliveries` becomes an `outbox` message of channel `webhook` (same id, so a
receiver's `X-Threshold-Delivery` keeps its meaning; scope: the domain's name) and every row of
`openlineage_outbox` one of channel `openlineage` (`sent` is now `delivered`; an interrupted
`sending` is `pending` again). Nothing is dropped; the downgrade carries them back.

Revision ID: 0008_outbox
Revises: 0007_jobs_core
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008_outbox"
down_revision = "0007_jobs_core"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)
_CHUNK = 1000


def _outbox_table() -> list[Any]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=30), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("scope", sa.String(length=100), nullable=True),
        sa.Column("destination", sa.String(length=500), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("claimed_until", _TZ, nullable=True),
        sa.Column("delivered_at", _TZ, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    ]


_webhooks = sa.table(
    "webhook_deliveries",
    sa.column("id", sa.Integer()),
    sa.column("domain_id", sa.Integer()),
    sa.column("event", sa.String()),
    sa.column("url", sa.String()),
    sa.column("payload", sa.JSON()),
    sa.column("status", sa.String()),
    sa.column("attempts", sa.Integer()),
    sa.column("last_error", sa.Text()),
    sa.column("created_at", _TZ),
    sa.column("delivered_at", _TZ),
)
_events = sa.table(
    "openlineage_outbox",
    sa.column("id", sa.Integer()),
    sa.column("created_at", _TZ),
    sa.column("payload", sa.JSON()),
    sa.column("status", sa.String()),
    sa.column("attempts", sa.Integer()),
    sa.column("last_error", sa.Text()),
    sa.column("sent_at", _TZ),
)
_domains = sa.table("domains", sa.column("id", sa.Integer()), sa.column("name", sa.String()))


def _insert(table: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), _CHUNK):
        op.bulk_insert(table, rows[i : i + _CHUNK])


def _reset_sequence(table: str) -> None:
    """After rows were inserted with their ids, PostgreSQL's sequence must move past them."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
            )
        )


def upgrade() -> None:
    outbox = op.create_table("outbox", *_outbox_table())
    op.create_index("ix_outbox_channel_status", "outbox", ["channel", "status"])
    op.create_index("ix_outbox_scope", "outbox", ["scope"])
    conn = op.get_bind()
    hooks = conn.execute(
        sa.select(_webhooks, _domains.c.name).join(_domains, _domains.c.id == _webhooks.c.domain_id)
    ).all()
    _insert(
        outbox,
        [
            {
                "id": r.id,
                "channel": "webhook",
                "topic": r.event,
                "scope": r.name,
                "destination": r.url,
                "payload": r.payload,
                "status": r.status,
                "attempts": r.attempts,
                "last_error": r.last_error,
                "created_at": r.created_at,
                "claimed_until": None,
                "delivered_at": r.delivered_at,
            }
            for r in hooks
        ],
    )
    _reset_sequence("outbox")
    events = conn.execute(sa.select(_events).order_by(_events.c.id)).all()
    _insert(
        outbox,
        [
            {
                "channel": "openlineage",
                "topic": str((r.payload or {}).get("eventType") or "")[:100],
                "scope": None,
                "destination": None,
                "payload": r.payload,
                "status": {"sent": "delivered", "sending": "pending"}.get(r.status, r.status),
                "attempts": r.attempts,
                "last_error": r.last_error,
                "created_at": r.created_at,
                "claimed_until": None,
                "delivered_at": r.sent_at,
            }
            for r in events
        ],
    )
    op.drop_index("ix_webhook_deliveries_status", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_domain_id", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_openlineage_outbox_status", table_name="openlineage_outbox")
    op.drop_table("openlineage_outbox")


def downgrade() -> None:
    webhooks = op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=50), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("delivered_at", _TZ, nullable=True),
        sa.ForeignKeyConstraint(["domain_id"], ["domains.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_webhook_deliveries_domain_id", "webhook_deliveries", ["domain_id"])
    op.create_index("ix_webhook_deliveries_status", "webhook_deliveries", ["status"])
    events = op.create_table(
        "openlineage_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", _TZ, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_openlineage_outbox_status", "openlineage_outbox", ["status"])
    conn = op.get_bind()
    outbox = sa.table(
        "outbox",
        *(sa.column(c.name, c.type) for c in _outbox_table() if isinstance(c, sa.Column)),
    )
    domain_ids = dict(conn.execute(sa.select(_domains.c.name, _domains.c.id)).all())
    rows = conn.execute(sa.select(outbox).order_by(outbox.c.id)).all()
    _insert(
        webhooks,
        [
            {
                "id": r.id,
                "domain_id": domain_ids[r.scope],
                "event": r.topic[:50],
                "url": r.destination or "",
                "payload": r.payload,
                "status": r.status if r.status != "sending" else "pending",
                "attempts": r.attempts,
                "last_error": r.last_error,
                "created_at": r.created_at,
                "delivered_at": r.delivered_at,
            }
            for r in rows
            if r.channel == "webhook" and r.scope in domain_ids
        ],
    )
    _insert(
        events,
        [
            {
                "created_at": r.created_at,
                "payload": r.payload,
                "status": {"delivered": "sent", "sending": "pending"}.get(r.status, r.status),
                "attempts": r.attempts,
                "last_error": r.last_error,
                "sent_at": r.delivered_at,
            }
            for r in rows
            if r.channel == "openlineage"
        ],
    )
    _reset_sequence("webhook_deliveries")
    op.drop_index("ix_outbox_scope", table_name="outbox")
    op.drop_index("ix_outbox_channel_status", table_name="outbox")
    op.drop_table("outbox")
