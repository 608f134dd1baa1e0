"""The second wall alone: SQL that got past the parser, run straight on the gateway's DuckDB.

`STOPPED` is what the engine itself refuses: files outside the warehouse, other databases, extensions,
the network, and every configuration change (the configuration is locked). `NOT_STOPPED` documents
what the engine alone lets through (inside the warehouse and spill folders it may read AND write, it
can attach new databases there, keep tables between queries and tell its settings); the first wall
refuses every one of those, which the last test checks.

Placeholders: {warehouse}, {home}, {spill}, {outside} (a folder next to the home holding x.csv),
{file} (a data file of manufacturing.plant_kpis).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from threshold.errors import InvalidInput
from threshold.sql.check import check

LOCKED = "the configuration has been locked"
NO_FILES = "file system operations are disabled by configuration"
NO_EXTENSIONS = "Loading external extensions is disabled"

STOPPED: list[tuple[str, str, str]] = [
    # (name, SQL, fragment of the engine's message)
    ("read_csv_etc_passwd", "SELECT * FROM read_csv('/etc/passwd')", NO_FILES),
    ("read_text_etc_passwd", "SELECT * FROM read_text('/etc/passwd')", NO_FILES),
    ("read_text_proc_environ", "SELECT * FROM read_text('/proc/self/environ')", NO_FILES),
    ("read_text_metadata_db_in_home", "SELECT * FROM read_text('{home}/threshold.db')", NO_FILES),
    ("read_blob_metadata_db_in_home", "SELECT * FROM read_blob('{home}/threshold.db')", NO_FILES),
    ("read_csv_other_folder", "SELECT * FROM read_csv('{outside}/x.csv')", NO_FILES),
    ("glob_other_folder", "SELECT * FROM glob('{outside}/*')", NO_FILES),
    ("glob_etc", "SELECT * FROM glob('/etc/*')", NO_FILES),
    ("read_csv_other_folder_by_glob", "SELECT * FROM read_csv('{outside}/*.csv')", NO_FILES),
    ("dot_dot_out_of_the_warehouse", "SELECT * FROM read_csv('{warehouse}/../../outside/x.csv')", NO_FILES),
    ("dot_dot_to_the_metadata_db", "SELECT * FROM read_text('{warehouse}/../threshold.db')", NO_FILES),
    ("glob_dot_dot", "SELECT * FROM glob('{warehouse}/../*')", NO_FILES),
    ("prefix_of_the_warehouse_name", "SELECT * FROM glob('{warehouse}*')", NO_FILES),
    ("symlink_in_warehouse_to_etc_passwd", "SELECT * FROM read_csv('{warehouse}/passwd.csv')", NO_FILES),
    (
        "symlink_in_warehouse_to_home",
        "SELECT * FROM read_blob('{warehouse}/home_link/threshold.db')",
        NO_FILES,
    ),
    ("url", "SELECT * FROM read_csv('https://example.com/x.csv')", NO_FILES),
    ("attach_outside", "ATTACH '{outside}/other.db' AS other", NO_FILES),
    ("attach_metadata_db_as_sqlite", "ATTACH '{home}/threshold.db' AS meta (TYPE sqlite)", NO_EXTENSIONS),
    ("sqlite_scan", "SELECT * FROM sqlite_scan('{home}/threshold.db', 'users')", "sqlite_scanner"),
    ("copy_to_outside", "COPY (SELECT 1 AS v) TO '{outside}/out.csv'", NO_FILES),
    ("copy_to_tmp", "COPY (SELECT 1 AS v) TO '/tmp/threshold_engine_wall.csv'", NO_FILES),
    ("copy_to_home", "COPY (SELECT 1 AS v) TO '{home}/out.csv'", NO_FILES),
    ("export_database_outside", "EXPORT DATABASE '{outside}/export'", NO_FILES),
    ("install_httpfs", "INSTALL httpfs", NO_FILES),
    ("load_httpfs", "LOAD httpfs", NO_EXTENSIONS),
    (
        "create_persistent_secret",
        "CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')",
        "not permitted",
    ),
    ("getenv", "SELECT getenv('HOME')", "does not exist"),
    ("set_enable_external_access", "SET enable_external_access = true", LOCKED),
    ("set_allowed_directories", "SET allowed_directories = ['/']", LOCKED),
    ("set_allowed_paths", "SET allowed_paths = ['/etc/passwd']", LOCKED),
    ("reset_allowed_directories", "RESET allowed_directories", LOCKED),
    ("unlock_configuration", "SET lock_configuration = false", LOCKED),
    ("set_temp_directory", "SET temp_directory = '/tmp'", LOCKED),
    ("set_memory_limit", "SET memory_limit = '1TB'", LOCKED),
    ("set_autoload_extensions", "SET autoload_known_extensions = true", LOCKED),
    ("set_replacement_scans", "SET python_enable_replacements = true", LOCKED),
    ("pragma_changes_a_setting", "PRAGMA enable_profiling", LOCKED),
]

NOT_STOPPED: list[tuple[str, str]] = [
    # (name, SQL) the engine runs; the parser refuses each (see the last test).
    ("read_parquet_warehouse_file", "SELECT count(*) FROM read_parquet('{file}')"),
    ("replacement_scan_of_a_warehouse_file", "SELECT count(*) FROM '{file}'"),
    ("glob_lists_the_warehouse", "SELECT * FROM glob('{warehouse}/**')"),
    ("copy_into_the_warehouse", "COPY (SELECT 1 AS v) TO '{warehouse}/written.csv'"),
    ("copy_into_spill", "COPY (SELECT 1 AS v) TO '{spill}/written.csv'"),
    ("attach_new_database_in_the_warehouse", "ATTACH '{warehouse}/new.db' AS new_db"),
    ("attach_in_memory", "ATTACH ':memory:' AS scratch"),
    ("create_table_kept_between_queries", "CREATE TABLE kept AS SELECT 42 AS v"),
    ("current_setting_tells_the_paths", "SELECT current_setting('allowed_directories')"),
    ("duckdb_settings", "SELECT value FROM duckdb_settings() WHERE name = 'temp_directory'"),
    ("call_pragma_version", "CALL pragma_version()"),
    ("sleep_ms", "SELECT sleep_ms(1)"),
    ("sequences", "CREATE SEQUENCE seq; SELECT nextval('seq')"),
]


@pytest.fixture(scope="module")
def org(module_org: Any) -> Any:
    """One org for the module: the attempts that succeed write only inside its warehouse and spill."""
    return module_org


@pytest.fixture(scope="module")
def places(org: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    platform = org.platform
    settings = platform.settings
    outside = tmp_path_factory.mktemp("engine_wall") / "outside"
    outside.mkdir()
    (outside / "x.csv").write_text("a,b\n1,2\n")
    os.symlink("/etc/passwd", settings.warehouse_dir / "passwd.csv")
    os.symlink(settings.home_dir, settings.warehouse_dir / "home_link")
    with platform.store.session() as s:
        from sqlalchemy import select

        from threshold.store.models import Dataset

        snapshot = s.scalars(select(Dataset.snapshot_id).where(Dataset.full_name == "manufacturing.plant_kpis")).one()
    return {
        "warehouse": str(settings.warehouse_dir),
        "home": str(settings.home_dir),
        "spill": str(settings.spill_dir),
        "outside": str(outside),
        "file": platform.lake.plan("manufacturing.plant_kpis", snapshot).files[0],
    }


def _fill(sql: str, places: dict[str, str]) -> str:
    for key, value in places.items():
        sql = sql.replace("{" + key + "}", value)
    return sql


@pytest.mark.parametrize(("name", "sql", "fragment"), STOPPED, ids=[s[0] for s in STOPPED])
def test_engine_alone_stops(name: str, sql: str, fragment: str, org: Any, places: dict[str, str]) -> None:
    engine = org.platform.engine
    with pytest.raises(InvalidInput) as e:
        engine.run(_fill(sql, places), {}, max_rows=10)
    message = str(e.value)
    assert fragment.lower() in message.lower(), f"{name}: {message}"
    assert "\n" not in message
    for what in ("warehouse", "home"):
        assert places[what] not in message, f"{name}: the engine's message names the {what} folder: {message}"
    assert not Path("/tmp/threshold_engine_wall.csv").exists()
    assert not (Path(places["outside"]) / "out.csv").exists()


def test_the_engine_stays_locked_after_every_attempt(org: Any, places: dict[str, str]) -> None:
    engine = org.platform.engine
    for _, sql, _ in STOPPED:
        with pytest.raises(InvalidInput):
            engine.run(_fill(sql, places), {}, max_rows=10)
    table, _ = engine.run(
        "SELECT name, value FROM duckdb_settings() WHERE name IN "
        "('enable_external_access', 'lock_configuration', 'autoload_known_extensions', "
        "'autoinstall_known_extensions', 'python_enable_replacements') ORDER BY name",
        {},
        max_rows=10,
    )
    assert dict(zip(table["name"].to_pylist(), table["value"].to_pylist(), strict=True)) == {
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
        "enable_external_access": "false",
        "lock_configuration": "true",
        "python_enable_replacements": "false",
    }
    table, _ = engine.run("SELECT current_setting('allowed_directories') AS d", {}, max_rows=1)
    assert sorted(table["d"][0].as_py()) == sorted([places["warehouse"] + "/", places["spill"] + "/"])


@pytest.mark.parametrize(("name", "sql"), NOT_STOPPED, ids=[s[0] for s in NOT_STOPPED])
def test_engine_alone_lets_through_what_the_parser_refuses(
    name: str, sql: str, org: Any, places: dict[str, str]
) -> None:
    """Documents the engine's reach; if DuckDB starts refusing one of these, move it to STOPPED."""
    filled = _fill(sql, places)
    org.platform.engine.run(filled, {}, max_rows=10)  # runs: the engine alone does not stop it
    with pytest.raises(InvalidInput):
        check(filled)


def test_a_table_created_on_the_engine_outlives_the_query(org: Any) -> None:
    """Why the parser must refuse CREATE: the engine's catalog is shared by every query's cursor."""
    engine = org.platform.engine
    engine.run("CREATE TABLE kept_by_one_query AS SELECT 42 AS v", {}, max_rows=1)
    table, _ = engine.run("SELECT v FROM kept_by_one_query", {}, max_rows=1)
    assert table["v"].to_pylist() == [42]


def test_per_query_views_die_with_their_cursor(org: Any) -> None:
    from threshold.store.models import Dataset

    platform = org.platform
    with platform.store.session() as s:
        from sqlalchemy import select

        snapshot = s.scalars(select(Dataset.snapshot_id).where(Dataset.full_name == "manufacturing.plant_kpis")).one()
    plan = platform.lake.plan("manufacturing.plant_kpis", snapshot)
    table, _ = platform.engine.run("SELECT count(*) AS n FROM __thr_test_1", {"__thr_test_1": plan}, max_rows=1)
    assert table["n"].to_pylist() == [5]
    with pytest.raises(InvalidInput, match="does not exist"):
        platform.engine.run("SELECT count(*) FROM __thr_test_1", {}, max_rows=1)
