"""The jobs core's migration carries every schedule over from the previous head, and back."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from threshold.store.db import Store

AT = "2026-01-01 00:00:00"
NEXT = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)


def _seed(store: Store) -> None:
    """Previous head (0006): a derivation and two checks with schedules, one check removed, one on demand."""
    with store.engine.begin() as c:
        run = lambda sql, **kw: c.execute(sa.text(sql), {"at": AT, **kw})  # noqa: E731
        run("INSERT INTO domains (id, name, title, description, created_at) VALUES (1, 'sales', 'Sales', '', :at)")
        run(
            "INSERT INTO users (id, name, display_name, is_admin, attributes, created_at) "
            "VALUES (1, 'carla', 'Carla', false, '{}', :at)"
        )
        for i, name in ((1, "orders"), (2, "worst_plant")):
            run(
                "INSERT INTO datasets (id, domain_id, name, full_name, title, description, purpose, stage, row_count,"
                " size_bytes, created_at, updated_at) VALUES (:i, 1, :n, :f, :n, '', '', 'shared', 0, 0, :at, :at)",
                i=i,
                n=name,
                f=f"sales.{name}",
            )
        run(
            "INSERT INTO derivations (id, dataset_id, sql, owner_id, status, schedule, next_run_at, created_at,"
            " updated_at) VALUES (1, 2, 'SELECT 1', 1, 'ok', 'every 15 minutes', :nxt, :at, :at)",
            nxt=NEXT,
        )
        for i, schedule, active in ((1, "daily", True), (2, "hourly", False), (3, None, True)):
            run(
                "INSERT INTO quality_checks (id, dataset_id, name, kind, options, blocking, schedule, next_run_at,"
                " source, active, created_at, updated_at) VALUES (:i, 1, :n, 'row_count', '{}', false, :s, :nxt,"
                " 'manual', :a, :at, :at)",
                i=i,
                n=f"check {i}",
                s=schedule,
                nxt=NEXT if schedule else None,
                a=active,
            )


def _aware(v: object) -> datetime:
    d = v if isinstance(v, datetime) else datetime.fromisoformat(str(v))
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def test_schedules_are_carried_to_jobs_and_back(empty_database_url: str) -> None:
    store = Store(empty_database_url)
    try:
        store.migrate("0006")
        _seed(store)

        store.migrate("0007_jobs_core")
        with store.engine.connect() as c:
            jobs = c.execute(
                sa.text("SELECT kind, key, label, schedule, next_run_at, attempts FROM jobs ORDER BY kind")
            )
            rows = [(k, key, label, sched, _aware(nxt), n) for k, key, label, sched, nxt, n in jobs]
            cols = {col["name"] for col in sa.inspect(c).get_columns("derivations")}
        assert rows == [
            ("derivation.refresh", "sales.worst_plant", "sales.worst_plant", "every 15 minutes", NEXT, 0),
            ("quality.check", "1", "sales.orders", "daily", NEXT, 0),
        ]
        assert "next_run_at" not in cols

        store.downgrade("0006")
        with store.engine.connect() as c:
            assert _aware(c.execute(sa.text("SELECT next_run_at FROM derivations")).scalar_one()) == NEXT
            checks = dict(c.execute(sa.text("SELECT id, next_run_at FROM quality_checks")).all())
            assert "jobs" not in sa.inspect(c).get_table_names()
        assert _aware(checks[1]) == NEXT and checks[3] is None
    finally:
        store.dispose()


def test_webhook_deliveries_and_openlineage_events_are_carried_to_the_outbox_and_back(empty_database_url: str) -> None:
    store = Store(empty_database_url)
    try:
        store.migrate("0007_jobs_core")
        with store.engine.begin() as c:
            run = lambda sql, **kw: c.execute(sa.text(sql), {"at": AT, **kw})  # noqa: E731
            run("INSERT INTO domains (id, name, title, description, created_at) VALUES (1, 'sales', 'Sales', '', :at)")
            for i, status in ((7, "delivered"), (9, "failed")):
                run(
                    "INSERT INTO webhook_deliveries (id, domain_id, event, url, payload, status, attempts, last_error,"
                    " created_at) VALUES (:i, 1, 'schema.changed', 'http://hook', :p, :s, 3, :e, :at)",
                    i=i,
                    p='{"event": "schema.changed"}',
                    s=status,
                    e=None if status == "delivered" else "HTTP 500",
                )
            for status in ("sent", "sending", "failed"):
                run(
                    "INSERT INTO openlineage_outbox (created_at, payload, status, attempts) VALUES (:at, :p, :s, 1)",
                    p='{"eventType": "COMPLETE"}',
                    s=status,
                )

        store.migrate("0008_outbox")
        with store.engine.connect() as c:
            rows = c.execute(
                sa.text(
                    "SELECT id, channel, topic, scope, destination, status, attempts, last_error"
                    " FROM outbox ORDER BY id"
                )
            ).all()
        assert [tuple(r) for r in rows[:2]] == [
            (7, "webhook", "schema.changed", "sales", "http://hook", "delivered", 3, None),
            (9, "webhook", "schema.changed", "sales", "http://hook", "failed", 3, "HTTP 500"),
        ]
        assert [(r[0] > 9, r[1], r[2], r[5]) for r in rows[2:]] == [
            (True, "openlineage", "COMPLETE", "delivered"),
            (True, "openlineage", "COMPLETE", "pending"),
            (True, "openlineage", "COMPLETE", "failed"),
        ]
        with store.engine.begin() as c:  # a new message after the carried ones gets a fresh id
            new_id = c.execute(
                sa.text(
                    "INSERT INTO outbox (channel, topic, payload, status, attempts, created_at)"
                    " VALUES ('webhook', 'x', '{}', 'pending', 0, :at) RETURNING id"
                ),
                {"at": AT},
            ).scalar_one()
            c.execute(sa.text("DELETE FROM outbox WHERE id = :i"), {"i": new_id})
        assert new_id > rows[-1][0]

        store.downgrade("0007_jobs_core")
        with store.engine.connect() as c:
            hooks = c.execute(sa.text("SELECT id, status, last_error FROM webhook_deliveries ORDER BY id")).all()
            events = c.execute(sa.text("SELECT status FROM openlineage_outbox ORDER BY id")).all()
        assert [tuple(h) for h in hooks] == [(7, "delivered", None), (9, "failed", "HTTP 500")]
        assert [e[0] for e in events] == ["sent", "pending", "failed"]
    finally:
        store.dispose()
