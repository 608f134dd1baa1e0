"""Crashes clean up after themselves, and never touch a writer that is still at work.

A share killed with SIGKILL (a real process) between its Iceberg commit and its publish leaves an
abandoned snapshot and its data file: the next share of that dataset expires the snapshot and
removes the file. Staging and upload folders of dead processes go at the next share or start;
files no snapshot references go once older than the grace period; a dataset whose writer lock is
held is left alone. A write that fails (a store locked past the timeout) leaves no file behind.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from threshold import cleanup, locks, staging
from threshold.errors import TransientError
from threshold.lakefiles import inventory
from threshold.platform import Platform

from .small_lake import count, dead_folder, killed_share, older, put, table_files


def _referenced(platform: Platform, ident: str) -> set[str]:
    folder = platform.lake.table_dir(ident)
    return {str(p.relative_to(folder)) for p in inventory(platform.lake, platform.lake.load(ident)).paths()}


def test_a_share_killed_between_commit_and_publish_is_expired_with_its_file_by_the_next_share(
    lake_home: Platform,
) -> None:
    put(lake_home, "d.t", 0, 10, mode="create")
    published = lake_home.lake.load("d.t").current_snapshot().snapshot_id
    killed_share(lake_home, "d.t", 1000, 7, "append")

    table = lake_home.lake.load("d.t")
    abandoned = table.current_snapshot().snapshot_id
    assert abandoned != published and len(table.snapshots()) == 2, "the kill did not land after the commit"
    assert count(lake_home, "d.t") == 10  # readers never saw it
    data_before = {f for f in table_files(lake_home, "d.t") if f.startswith("data/")}
    assert len(data_before) == 2

    result = put(lake_home, "d.t", 500, 5)

    table = lake_home.lake.load("d.t")
    assert [s.snapshot_id for s in table.snapshots()] == [published, result.snapshot_id]
    assert count(lake_home, "d.t") == 15
    data_after = {f for f in table_files(lake_home, "d.t") if f.startswith("data/")}
    assert len(data_after) == 2 and len(data_before & data_after) == 1, "the abandoned file went, the published stayed"
    unreferenced = table_files(lake_home, "d.t") - _referenced(lake_home, "d.t")
    assert not [f for f in unreferenced if not f.endswith(".metadata.json")], "no data file or manifest is left over"


def test_a_create_killed_before_publishing_leaves_nothing_after_the_next_share(lake_home: Platform) -> None:
    killed_share(lake_home, "d.fresh", 0, 4, "create")
    assert lake_home.lake.exists("d.fresh") and table_files(lake_home, "d.fresh")

    put(lake_home, "d.fresh", 100, 3, mode="create")

    assert count(lake_home, "d.fresh") == 3
    assert len(lake_home.lake.load("d.fresh").snapshots()) == 1
    assert len([f for f in table_files(lake_home, "d.fresh") if f.startswith("data/")]) == 1


def test_the_start_up_sweep_cleans_a_killed_share_without_any_new_share(lake_home: Platform) -> None:
    put(lake_home, "d.t", 0, 10, mode="create")
    killed_share(lake_home, "d.t", 1000, 7, "append")
    killed_share(lake_home, "d.gone", 0, 3, "create")

    sweeps = {s.dataset: s for s in cleanup.sweep_home(lake_home)}

    assert sweeps["d.t"].rolled_back is not None and len(sweeps["d.t"].expired) == 1
    assert any(p.suffix == ".parquet" for p in sweeps["d.t"].removed)
    assert sweeps["d.gone"].dropped_table and not lake_home.lake.exists("d.gone")
    assert not lake_home.lake.table_dir("d.gone").exists()
    assert len(lake_home.lake.load("d.t").snapshots()) == 1
    assert all(not s.changed for s in cleanup.sweep_home(lake_home)), "a second sweep finds nothing"


def _dead_folder(root: Path, name: str) -> Path:
    """A staging folder owned by a process that has exited, with an upload in it."""
    dead_folder(root / name)
    (root / name / "upload.csv").write_bytes(b"x" * 1000)
    return root / name


def test_staging_and_upload_folders_of_dead_processes_go_at_the_next_share_and_live_ones_stay(
    lake_home: Platform,
) -> None:
    root = lake_home.settings.staging_dir
    dead_upload = _dead_folder(root, "upload-dead")
    dead_share = _dead_folder(root, "deadbeef")
    mine = staging.own_folder(root / "upload-mine")  # this process: alive
    young = root / "no-owner-yet"
    young.mkdir()  # a folder whose owner file is not written yet: kept through the grace period

    put(lake_home, "d.t", 0, 3, mode="create")

    assert not dead_upload.exists() and not dead_share.exists()
    assert mine.exists() and young.exists()
    removed = staging.clean_staging(lake_home.settings, now=young.stat().st_mtime + 3600 * 2)
    assert [f.path for f in removed] == [young]


def test_uploads_waiting_in_a_preview_are_not_scratch_space(lake_home: Platform) -> None:
    waiting = lake_home.settings.previews_dir / "token" / "plant_kpis.xlsx"
    waiting.parent.mkdir(parents=True)
    waiting.write_bytes(b"x" * 100)
    older(waiting, 10 * 24 * 3600)

    removed = staging.clean_staging(lake_home.settings, now=waiting.stat().st_mtime + 30 * 24 * 3600)

    assert removed == [] and waiting.exists(), "previews expire on their own clock (sharing.staged)"


def test_a_folder_whose_pid_was_reused_by_another_process_is_dead(lake_home: Platform) -> None:
    folder = staging.own_folder(lake_home.settings.staging_dir / "reused")
    owner = json.loads((folder / staging.OWNER).read_text())
    owner["started"] = (owner["started"] or 0) + 12345  # same pid, started at another time: another process
    (folder / staging.OWNER).write_text(json.dumps(owner))

    assert staging.owner_state(folder) == "dead"
    assert [f.path for f in staging.clean_staging(lake_home.settings)] == [folder]


def test_unreferenced_files_go_only_once_older_than_the_grace_period(lake_home: Platform) -> None:
    put(lake_home, "d.t", 0, 3, mode="create")
    stray = lake_home.lake.table_dir("d.t") / "data" / "stray.parquet"
    stray.write_bytes(b"PAR1 not referenced")

    young = cleanup.sweep_dataset(lake_home, "d.t")
    assert stray.exists() and young.kept_young == 1

    later = cleanup.sweep_dataset(lake_home, "d.t", now=stray.stat().st_mtime + 3601)
    assert not stray.exists() and later.removed == [stray]
    assert count(lake_home, "d.t") == 3


def test_a_dataset_being_written_is_never_touched(lake_home: Platform) -> None:
    put(lake_home, "d.t", 0, 3, mode="create")
    stray = lake_home.lake.table_dir("d.t") / "data" / "in-progress.parquet"
    stray.write_bytes(b"a writer's file, not committed yet")
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with locks.dataset_lock(lake_home, "d.t"):
            holding.set()
            release.wait(60)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert holding.wait(60)
        result = cleanup.sweep_dataset(lake_home, "d.t", now=stray.stat().st_mtime + 10 * 24 * 3600)
        assert result.busy and stray.exists()
        assert [s.busy for s in cleanup.sweep_home(lake_home, now=stray.stat().st_mtime + 10 * 24 * 3600)] == [True]
        assert stray.exists()
    finally:
        release.set()
        t.join(60)


@pytest.fixture
def impatient(tmp_path: Path, prepared_homes: Any) -> Iterator[Platform]:
    """A home whose writes wait only half a second for a locked store (a copy of the session's empty home,
    opened so)."""
    from threshold.identity.service import add_domain

    for platform in prepared_homes.copy("empty", "sqlite", tmp_path / "impatient", lock_timeout_seconds=0.5):
        add_domain(platform, "d")
        yield platform


def test_the_catalog_waits_for_a_locked_store_as_long_as_the_store_does(impatient: Platform) -> None:
    catalog = impatient.lake.catalog
    assert catalog.engine is impatient.store.engine
    with catalog.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 500


HOLD_WRITE_LOCK = (
    "import sqlite3, sys\n"
    "c = sqlite3.connect(sys.argv[1])\n"
    "c.execute('BEGIN IMMEDIATE')\n"
    "print('locked', flush=True)\n"
    "sys.stdin.read()\n"
    "c.rollback()\n"
)
"""Holds the SQLite store's write lock in its own process until its stdin is closed."""


