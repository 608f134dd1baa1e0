"""Table maintenance never removes what a reader is promised.

Compaction merges many small files into one new snapshot with the same rows; older snapshots keep
reading their own files. Expiry removes snapshots, and the files only they read, only past what the
home promises for time travel (`time_travel_days`; 0 = for ever); the published snapshot, and the
one a query `AS OF` the promise's first moment reads, always stay.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from threshold.catalog.service import describe
from threshold.errors import Denied, InvalidInput
from threshold.identity.service import ADMIN, add_domain, get_person
from threshold.lakefiles import live_files
from threshold.operations.maintenance import compact, expire, maintain_all
from threshold.platform import Platform
from threshold.store.models import Share

from .small_lake import count, put, rows, table_files


def _appends(platform: Platform, n: int) -> list[int]:
    snaps = [put(platform, "d.t", 0, 10, mode="create").snapshot_id]
    snaps += [put(platform, "d.t", 100 * k, 10).snapshot_id for k in range(1, n)]
    return snaps


def test_compaction_merges_small_files_into_one_snapshot_with_the_same_rows(lake_home: Platform) -> None:
    snaps = _appends(lake_home, 12)
    before = rows(lake_home, "SELECT * FROM d.t ORDER BY id")

    result = compact(lake_home, get_person(lake_home, "anna"), "d.t")

    assert (result.files_before, result.files_after, result.rows) == (12, 1, 120)
    assert rows(lake_home, "SELECT * FROM d.t ORDER BY id") == before
    table = lake_home.lake.load("d.t")
    assert len(live_files(lake_home.lake, table, result.snapshot_id)) == 1
    assert count(lake_home, "d.t", snaps[5]) == 60  # time travel still reads the old files
    assert describe(lake_home, "d.t").history[0].mode == "compact"
    assert compact(lake_home, get_person(lake_home, "anna"), "d.t").skipped == "no small files to merge"
    put(lake_home, "d.t", 5000, 3)
    assert count(lake_home, "d.t") == 123


def test_compaction_keeps_renamed_and_added_columns_by_field_id(lake_home: Platform) -> None:
    import pyarrow as pa

    from threshold.sharing.service import share

    put(lake_home, "d.t", 0, 5, mode="create")
    share(
        lake_home,
        pa.table({"id": pa.array([50, 51], pa.int64()), "label": ["x", "y"], "extra": [1.5, 2.5]}),
        domain="d",
        name="t",
        mode="append",
        evolve=True,
        user=get_person(lake_home, ADMIN),
    )
    before = rows(lake_home, "SELECT * FROM d.t ORDER BY id")
    compact(lake_home, get_person(lake_home, ADMIN), "d.t")
    assert rows(lake_home, "SELECT * FROM d.t ORDER BY id") == before
    assert before[-1]["extra"] == 2.5 and before[0]["extra"] is None


def test_maintenance_needs_an_owner(lake_home: Platform) -> None:
    _appends(lake_home, 2)
    with pytest.raises(Denied, match="rule: domain.owner"):
        compact(lake_home, get_person(lake_home, "carla"), "d.t")
    with pytest.raises(Denied, match="is not a platform administrator .rule: admin."):
        maintain_all(lake_home, get_person(lake_home, "anna"))


def test_without_a_time_travel_promise_in_days_nothing_published_is_expired(lake_home: Platform) -> None:
    _appends(lake_home, 4)
    admin = get_person(lake_home, ADMIN)
    with pytest.raises(InvalidInput, match="for ever .*THRESHOLD_TIME_TRAVEL_DAYS=0"):
        expire(lake_home, admin, "d.t", older_than_days=1)
    result = expire(lake_home, admin, "d.t")
    assert result.expired == [] and result.kept == 4


@pytest.fixture
def promising(tmp_path: Path, prepared_homes: Any) -> Iterator[Platform]:
    """A home that promises 7 days of time travel (a copy of the session's empty home, opened so)."""
    for platform in prepared_homes.copy("empty", "sqlite", tmp_path / "home", operations={"time_travel_days": 7}):
        add_domain(platform, "d")
        yield platform


def _age_shares(platform: Platform, days_ago: list[float]) -> None:
    """Pretend the shares were published `days_ago` (what the promise is measured against)."""
    now = datetime.now(UTC)
    with platform.store.session() as s:
        shares = list(s.query(Share).order_by(Share.id))
        for share, days in zip(shares, days_ago, strict=True):
            share.at = now - timedelta(days=days)


def test_expiry_keeps_what_time_travel_promises_and_removes_only_the_files_nobody_reads_any_more(
    promising: Platform,
) -> None:
    import pyarrow as pa

    from threshold.sharing.service import share

    admin = get_person(promising, ADMIN)
    first = put(promising, "d.t", 0, 10, mode="create").snapshot_id
    # a replace: the first share's file is read only by the first snapshot from now on
    second = share(
        promising,
        pa.table({"id": pa.array([1, 2], pa.int64()), "label": ["a", "b"]}),
        domain="d",
        name="t",
        mode="replace",
        user=admin,
    )[0].snapshot_id
    third = put(promising, "d.t", 100, 5).snapshot_id
    fourth = put(promising, "d.t", 200, 5).snapshot_id
    _age_shares(promising, [30, 20, 3, 1])
    files_before = table_files(promising, "d.t")

    with pytest.raises(InvalidInput, match="promises 7 days"):
        expire(promising, admin, "d.t", older_than_days=2)
    dry = expire(promising, admin, "d.t", dry_run=True)
    assert dry.expired == [first] and table_files(promising, "d.t") == files_before
    result = expire(promising, admin, "d.t")

    # kept: the snapshot readers had 7 days ago (second), and everything since
    assert result.expired == [first] and result.removed_files >= 1
    remaining = {s.snapshot_id for s in promising.lake.load("d.t").snapshots()}
    assert remaining == {second, third, fourth}
    assert count(promising, "d.t") == 12 and count(promising, "d.t", second) == 2
    eight_days_ago = (datetime.now(UTC) - timedelta(days=6, hours=23)).strftime("%Y-%m-%d %H:%M:%S")
    assert rows(promising, f"SELECT count(*) AS n FROM d.t FOR TIMESTAMP AS OF '{eight_days_ago}'") == [{"n": 2}]
    gone = files_before - table_files(promising, "d.t")
    assert any(f.startswith("data/") for f in gone), "the first share's data file went with its snapshot"
    assert expire(promising, admin, "d.t").skipped


def test_expiry_never_removes_the_published_snapshot_however_old(promising: Platform) -> None:
    only = put(promising, "d.t", 0, 10, mode="create").snapshot_id
    _age_shares(promising, [400])
    result = expire(promising, get_person(promising, ADMIN), "d.t", older_than_days=30)
    assert result.expired == [] and [s.snapshot_id for s in promising.lake.load("d.t").snapshots()] == [only]
    assert count(promising, "d.t") == 10
