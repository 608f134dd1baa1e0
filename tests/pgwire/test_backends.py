"""The front door on both metadata backends: sign-in, the governed catalog and a masked read."""

from __future__ import annotations

import psycopg
from pgclient import add_budget, serve


def test_sign_in_catalog_and_masks_on_sqlite_and_postgresql(any_org, tmp_path) -> None:
    add_budget(any_org, tmp_path)
    door = serve(any_org.platform)
    try:
        dsn = f"host=127.0.0.1 port={door.port} dbname=threshold sslmode=disable"
        with psycopg.connect(dsn + " user=carla password=carla-pass") as conn:
            tables = [
                r[0] for r in conn.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables")
            ]
            assert tables == ["manufacturing.plant_kpis"]
            names = [r[0] for r in conn.execute("SELECT operator_name FROM manufacturing.plant_kpis")]
            assert len(names) == 5 and "Anna Schmidt" not in names
        with psycopg.connect(dsn + " user=ben password=ben-pass") as conn:
            tables = [
                r[0] for r in conn.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables")
            ]
            assert sorted(tables) == ["finance.budget", "manufacturing.plant_kpis"]
        with psycopg.connect(dsn + " user=ben password=wrong") as conn:
            raise AssertionError("a wrong password signed in")
    except psycopg.OperationalError as e:
        assert "password authentication failed" in str(e)
    finally:
        door.stop()
