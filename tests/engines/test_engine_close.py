"""Closing the DuckDB engine while a query still runs in it (a stopping server whose grace has passed).

DuckDB 2.0 refuses to close a connection while one of its cursors is inside a call ("connection is busy
with another call"): the engine interrupts every query still running and waits for it to leave DuckDB
before it closes, so a stopping server exits cleanly instead of failing at its last step."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from threshold.engines.duckdb import Engine, Interrupted
from threshold.settings import Settings

RUNAWAY = "SELECT count(*) FROM range(100000000000000) a"


def test_closing_the_engine_interrupts_a_running_query_and_waits_for_it(tmp_path: Path) -> None:
    engine = Engine(Settings(home=tmp_path / "home"))
    running = engine.prepare({})
    started, outcome = threading.Event(), {}

    def run() -> None:
        started.set()
        try:
            running.start(RUNAWAY, 1024)
            outcome["result"] = "finished"
        except Interrupted:
            outcome["result"] = "interrupted"
        except Exception as e:  # the test asserts on it
            outcome["result"] = repr(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(timeout=30)
    while not running.in_engine():  # the query is inside DuckDB
        assert thread.is_alive(), outcome
    engine.close()  # before: ResourceInUseException (the cursor is busy)
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert outcome == {"result": "interrupted"}
    running.close()


def test_a_query_started_after_the_engine_closed_is_refused_as_interrupted(tmp_path: Path) -> None:
    engine = Engine(Settings(home=tmp_path / "home"))
    running = engine.prepare({})
    engine.close()
    with pytest.raises(Interrupted):
        running.start("SELECT 1", 1024)
    running.close()
