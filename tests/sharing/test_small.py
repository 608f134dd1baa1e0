"""Small shares run on cursors of one DuckDB database of the process (`threshold.sharing.small`)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from sqlalchemy import update

from threshold.errors import ThresholdError
from threshold.identity.service import add_domain, ensure_admin
from threshold.platform import Platform
from threshold.sharing import early, service, small
from threshold.sharing.service import share
from threshold.store.models import Dataset


def _catalogs(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {str(r[0]) for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()}


def test_a_small_share_sees_only_its_own_views_and_leaves_no_catalog_behind(platform: Platform) -> None:
    first, close_first = small.cursor(platform.settings)
    second, close_second = small.cursor(platform.settings)
    try:
        first.sql("SELECT 1 AS x").create_view("_src_mine")
        assert first.execute("SELECT x FROM _src_mine").fetchall() == [(1,)]
        with pytest.raises(duckdb.CatalogException):
            second.execute("SELECT x FROM _src_mine")
        before = _catalogs(second)
        close_first()
        assert len(before - _catalogs(second)) == 1  # the first cursor's catalog went with it
        assert second.execute("SELECT current_setting('TimeZone')").fetchall() == [("UTC",)]
    finally:
        close_second()


def test_a_small_share_runs_without_a_spill_folder_and_leaves_the_staging_folder_empty(
    platform: Platform, tmp_path: Path
) -> None:
    path = tmp_path / "small.csv"
    path.write_text("id,city\n" + "".join(f"{i},Oslo\n" for i in range(300)), encoding="utf-8")
    con, close = small.cursor(platform.settings)
    try:
        assert con.execute("SELECT current_setting('temp_directory')").fetchall() == [("",)]
        assert len(_catalogs(con) - {"memory", "system", "temp"}) == 1  # its own
    finally:
        close()
    admin = ensure_admin(platform)
    add_domain(platform, "d")
    [result] = share(platform, path, domain="d", user=admin, name="small")
    assert result.rows_total == 300
    staging = platform.settings.staging_dir
    assert not [p for p in staging.iterdir() if p != platform.settings.previews_dir]
    con, close = small.cursor(platform.settings)
    try:  # nothing of the share's catalog is left in the process's database
        assert len(_catalogs(con) - {"memory", "system", "temp"}) == 1
    finally:
        close()


def test_a_small_share_that_fails_leaves_no_catalog_and_no_staging_behind(platform: Platform, tmp_path: Path) -> None:
    bad = tmp_path / "ragged.csv"
    bad.write_bytes(b"id,city\n1,Oslo\n\xff\xfe\x00\x00garbage\x00\n")
    admin = ensure_admin(platform)
    add_domain(platform, "d")
    assert small.is_small(bad, "create")
    with pytest.raises(ThresholdError) as refused:
        share(platform, bad, domain="d", user=admin, name="ragged")
    assert "\n" not in str(refused.value)
    staging = platform.settings.staging_dir
    assert not [p for p in staging.iterdir() if p != platform.settings.previews_dir]
    con, close = small.cursor(platform.settings)
    try:  # the failed share's catalog was detached with it
        assert len(_catalogs(con) - {"memory", "system", "temp"}) == 1
    finally:
        close()


def test_only_small_files_created_or_replaced_run_on_the_shared_database(tmp_path: Path) -> None:
    few = tmp_path / "few.csv"
    few.write_text("a\n1\n", encoding="utf-8")
    many = tmp_path / "many.csv"
    many.write_bytes(b"a\n" + b"1\n" * (small.SMALL_BYTES // 2))
    assert small.is_small(few, "create") and small.is_small(str(few), "replace")
    assert not small.is_small(few, "append") and not small.is_small(few, "merge")  # these read the published rows
    assert not small.is_small(many, "create")
    assert not small.is_small(tmp_path / "missing.csv", "create")
    assert not small.is_small(object(), "create")  # not a file, nor an Arrow table
    packed = tmp_path / "few.csv.gz"
    packed.write_bytes(gzip.compress(b"a\n1\n"))
    assert not small.is_small(packed, "create")  # its content may be many times its size: it may need to spill


def test_a_small_file_appended_to_a_small_dataset_runs_on_the_shared_database(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    few = tmp_path / "few.csv"
    few.write_text("id,city\n1,Oslo\n2,Rome\n", encoding="utf-8")
    assert small.is_small(few, "append", published=small.SMALL_BYTES)
    assert not small.is_small(few, "append", published=small.SMALL_BYTES + 1)  # its profile reads the published rows
    assert not small.is_small(few, "append") and not small.is_small(few, "merge", published=1)
    assert not small.is_small(tmp_path / "missing.csv", "append", published=1)
    admin = ensure_admin(platform)
    add_domain(platform, "d")
    share(platform, few, domain="d", user=admin, name="few")
    own: list[Path] = []
    monkeypatch.setattr(
        service, "share_connection", lambda p, staging: own.append(staging) or early.connect(p.settings, staging)
    )
    [result] = share(platform, few, domain="d", user=admin, name="few", mode="append")
    assert result.rows_total == 4 and own == []
    with platform.store.session() as s:  # as if another share had made it large since
        s.execute(update(Dataset).where(Dataset.full_name == "d.few").values(size_bytes=small.SMALL_BYTES + 1))
    [result] = share(platform, few, domain="d", user=admin, name="few", mode="append")
    assert result.rows_total == 6 and len(own) == 1


def test_only_small_arrow_tables_created_or_replaced_run_on_the_shared_database(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    few = pa.table({"a": [1, 2, 3]})
    many = pa.table({"a": pa.array(range(small.SMALL_BYTES // 8 + 1), pa.int64())})
    assert small.is_small(few, "create") and small.is_small(few, "replace")
    assert not small.is_small(few, "append") and not small.is_small(few, "merge")
    assert not small.is_small(many, "create")
    admin = ensure_admin(platform)
    add_domain(platform, "d")
    monkeypatch.setattr(service, "share_connection", lambda *_: pytest.fail("a database of its own"))
    [result] = share(platform, few, domain="d", user=admin, name="few")
    assert result.rows_total == 3
    con, close = small.cursor(platform.settings)
    try:  # nothing of the share's catalog is left in the process's database
        assert len(_catalogs(con) - {"memory", "system", "temp"}) == 1
    finally:
        close()


def test_only_small_pandas_frames_created_or_replaced_run_on_the_shared_database(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    few = pd.DataFrame({"plant": ["Lyon", "Gernsheim", "Lyon"], "kwh": [1.5, 2.0, 3.25]})
    many = pd.DataFrame({"a": range(small.SMALL_BYTES // 8 + 1)})
    # Strings held as Python objects: a pointer each without `deep`, their characters with it.
    wordy = pd.DataFrame({"text": ["x" * 1000] * (small.SMALL_BYTES // 1000)})
    assert small.is_small(few, "create") and small.is_small(few, "replace")
    assert not small.is_small(few, "append") and not small.is_small(few, "merge")
    assert not small.is_small(many, "create") and not small.is_small(wordy, "create")
    assert not small.is_small(few["kwh"], "create")  # a Series is not a frame
    admin = ensure_admin(platform)
    add_domain(platform, "d")
    monkeypatch.setattr(service, "share_connection", lambda *_: pytest.fail("a database of its own"))
    [result] = share(platform, few, domain="d", user=admin, name="few")
    assert result.rows_total == 3


def test_a_forked_child_opens_its_own_database_and_leaves_the_parents_alone(platform: Platform) -> None:
    """As in a child forked after its parent shared (the key holds the pid; forking here is not safe with
    DuckDB's threads running): the parent's database is set aside untouched, the child gets its own."""
    saved, away = dict(small._databases), list(small._forked_away)
    small._databases.clear()
    try:
        con, close = small.cursor(platform.settings)
        close()
        [(key, db)] = small._databases.items()
        parents = (os.getpid() + 1, *key[1:])
        small._databases[parents] = small._databases.pop(key)  # this process now looks like that parent's child
        con, close = small.cursor(platform.settings)
        assert con.execute("SELECT 42").fetchone() == (42,)
        close()
        assert list(small._databases) == [key] and small._databases[key] is not db
        assert small._forked_away[-1] is db
        assert db.execute("SELECT 1").fetchone() == (1,)  # not closed
    finally:
        for created in [*small._databases.values(), *small._forked_away[len(away) :]]:
            created.close()
        small._databases.clear()
        small._databases.update(saved)
        small._forked_away[:] = away
