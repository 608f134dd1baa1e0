"""Ctrl-C that reaches DuckDB first (a share's conversion) is an interruption, not an internal error."""

from __future__ import annotations

import threading

import duckdb
import pytest

from threshold.cli import _engine_interrupted


def _interrupted_query() -> Exception:
    """What DuckDB raises when a running query is interrupted (the real engine, stopped from another thread)."""
    con = duckdb.connect()
    started = threading.Event()
    caught: list[Exception] = []

    def run() -> None:
        started.set()
        try:
            con.execute("SELECT count(*) FROM range(10000000000) a, range(10) b WHERE a.range % 7 = b.range").fetchall()
        except Exception as e:  # noqa: BLE001 - the exception is the subject
            caught.append(e)

    worker = threading.Thread(target=run)
    worker.start()
    started.wait(10)
    while worker.is_alive():
        con.interrupt()
        worker.join(0.05)
    return caught[0]


def test_duckdbs_interruption_is_told_apart_from_a_bug() -> None:
    error = _interrupted_query()
    assert _engine_interrupted(error)
    assert _engine_interrupted(RuntimeError("Query interrupted"))


@pytest.mark.parametrize(
    "error",
    [RuntimeError("Query interrupted later"), ValueError("Query interrupted"), duckdb.Error("boom"), KeyError("x")],
)
def test_other_errors_stay_internal(error: Exception) -> None:
    assert not _engine_interrupted(error)
