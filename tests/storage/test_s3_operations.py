"""Backup, restore, doctor and repair of a home whose warehouse is on the object store (moto_server): the
backup holds the bucket's objects, a restore uploads them under a new bucket prefix (refusing one that
holds a warehouse, leaving nothing when it fails), and the doctor judges the objects in the store, not
this machine's cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import inprocess
import s3homes
from orgs import Org
from storage.conftest import s3_storage
from threshold.errors import InvalidInput, ThresholdError
from threshold.gateway.service import query
from threshold.home import STAMP, ForeignWarehouse
from threshold.operations import restore as restore_
from threshold.operations.backup import MANIFEST, backup
from threshold.operations.doctor import diagnose
from threshold.operations.move import move_warehouse
from threshold.operations.repair import examine
from threshold.operations.restore import restore
from threshold.platform import Platform
from threshold.sharing.service import share
from threshold.storage import S3Files

KPIS = "manufacturing.plant_kpis"
BY_PLANT = f"SELECT plant, count(*) AS n FROM {KPIS} GROUP BY plant ORDER BY plant"


def _files(platform: Platform) -> S3Files:
    files = platform.lake.files
    assert isinstance(files, S3Files)
    return files


def _stored(platform: Platform) -> set[str]:
    """Keys under the home's prefix, read from the server (not the cache)."""
    from pyarrow.fs import FileSelector, FileType

    files = _files(platform)
    infos = files.fs.get_file_info(FileSelector(files.base, recursive=True, allow_not_found=True))
    return {i.path[len(files.base) + 1 :] for i in infos if i.type == FileType.File}


def _prefix_keys(platform: Platform, prefix: str) -> set[str]:
    from pyarrow.fs import FileSelector, FileType

    files = _files(platform)
    base = f"{files.settings.bucket}/{prefix}"
    return {
        i.path
        for i in files.fs.get_file_info(FileSelector(base, recursive=True, allow_not_found=True))
        if i.type == FileType.File
    }


def test_a_backup_holds_the_objects_and_restores_into_another_prefix(
    module_s3_org: Org, tmp_path: Path, s3_prefix: str
) -> None:
    s3_org = module_s3_org  # backs the home up, restores elsewhere: the module's org
    p = s3_org.platform
    expected = query(p, BY_PLANT, user=s3_org.anna).table.to_pylist()
    for d in p.settings.warehouse_dir.iterdir():  # this machine's cache is no authority: empty it
        if d.is_dir():
            import shutil

            shutil.rmtree(d)
    done = backup(p, s3_org.admin, tmp_path / "bk")
    assert done.missing == [] and done.files > 0
    manifest = json.loads((tmp_path / "bk" / MANIFEST).read_text())
    assert manifest["warehouse"].startswith(f"s3://{_files(p).base}")
    in_backup = set(manifest["files"])
    assert {k for k in _stored(p) if k.endswith(".parquet")} <= in_backup
    assert all((tmp_path / "bk" / "warehouse" / k).is_file() for k in in_backup)

    target = f"{s3_prefix}-restored"
    result = restore(tmp_path / "bk", tmp_path / "restored", storage=s3_storage(target))
    assert result.ok and [d.name for d in result.datasets] == [KPIS]
    again = Platform.open(tmp_path / "restored", storage=s3_storage(target))
    try:
        assert in_backup <= _stored(again)
        stamp = json.loads(_files(again).read_small(_files(again).root / STAMP) or b"{}")
        assert stamp["home_id"] == result.home_id != manifest["home_id"]
        assert query(again, BY_PLANT, user=s3_org.anna).table.to_pylist() == expected
    finally:
        again.close()
    assert query(p, BY_PLANT, user=s3_org.anna).table.to_pylist() == expected  # the original is untouched


def test_a_restore_into_a_prefix_holding_a_warehouse_is_refused_and_changes_nothing(
    module_s3_org: Org, tmp_path: Path
) -> None:
    s3_org = module_s3_org  # backs the home up, restores elsewhere: the module's org
    p = s3_org.platform
    backup(p, s3_org.admin, tmp_path / "bk")
    before = _stored(p)
    with pytest.raises(InvalidInput, match="already holds a warehouse") as refused:
        restore(tmp_path / "bk", tmp_path / "restored", storage=s3_storage(p.settings.storage.prefix))
    assert "\n" not in str(refused.value)
    assert _stored(p) == before and not (tmp_path / "restored").exists()
    assert len(query(p, f"SELECT * FROM {KPIS}", user=s3_org.anna).table) == 5


