"""The supervisor of `threshold serve --workers N` with real child processes (`interface.supervisor`).

The children here are tiny Python programs instead of servers: one that tells its supervisor to stop
(SIGTERM to its parent) and waits to be stopped, one that fails at start. The supervisor runs in the test's
own process; its signal handlers are put back when it returns.
"""

from __future__ import annotations

import os
import signal
import sys

from threshold.interface.supervisor import MAX_EXITS, Supervisor

STOP_PARENT = "import os, signal, time; os.kill(os.getppid(), signal.SIGTERM); time.sleep(600)"
FAIL_AT_START = "raise SystemExit(3)"


def test_sigterm_stops_every_worker_and_returns_zero() -> None:
    said: list[str] = []
    sup = Supervisor(lambda _i: [sys.executable, "-c", STOP_PARENT], 3, fds=(), env=dict(os.environ), say=said.append)
    before = signal.getsignal(signal.SIGTERM)
    assert sup.run() == 0
    assert sup.pids() == [] and not sup.failed
    assert said == []  # no worker was replaced: the stop was asked for
    assert signal.getsignal(signal.SIGTERM) == before


def test_workers_that_keep_exiting_at_start_stop_the_server_in_one_line() -> None:
    said: list[str] = []
    sup = Supervisor(lambda _i: [sys.executable, "-c", FAIL_AT_START], 2, fds=(), env=dict(os.environ), say=said.append)
    assert sup.run() == 1
    assert sup.failed and sup.pids() == []
    replaced = [line for line in said if "starting another" in line]
    assert len(replaced) == 2 + MAX_EXITS
    assert all(line.endswith("exited with code 3; starting another") for line in replaced)
    assert said[-1] == (
        f"workers keep exiting ({2 + MAX_EXITS + 1} in 30 s, the last with code 3): "
        "stopping the server; their errors are above"
    )
