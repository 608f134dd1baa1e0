"""`threshold doctor` finds each kind of trouble a home can be in; `--fix` repairs what is safe to.

Every case is a real home put in that state the way it happens (a killed share, a deleted file, a
leftover staging folder, a table from before relocatable homes), then diagnosed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from threshold import locks
from threshold.errors import Denied
from threshold.identity.service import ADMIN, get_person
from threshold.operations.doctor import Report, diagnose
from threshold.platform import Platform

from .small_lake import added_file, count, dead_folder, killed_share, older, put


def _kinds(report: Report) -> dict[str, tuple[str, str]]:
    return {f.kind: (f.severity, f.subject) for f in report.findings}


def _doctor(platform: Platform, **kw) -> Report:
    return diagnose(platform, get_person(platform, ADMIN), **kw)


def test_a_healthy_home_is_healthy(lake_home: Platform) -> None:
    put(lake_home, "d.t", 0, 10, mode="create")
    report = _doctor(lake_home)
    assert report.healthy and report.findings == []
    assert (report.datasets, report.data_files, report.lake_tables) == (1, 1, 1)
    assert report.disks and report.disks[0]["free"] > 0
    assert report.home_id and report.home_id in (lake_home.settings.warehouse_dir / ".threshold-home").read_text()


def test_debris_of_killed_writes_is_found_and_fixed(lake_home: Platform) -> None:
    put(lake_home, "d.t", 0, 10, mode="create")
    killed_share(lake_home, "d.t", 1000, 7, "append")
    killed_share(lake_home, "d.new", 0, 3, "create")
    stray = lake_home.lake.table_dir("d.t") / "data" / "left-over.parquet"
    stray.write_bytes(b"never committed")
    older(stray, 2 * 3600)
    dead_folder(lake_home.settings.staging_dir / "upload-x")

    report = _doctor(lake_home)
    kinds = _kinds(report)
    assert kinds["table.unpublished-commit"] == ("warning", "d.t")
    assert kinds["table.abandoned-snapshots"] == ("warning", "d.t")
    assert kinds["table.orphan-files"] == ("warning", "d.t")
    assert kinds["table.unpublished"] == ("warning", "d.new")
    assert kinds["upload.abandoned"][0] == "warning"
    assert not report.healthy and all(f.fixable for f in report.findings)

    fixed = _doctor(lake_home, fix=True)
    assert fixed.healthy, fixed.findings
    assert any("d.t" in line and "expired 1 abandoned" in line for line in fixed.fixed)
    assert any("d.new" in line and "dropped" in line for line in fixed.fixed)
    assert not stray.exists() and not lake_home.lake.exists("d.new")
    assert count(lake_home, "d.t") == 10


def test_a_lost_file_is_an_error_that_points_at_repair(lake_home: Platform) -> None:
    first = put(lake_home, "d.t", 0, 10, mode="create").snapshot_id
    put(lake_home, "d.t", 10, 10)
    added_file(lake_home, "d.t", first, None).unlink()

    report = _doctor(lake_home)
    [lost] = [f for f in report.findings if f.kind == "dataset.lost-files"]
    assert lost.severity == "error" and not lost.fixable
    assert "threshold repair d.t" in lost.message and "10 rows" in lost.message
    assert _doctor(lake_home, fix=True).counts()["error"] == 1  # --fix never drops data on its own


def test_a_truncated_file_is_found_quickly_and_a_damaged_one_with_deep(lake_home: Platform) -> None:
    put(lake_home, "d.t", 0, 10, mode="create")
    [victim] = list((lake_home.lake.table_dir("d.t") / "data").iterdir())
    good = victim.read_bytes()
    victim.write_bytes(good[: len(good) // 2])
    assert "truncated" in next(f.message for f in _doctor(lake_home).findings if f.kind == "dataset.lost-files")
    victim.write_bytes(good[:8] + b"\x00" * (len(good) - 16) + good[-8:])  # same size, pages wiped
    assert "dataset.lost-files" not in _kinds(_doctor(lake_home))
    assert "dataset.lost-files" in _kinds(_doctor(lake_home, deep=True))


def test_a_writer_at_work_is_reported_not_touched(lake_home: Platform) -> None:
    put(lake_home, "d.t", 0, 10, mode="create")
    with locks.dataset_lock(lake_home, "d.t"):
        report = _doctor(lake_home)
    assert _kinds(report)["lock.held"] == ("info", "d.t")
    assert report.healthy


def test_a_table_from_before_relocatable_homes_is_made_relative_and_then_works_in_a_copy(
    lake_home: Platform, tmp_path: Path
) -> None:
    from pyiceberg.catalog.sql import SqlCatalog

    from threshold.operations.relocate import absolute_tables

    put(lake_home, "d.t", 0, 10, mode="create")
    lake_home.lake.catalog  # noqa: B018
    legacy = SqlCatalog("threshold", uri=lake_home.settings.db_url, warehouse=lake_home.settings.warehouse_dir.as_uri())
    old = legacy.create_table(
        "d.old",
        schema=pa.schema([("a", pa.int64())]),
        location=(lake_home.settings.warehouse_dir / "d" / "old").as_uri(),
    )
    old.append(pa.table({"a": [1, 2, 3]}))
    old.append(pa.table({"a": [4]}))
    legacy.engine.dispose()
    _published_as_before(lake_home, "d.old", [s.snapshot_id for s in old.refresh().snapshots()], rows=4)
    assert absolute_tables(lake_home) == ["d.old"]

    assert _kinds(_doctor(lake_home))["table.absolute"] == ("warning", "d.old")
    fixed = _doctor(lake_home, fix=True)
    assert any("d.old: locations made relative" in line for line in fixed.fixed)
    assert absolute_tables(lake_home) == []
    lake_home.close()

    copy = tmp_path / "copy"
    shutil.copytree(lake_home.settings.home_dir, copy, symlinks=True)
    moved = Platform.open(copy)
    try:
        table = moved.lake.load("d.old")
        assert table.scan().to_arrow().num_rows == 4
        first, second = [s.snapshot_id for s in table.snapshots()]
        assert len(moved.lake.plan("d.old", first).files) == 1 and len(moved.lake.plan("d.old", second).files) == 2
        assert all(str(copy) in f for f in moved.lake.plan("d.old", second).files)
    finally:
        moved.close()


def _published_as_before(platform: Platform, ident: str, snapshots: list[int], rows: int) -> None:
    """The metadata store's side of a dataset shared by an earlier version: its row and its shares."""
    from sqlalchemy import select

    from threshold.store.models import Dataset, Domain, Share

    domain, name = ident.split(".")
    with platform.store.session() as s:
        dom = s.scalars(select(Domain).where(Domain.name == domain)).one()
        ds = Dataset(
            domain_id=dom.id, name=name, full_name=ident, title=name, snapshot_id=snapshots[-1], row_count=rows
        )
        s.add(ds)
        s.flush()
        for sid in snapshots:
            s.add(Share(dataset_id=ds.id, snapshot_id=sid, mode="append"))


def test_only_admins_run_the_doctor(lake_home: Platform) -> None:
    with pytest.raises(Denied, match="is not a platform administrator .rule: admin."):
        diagnose(lake_home, get_person(lake_home, "anna"))