def test_an_append_that_gives_up_on_a_locked_store_leaves_no_file(impatient: Platform) -> None:
    put(impatient, "d.t", 0, 3, mode="create")
    before = table_files(impatient, "d.t")
    blocker = subprocess.Popen(  # another process writing, for longer than we wait: until we close its stdin
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(impatient.settings.home_dir / "threshold.db")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert blocker.stdout is not None and blocker.stdout.readline().strip() == "locked"
        with pytest.raises(TransientError, match="stayed locked .* 0.5 s .*THRESHOLD_LOCK_TIMEOUT_SECONDS"):
            put(impatient, "d.t", 100, 5)
    finally:
        blocker.communicate(timeout=60)
    assert blocker.returncode == 0

    assert table_files(impatient, "d.t") == before
    assert not any(impatient.settings.staging_dir.iterdir())
    assert count(impatient, "d.t") == 3
    put(impatient, "d.t", 100, 5)
    assert count(impatient, "d.t") == 8


@pytest.fixture
def hasty(tmp_path: Path, prepared_homes: Any) -> Iterator[Platform]:
    """A home whose writers wait only 0.2 s for another (a copy of the session's empty home, opened so)."""
    from threshold.identity.service import add_domain

    for platform in prepared_homes.copy("empty", "sqlite", tmp_path / "h", writer_wait_seconds=0.2):
        add_domain(platform, "d")
        yield platform


def test_a_writer_waits_a_bounded_time_for_another_and_says_who_is_in_the_way(hasty: Platform) -> None:
    platform = hasty
    put(platform, "d.t", 0, 3, mode="create")
    with locks.dataset_lock(platform, "d.t"):
        with pytest.raises(TransientError, match="d.t is being written by another .* 0.2 s"):
            put_in_thread(platform)
    assert count(platform, "d.t") == 3


def put_in_thread(platform: Platform) -> None:
    """Append from another thread (flock locks are per open file: the test thread's lock blocks it)."""
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            put(platform, "d.t", 10, 2)
        except BaseException as e:
            outcome.append(e)

    t = threading.Thread(target=run)
    t.start()
    t.join(120)
    if outcome:
        raise outcome[0]


def test_a_table_folder_no_table_owns_goes_once_old(lake_home: Platform) -> None:
    folder = lake_home.lake.table_dir("d.ghost") / "data"
    folder.mkdir(parents=True)
    stray = folder / "x.parquet"
    stray.write_bytes(b"left by a table dropped long ago")
    assert [s.dataset for s in cleanup.sweep_home(lake_home) if s.kept_young] == ["d.ghost"]
    older(stray, 2 * 3600)
    [sweep] = [s for s in cleanup.sweep_home(lake_home) if s.dataset == "d.ghost"]
    assert sweep.removed == [stray] and not lake_home.lake.table_dir("d.ghost").exists()
