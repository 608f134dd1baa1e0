"""Repair loses only what is lost.

A data file deleted (or damaged) under a dataset: `examine` names it, the published snapshots it
breaks and the rows each loses; `rollback` goes back to the last snapshot that reads fully,
`drop-lost` keeps every other row. Either way a new snapshot is published, the dataset reads and
appends again, the history and the audit log say what happened, and the owners are told.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from threshold.catalog.service import describe
from threshold.errors import Conflict, Denied, InvalidInput, NotFound
from threshold.governance.audit import search
from threshold.identity.service import ADMIN, get_person
from threshold.lake import DataLost
from threshold.lakefiles import live_files
from threshold.notifications.service import inbox
from threshold.operations.repair import examine, repair
from threshold.platform import Platform

from .small_lake import count, put, rows


def _four_shares(platform: Platform) -> list[int]:
    """d.t with shares of 10 rows each (ids 0-9, 100-109, 200-209, 300-309); their snapshot ids."""
    out = [put(platform, "d.t", 0, 10, mode="create").snapshot_id]
    out += [put(platform, "d.t", 100 * k, 10).snapshot_id for k in (1, 2, 3)]
    return out


def _file_of(platform: Platform, snapshots: list[int], k: int) -> Path:
    """The data file share `k` added."""
    table = platform.lake.load("d.t")
    added = set(live_files(platform.lake, table, snapshots[k])) - (
        set(live_files(platform.lake, table, snapshots[k - 1])) if k else set()
    )
    [path] = added
    return path


@pytest.fixture
def four_shares(lake_home_with: Any) -> tuple[Platform, list[int]]:
    """`lake_home` after `_four_shares` (built once per session, copied): the home and the snapshot ids."""
    platform, snaps = lake_home_with(_four_shares)
    return platform, snaps


@pytest.fixture
def damaged(four_shares: tuple[Platform, list[int]]) -> tuple[Platform, list[int], Path]:
    """d.t whose third share's file (ids 200-209) is gone."""
    platform, snaps = four_shares
    lost = _file_of(platform, snaps, 2)
    lost.unlink()
    platform.lake.forget("d.t")
    return platform, snaps, lost


def test_a_lost_file_blocks_reading_with_a_message_that_names_the_repair(damaged) -> None:
    platform, _, _ = damaged
    with pytest.raises((DataLost, InvalidInput)) as refused:
        count(platform, "d.t")
    assert "d.t" in str(refused.value)
    with pytest.raises(DataLost, match="threshold repair d.t"):
        put(platform, "d.t", 900, 1)


def test_examine_names_the_lost_file_the_snapshots_it_breaks_and_what_each_repair_keeps(damaged) -> None:
    platform, snaps, lost = damaged
    damage = examine(platform, get_person(platform, "anna"), "d.t")

    [f] = damage.lost
    assert f.location.endswith(lost.name) and f.reason == "missing" and f.rows == 10
    assert [(a.snapshot_id, a.rows, a.rows_lost, a.current) for a in damage.affected] == [
        (snaps[3], 40, 10, True),
        (snaps[2], 30, 10, False),
    ]
    assert (damage.last_readable, damage.rows_at_last_readable) == (snaps[1], 20)
    assert damage.rows_after_drop == 30


def test_drop_lost_keeps_every_other_row_and_the_dataset_takes_appends_again(damaged) -> None:
    platform, snaps, _ = damaged
    anna = get_person(platform, "anna")
    result = repair(platform, anna, "d.t", how="drop-lost")

    assert (result.rows_before, result.rows_after, result.previous_snapshot_id) == (40, 30, snaps[3])
    ids = [r["id"] for r in rows(platform, "SELECT id FROM d.t ORDER BY id")]
    assert ids == [*range(0, 10), *range(100, 110), *range(300, 310)]
    put(platform, "d.t", 400, 2)
    assert count(platform, "d.t") == 32
    assert count(platform, "d.t", snaps[1]) == 20  # time travel before the loss still reads
    history = describe(platform, "d.t").history
    assert [h.mode for h in history[:2]] == ["append", "drop-lost"]
    assert history[1].rows_total == 30 and history[1].rows_added == -10
    assert examine(platform, anna, "d.t").healthy is False  # the old snapshots still name the lost file
    assert not any(a.current for a in examine(platform, anna, "d.t").affected)


