"""A full disk is said plainly: which folder, how much is free and needed; and it leaves nothing behind.

The home lives on a real 4 MB tmpfs, mounted in a private user and mount namespace of a child process
(`tests/killed.py`, as `unshare -rm` makes one), and a CSV of about 9 MB is shared into it: a create and
an append of a dataset that was shared before the disk filled up.
"""

from __future__ import annotations

import json

import duckdb
import pytest

import killed
from threshold.errors import OutOfSpace

from .small_lake import share_onto_a_full_disk


@pytest.fixture(scope="module")
def on_a_full_disk(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("full")
    big, small = tmp / "big.csv", tmp / "small.csv"
    duckdb.sql(
        f"COPY (SELECT i AS id, md5(i::VARCHAR) || md5((i * 7)::VARCHAR) AS note FROM range(120000) t(i)) "
        f"TO '{big}' (HEADER)"
    )
    small.write_text("id,note\n1,a\n2,b\n")
    disk = tmp / "disk"
    disk.mkdir()
    child = killed.call(share_onto_a_full_disk, disk / "home", big, small, tmpfs=(disk, "4m"))
    out, err = child.communicate(timeout=300)
    if child.returncode == killed.NO_NAMESPACE:
        pytest.skip(err.strip())
    assert child.returncode == 0, err
    return dict(json.loads(out.strip().splitlines()[-1]))


def test_a_share_that_fills_the_disk_names_the_warehouse_and_the_space_it_needs(on_a_full_disk: dict) -> None:
    for mode in ("create", "append"):
        failed = on_a_full_disk[mode]
        assert failed["error"] == "OutOfSpace" and failed["code"] == OutOfSpace.exit_code == 9
        message = failed["message"]
        assert "the disk holding the warehouse" in message and "/home/warehouse" in message
        assert " free, about " in message and "MB is needed" in message
        assert "staging/" not in message, "the message names the place, not a scratch file"


def test_it_leaves_no_empty_file_no_staging_and_no_half_dataset(on_a_full_disk: dict) -> None:
    assert on_a_full_disk["empty_files"] == []
    assert on_a_full_disk["staging"] == []
    assert on_a_full_disk["tables"] == ["d.kept"]
    assert on_a_full_disk["kept_rows"] == 2
    assert len(on_a_full_disk["data_files"]) == 1
