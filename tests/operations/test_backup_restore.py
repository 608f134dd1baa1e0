"""Backup is consistent and online; restore works anywhere and verifies every dataset.

The backup is taken while appends go on in other threads. Restored to another path, the new home
publishes for every dataset a snapshot the original published, and reads exactly the rows the
original reads at that snapshot. A damaged backup is refused before anything is written.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from threshold.errors import Conflict, Denied, InvalidInput, NotFound
from threshold.identity.service import ADMIN, get_person
from threshold.operations.backup import MANIFEST, backup
from threshold.operations.restore import restore
from threshold.platform import Platform
from threshold.store.models import Dataset

from .small_lake import count, put, rows

DATASETS = ("d.a", "d.b", "d.c")


def _every_dataset(platform: Platform) -> dict[str, tuple[int, list[dict[str, Any]]]]:
    """Each dataset's published snapshot and all its rows, in order."""
    with platform.store.session() as s:
        published = {d.full_name: d.snapshot_id for d in s.query(Dataset)}
    return {
        name: (int(sid), rows(platform, f"SELECT * FROM {name} ORDER BY id"))
        for name, sid in sorted(published.items())
        if sid is not None
    }


def _as_of(platform: Platform, name: str, snapshot: int) -> list[dict[str, Any]]:
    return rows(platform, f"SELECT * FROM {name} FOR VERSION AS OF {snapshot} ORDER BY id")


def _backup_while_appending(platform: Platform, dest: Path) -> tuple[Any, dict[str, int]]:
    """Back up while one appender per dataset keeps appending until the backup is done. The backup waits,
    after copying the metadata store and before copying files, until every dataset got another append:
    the files it copies must be those of its catalog state, not of the live home."""
    done = threading.Event()
    appended = dict.fromkeys(DATASETS, 0)
    errors: list[BaseException] = []
    started = threading.Barrier(len(DATASETS) + 1)
    progressed = threading.Condition()

    def appender(name: str, base: int) -> None:
        started.wait()
        i = 0
        while not done.is_set() or i < 2:  # at least two appends each, as many as the backup takes
            try:
                put(platform, name, base + 1000 * i, 50)
            except BaseException as e:
                errors.append(e)
                return
            with progressed:
                appended[name] += 1
                progressed.notify_all()
            i += 1

    def hold_until_appended(phase: str, finished: int, total: int) -> None:
        if phase == "files" and finished == 0:
            seen = dict(appended)
            with progressed:
                assert progressed.wait_for(lambda: errors or all(appended[n] > seen[n] for n in DATASETS), 300)

    threads = [threading.Thread(target=appender, args=(n, 1_000_000 * (k + 1))) for k, n in enumerate(DATASETS)]
    for t in threads:
        t.start()
    started.wait()
    try:
        result = backup(platform, get_person(platform, ADMIN), dest, progress=hold_until_appended)
    finally:
        done.set()
        for t in threads:
            t.join(300)
    assert not errors, errors
    return result, appended


def test_a_backup_taken_during_appends_restores_elsewhere_to_exactly_what_was_published(
    lake_home: Platform, tmp_path: Path
) -> None:
    for k, name in enumerate(DATASETS):
        put(lake_home, name, k * 100, 20 + k, mode="create")

    result, appended = _backup_while_appending(lake_home, tmp_path / "backup")

    assert all(n >= 2 for n in appended.values())
    assert result.datasets == 3 and result.files > 0 and not result.missing
    restored = restore(tmp_path / "backup", tmp_path / "elsewhere" / "home")
    assert restored.ok, [d.problem for d in restored.datasets]
    assert restored.restored_from == result.home_id != restored.home_id
    new = Platform.open(tmp_path / "elsewhere" / "home")
    try:
        got = _every_dataset(new)
        assert sorted(got) == sorted(DATASETS)
        for name, (snapshot, data) in got.items():
            assert data == _as_of(lake_home, name, snapshot), f"{name} differs from the original at {snapshot}"
            assert len(data) == next(d.rows_found for d in restored.datasets if d.name == name)
        # the restored home is a home of its own: it writes, and the original does not see it
        put(new, "d.a", 9_000_000, 5)
        assert count(new, "d.a") == len(got["d.a"][1]) + 5
    finally:
        new.close()
    assert count(lake_home, "d.a") == 20 + 50 * appended["d.a"]


def _ten_rows(platform: Platform) -> None:
    put(platform, "d.a", 0, 10, mode="create")


@pytest.fixture
def ten_rows(lake_home_with: Any) -> Platform:
    """`lake_home` with d.a, ten rows in one share (built once per session, copied)."""
    platform, _ = lake_home_with(_ten_rows)
    return platform