def test_rollback_goes_back_to_the_last_snapshot_that_reads_fully(damaged) -> None:
    platform, snaps, _ = damaged
    result = repair(platform, get_person(platform, ADMIN), "d.t", how="rollback")

    assert result.rows_after == 20
    assert [r["id"] for r in rows(platform, "SELECT id FROM d.t ORDER BY id")] == [*range(0, 10), *range(100, 110)]
    # time travel to "now" reads what readers read now: the repaired snapshot, not the broken one
    later = "2999-01-01 00:00:00"
    assert rows(platform, f"SELECT count(*) AS n FROM d.t FOR TIMESTAMP AS OF '{later}'") == [{"n": 20}]
    assert count(platform, "d.t", snaps[1]) == 20 and count(platform, "d.t", snaps[0]) == 10


def test_repair_is_audited_and_the_owners_are_told(damaged) -> None:
    platform, _, lost = damaged
    admin = get_person(platform, ADMIN)
    repair(platform, admin, "d.t", how="drop-lost")

    [entry] = search(platform, admin, dataset="d.t", action="dataset.drop-lost")
    assert entry.actor == ADMIN and entry.detail["rows_lost"] == 10
    assert any(lost.name in f for f in entry.detail["lost_files"])
    [message] = inbox(platform, get_person(platform, "anna"))
    assert message.kind == "dataset.repaired" and "d.t" in message.title
    assert inbox(platform, get_person(platform, "carla")) == []  # a member, not an owner


def test_repair_needs_an_owner_and_hides_restricted_datasets_from_outsiders(damaged) -> None:
    from threshold.governance.controls import set_visibility

    platform, _, _ = damaged
    with pytest.raises(Denied, match="does not own domain .d.*rule: domain.owner"):
        repair(platform, get_person(platform, "carla"), "d.t", how="drop-lost")
    with pytest.raises(Denied):
        examine(platform, get_person(platform, "ben"), "d.t")
    set_visibility(platform, get_person(platform, "anna"), "d.t", "restricted")
    with pytest.raises(NotFound, match="no dataset 'd.t'"):
        examine(platform, get_person(platform, "ben"), "d.t")


def test_a_dataset_that_reads_fully_is_not_repaired(four_shares: tuple[Platform, list[int]]) -> None:
    lake_home, _ = four_shares
    with pytest.raises(Conflict, match="reads fully"):
        repair(lake_home, get_person(lake_home, ADMIN), "d.t", how="rollback")
    with pytest.raises(InvalidInput, match="unknown repair"):
        repair(lake_home, get_person(lake_home, ADMIN), "d.t", how="pray")


def test_a_damaged_file_is_found_too(four_shares: tuple[Platform, list[int]]) -> None:
    lake_home, snaps = four_shares
    victim = _file_of(lake_home, snaps, 1)
    data = bytearray(victim.read_bytes())
    data[-10:-4] = b"XXXXXX"  # the footer's length and magic: the file cannot be opened
    victim.write_bytes(bytes(data))

    [f] = examine(lake_home, get_person(lake_home, ADMIN), "d.t").lost
    assert f.reason.startswith("unreadable")


def test_when_no_snapshot_reads_fully_rollback_is_refused_and_drop_lost_works(
    four_shares: tuple[Platform, list[int]],
) -> None:
    lake_home, snaps = four_shares
    _file_of(lake_home, snaps, 0).unlink()
    lake_home.lake.forget("d.t")
    admin = get_person(lake_home, ADMIN)

    with pytest.raises(Conflict, match="no published snapshot that reads fully"):
        repair(lake_home, admin, "d.t", how="rollback")
    assert repair(lake_home, admin, "d.t", how="drop-lost").rows_after == 30
