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


SWALLOWED = r"""
import os, signal, sys
import threshold.cli as cli

def command(**kwargs):
    # A library that caught the KeyboardInterrupt of a Ctrl-C and failed its own way (an import cut short leaves
    # a half-initialised module behind, whose next use raises AttributeError).
    try:
        os.kill(os.getpid(), signal.SIGINT)
        signal.sigtimedwait([], 0)  # let the handler run now (it raises in this, the main, thread)
    except KeyboardInterrupt:
        pass
    if os.environ.get("WITH_CTRL_C") != "1":
        raise AssertionError("no KeyboardInterrupt: the handler did not run")
    raise AttributeError("partially initialized module 'numpy' has no attribute 'finfo'")

def plain(**kwargs):
    raise AttributeError("partially initialized module 'numpy' has no attribute 'finfo'")

cli.app = command if os.environ.get("WITH_CTRL_C") == "1" else plain
sys.argv = ["threshold", "datasets"]
cli.entry()
"""


@pytest.mark.parametrize(
    ("ctrl_c", "code", "said"),
    [
        ("1", 130, "interrupted\n"),
        ("0", 70, "internal error (AttributeError): partially initialized module 'numpy' has no attribute 'finfo'\n"),
    ],
)
def test_an_error_a_library_made_of_a_ctrl_c_is_an_interruption(ctrl_c: str, code: int, said: str) -> None:
    """After a Ctrl-C, whatever error a library turned it into ends the command as "interrupted" (130); the same
    error without a Ctrl-C is still an internal error (70)."""
    import os
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-c", SWALLOWED],
        env={**os.environ, "WITH_CTRL_C": ctrl_c},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (run.returncode, run.stdout, run.stderr) == (code, "", said)