def test_the_manifest_lists_every_file_with_its_checksum_and_every_dataset(ten_rows: Platform, tmp_path: Path) -> None:
    lake_home = ten_rows
    put(lake_home, "d.a", 10, 10)
    secret = lake_home.settings.session_secret()  # the server's secret signs sessions and webhooks: kept
    backup(lake_home, get_person(lake_home, ADMIN), tmp_path / "b")

    manifest = json.loads((tmp_path / "b" / MANIFEST).read_text())
    assert manifest["store"] == "sqlite" and manifest["metadata"] == "threshold.db"
    [ds] = manifest["datasets"]
    assert (ds["name"], ds["rows"], len(ds["files"])) == ("d.a", 20, 2)
    assert all(f in manifest["files"] for f in ds["files"])
    assert all(len(f["sha256"]) == 64 for f in manifest["files"].values())
    assert "secret_key" in manifest["home_files"]
    assert not any(Path(p).is_absolute() for p in manifest["files"])
    restore(tmp_path / "b", tmp_path / "r")
    assert (tmp_path / "r" / "secret_key").read_text().strip() == secret
    assert (tmp_path / "r" / "secret_key").stat().st_mode & 0o077 == 0


def test_hard_linked_backup_shares_the_files(ten_rows: Platform, tmp_path: Path) -> None:
    lake_home = ten_rows
    result = backup(lake_home, get_person(lake_home, ADMIN), tmp_path / "b", link=True)
    assert result.linked == result.files
    restored = restore(tmp_path / "b", tmp_path / "r")
    assert restored.ok


def test_a_damaged_backup_is_refused_before_anything_is_written(ten_rows: Platform, tmp_path: Path) -> None:
    lake_home = ten_rows
    backup(lake_home, get_person(lake_home, ADMIN), tmp_path / "b")
    victim = next((tmp_path / "b" / "warehouse").rglob("*.parquet"))
    victim.write_bytes(victim.read_bytes()[:-3] + b"xyz")

    with pytest.raises(Conflict, match="damaged: warehouse/d/a/data/.* does not match its checksum"):
        restore(tmp_path / "b", tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_restore_refuses_what_is_not_a_backup_and_a_home_that_is_not_empty(ten_rows: Platform, tmp_path: Path) -> None:
    lake_home = ten_rows
    with pytest.raises(NotFound, match="no complete Threshold backup"):
        restore(tmp_path, tmp_path / "r")
    backup(lake_home, get_person(lake_home, ADMIN), tmp_path / "b")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "something").write_text("x")
    with pytest.raises(InvalidInput, match="exists and is not empty"):
        restore(tmp_path / "b", tmp_path / "busy")
    with pytest.raises(InvalidInput, match="holds a SQLite store"):
        restore(tmp_path / "b", tmp_path / "r", database_url="postgresql+psycopg://nobody@127.0.0.1:1/x")


def test_backup_refuses_a_folder_in_the_home_a_folder_in_use_and_people_who_are_not_admins(
    lake_home: Platform, tmp_path: Path
) -> None:
    admin = get_person(lake_home, ADMIN)
    with pytest.raises(InvalidInput, match="outside the home"):
        backup(lake_home, admin, lake_home.settings.home_dir / "backups")
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    with pytest.raises(InvalidInput, match="not empty"):
        backup(lake_home, admin, tmp_path / "used")
    with pytest.raises(Denied, match="is not a platform administrator .rule: admin."):
        backup(lake_home, get_person(lake_home, "anna"), tmp_path / "b")
    assert not (tmp_path / "b").exists()


@pytest.mark.postgres
def test_a_postgresql_home_backs_up_with_pg_dump_during_appends_and_restores_into_another_database(
    any_lake_home: Platform, backend: str, tmp_path: Path, empty_database_url: str
) -> None:
    if backend != "postgres":
        pytest.skip("the SQLite home is covered above")
    platform = any_lake_home
    for k, name in enumerate(DATASETS):
        put(platform, name, k * 100, 20 + k, mode="create")

    result, _ = _backup_while_appending(platform, tmp_path / "backup")

    assert result.store == "postgresql" and (tmp_path / "backup" / "metadata.pgdump").is_file()
    restored = restore(
        tmp_path / "backup", tmp_path / "restored", database_url=empty_database_url, warehouse_dir=tmp_path / "wh"
    )
    assert restored.ok, [d.problem for d in restored.datasets]
    new = Platform.open(tmp_path / "restored", database_url=empty_database_url, warehouse=tmp_path / "wh")
    try:
        for name, (snapshot, data) in _every_dataset(new).items():
            assert data == _as_of(platform, name, snapshot)
    finally:
        new.close()