def test_a_restore_that_fails_after_uploading_leaves_no_object_and_no_home(
    module_s3_org: Org, tmp_path: Path, s3_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_org = module_s3_org  # backs the home up, restores elsewhere: the module's org
    p = s3_org.platform
    backup(p, s3_org.admin, tmp_path / "bk")

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise ThresholdError("the machine went away (test fault)")

    monkeypatch.setattr(restore_, "verify_datasets", fail)  # after the upload and the stamp
    target = f"{s3_prefix}-failed"
    with pytest.raises(ThresholdError, match="test fault"):
        restore(tmp_path / "bk", tmp_path / "restored", storage=s3_storage(target))
    assert _prefix_keys(p, target) == set()
    assert not (tmp_path / "restored").exists()


def test_the_doctor_and_repair_judge_the_objects_in_the_store_not_the_cache(s3_org: Org) -> None:
    p = s3_org.platform
    files = _files(p)
    assert diagnose(p, s3_org.admin).healthy
    [data] = [k for k in _stored(p) if k.startswith("manufacturing/plant_kpis/data/")]
    victim = files.root / data
    files.fetch(victim)  # a copy in this machine's cache...
    files.fs.delete_file(files.key(victim))  # ...of an object the store lost
    assert victim.is_file()
    stray = files.root / "manufacturing/plant_kpis/data/stray.parquet"
    stray.write_bytes(b"left by a killed writer")
    files.put([stray])
    other = Platform.open(p.settings.home_dir, storage=s3_storage(p.settings.storage.prefix), cleanup_grace_minutes=0)
    try:
        report = diagnose(other, s3_org.admin)
        codes = {f.kind: f for f in report.findings}
        assert "dataset.lost-files" in codes and victim.name in codes["dataset.lost-files"].message
        assert "table.orphan-files" in codes and codes["table.orphan-files"].bytes == len(b"left by a killed writer")
        [lost] = examine(other, s3_org.admin, KPIS).lost
        assert lost.reason == "missing" and lost.location.endswith(victim.name)
    finally:
        other.close()


def test_the_doctor_finds_a_truncated_object(s3_org: Org) -> None:
    p = s3_org.platform
    files = _files(p)
    [data] = [k for k in _stored(p) if k.startswith("manufacturing/plant_kpis/data/")]
    victim = files.root / data
    files.write_small(victim, b"PAR1 short")
    victim.unlink(missing_ok=True)
    [lost] = examine(p, s3_org.admin, KPIS).lost
    assert lost.reason.startswith("truncated or changed")


def test_move_warehouse_copies_to_a_new_prefix_and_the_old_place_takes_no_more_writes(
    s3_org: Org, tmp_path: Path, s3_prefix: str
) -> None:
    p = s3_org.platform
    old, target = p.settings.storage.prefix, f"{s3_prefix}-moved"
    before = _stored(p)
    env = s3homes.subprocess_env(p.settings)
    done = inprocess.threshold("move-warehouse", "--prefix", target, home=p.settings.home_dir, env=env)
    assert done.returncode == 0, done.stderr
    assert f"to s3://{p.settings.storage.bucket}/{target}" in done.stdout
    moved = Platform.open(p.settings.home_dir, storage=s3_storage(target))
    stale = Platform.open(p.settings.home_dir, storage=s3_storage(old))
    try:
        assert _stored(moved) == before  # every object, and the stamp: the same home
        assert (
            json.loads(_files(moved).read_small(_files(moved).root / STAMP) or b"{}")["home_id"]
            == json.loads(_files(p).read_small(_files(p).root / STAMP) or b"{}")["home_id"]
        )
        with pytest.raises(ForeignWarehouse, match="which still exists"):
            share(
                stale, s3_org.plant_kpis_csv, domain="manufacturing", name="plant_kpis", mode="append", user=s3_org.anna
            )
        assert _stored(stale) == before  # the old place: untouched, its objects left for the operator
        share(moved, s3_org.plant_kpis_csv, domain="manufacturing", name="plant_kpis", mode="append", user=s3_org.anna)
        assert query(moved, f"SELECT count(*) AS n FROM {KPIS}", user=s3_org.anna).table.to_pylist() == [{"n": 10}]
        with pytest.raises(InvalidInput, match="already holds a warehouse"):
            move_warehouse(stale, s3_org.admin, prefix=target)
        with pytest.raises(InvalidInput, match="overlap"):
            move_warehouse(moved, s3_org.admin, prefix=f"{target}/inner")
    finally:
        moved.close()
        stale.close()


def test_cli_backup_and_restore_of_a_home_on_the_store_follow_the_storage_settings(
    module_s3_org: Org, tmp_path: Path, s3_prefix: str
) -> None:
    s3_org = module_s3_org  # backs the home up, restores elsewhere: the module's org
    p = s3_org.platform
    env = s3homes.subprocess_env(p.settings)
    done = inprocess.threshold("backup", tmp_path / "bk", home=p.settings.home_dir, env=env)
    assert done.returncode == 0, done.stderr
    target = f"{s3_prefix}-cli"
    restored = inprocess.threshold(
        "restore", tmp_path / "bk", "--home", tmp_path / "new", env=env | {"THRESHOLD_STORAGE__PREFIX": target}
    )
    assert restored.returncode == 0, restored.stderr
    assert "1 of 1 datasets verified" in restored.stdout
    assert any(k.endswith(".parquet") for k in _prefix_keys(p, target))
    again = inprocess.threshold(  # the prefix holds a warehouse now: refused, in one line
        "restore", tmp_path / "bk", "--home", tmp_path / "newer", env=env | {"THRESHOLD_STORAGE__PREFIX": target}
    )
    assert again.returncode != 0 and "already holds a warehouse" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1 and not (tmp_path / "newer").exists()
