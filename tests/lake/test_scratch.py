"""The process's scratch DuckDB: one database opened per process, a cursor per question.

A share asks DuckDB two small questions (its columns' Iceberg types, its Parquet file's DuckDB types);
each used to open a database of its own, tens of milliseconds each. Now a share opens at most one: its
own share connection, which reads the source under the share's memory bound (none for a small share, which
runs on a cursor of the process's small-share database: `sharing.small`, such as a small frame created, or
appended to a small dataset).
"""

from __future__ import annotations

import os
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from threshold import lake
from threshold.gateway.service import query
from threshold.sharing.service import share


def test_the_cursors_share_one_database_and_keep_their_own_views() -> None:
    with lake.scratch() as first, lake.scratch() as second:
        first.execute("CREATE TABLE scratch_probe (x INTEGER)")
        try:
            assert second.execute("SELECT count(*) FROM scratch_probe").fetchall() == [(0,)]
        finally:
            first.execute("DROP TABLE scratch_probe")
        first.register("only_here", pa.table({"x": [1]}))
        assert first.execute("SELECT x FROM only_here").fetchall() == [(1,)]
        with pytest.raises(duckdb.CatalogException):
            second.execute("SELECT x FROM only_here")


def test_a_forked_process_opens_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    with lake.scratch():
        pass
    assert lake._scratch is not None
    opened = lake._scratch[1]
    monkeypatch.setattr(lake, "_scratch", (os.getpid() + 1, opened))  # as a child after a fork sees it
    with lake.scratch() as cursor:
        assert cursor.execute("SELECT 42").fetchall() == [(42,)]
    assert lake._scratch[0] == os.getpid() and lake._scratch[1] is not opened


def test_a_share_opens_one_duckdb_database(org: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def share_one(name: str, mode: str = "create") -> None:
        rows = pa.table({"k": [1, 2], "v": ["a", None]})
        share(org.platform, rows, domain="sales", name=name, mode=mode, user=org.admin)

    share_one("warm")  # the scratch database of this process is open from here on
    opened: list[object] = []
    connect = duckdb.connect

    def counted(*args: Any, **kwargs: Any) -> duckdb.DuckDBPyConnection:
        opened.append(args)
        return connect(*args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", counted)
    share_one("counted")
    assert len(opened) == 0, opened  # a small frame created: a cursor of the process's small-share database
    share_one("counted", mode="append")  # also asks the appended columns' Iceberg types
    assert len(opened) == 0, opened  # appended to a small dataset: a cursor of the small-share database too
    monkeypatch.undo()
    assert query(org.platform, "SELECT k, v FROM sales.counted ORDER BY k, v", user=org.admin).table.to_pylist() == [
        {"k": 1, "v": "a"},
        {"k": 1, "v": "a"},
        {"k": 2, "v": None},
        {"k": 2, "v": None},
    ]
