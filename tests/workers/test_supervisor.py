"""The supervisor of `threshold serve --workers N` with real child processes (`interface.supervisor`).

The children here are tiny Python programs instead of servers: one that tells its supervisor to stop
(SIGTERM to its parent) and waits to be stopped, one that fails at start. The supervisor runs in the test's
own process; its signal handlers are put back when it returns. Forked workers are tried with a supervisor
in a process of its own (the test's process may run other threads, and then a supervisor does not fork).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

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


FORKED = r"""
import glob, json, os, signal, sys, threading
from threshold.interface.supervisor import Supervisor

warm = {"imported": "before the fork"}  # what a forked worker finds without importing it again
out = sys.argv[1]
if sys.argv[2] == "busy":  # a second thread: forking is unsafe, the command is started instead
    threading.Thread(target=threading.Event().wait, daemon=True).start()


def work(index):
    def run():
        seen = {"warm": warm["imported"], "given": os.environ.get("GIVEN"), "leader": os.getsid(0) == os.getpid(),
                "term": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL}
        with open(f"{out}/forked-{index}", "w") as f:
            json.dump(seen, f)
        if len(glob.glob(f"{out}/forked-*")) == 2:  # the last one there stops the supervisor
            os.kill(os.getppid(), signal.SIGTERM)
        signal.pause()
    return run


STARTED = (
    "import glob, os, signal, sys; out = sys.argv[1]; open(f'{out}/started-{sys.argv[2]}', 'w').close()\n"
    "if len(glob.glob(f'{out}/started-*')) == 2: os.kill(os.getppid(), signal.SIGTERM)\n"
    "signal.pause()\n"
)
said = []
env = {**os.environ, "GIVEN": "share"}
sup = Supervisor(lambda i: [sys.executable, "-c", STARTED, out, str(i)], 2, fds=(), env=env, say=said.append, fork=work)
print(json.dumps({"code": sup.run(), "said": said}))
"""


def _supervise(tmp_path: Path, threads: str) -> tuple[dict[str, Any], list[str]]:
    r = subprocess.run(
        [sys.executable, "-c", FORKED, str(tmp_path), threads], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout), sorted(p.name for p in tmp_path.iterdir())


def test_workers_are_forked_from_the_warm_supervisor_in_their_own_session_with_their_environment(
    tmp_path: Path,
) -> None:
    ran, files = _supervise(tmp_path, "quiet")
    assert ran == {"code": 0, "said": []}
    assert files == ["forked-0", "forked-1"]  # no worker was started as a new program
    seen = [json.loads((tmp_path / name).read_text()) for name in files]
    assert seen == [{"warm": "before the fork", "given": "share", "leader": True, "term": True}] * 2


def test_a_supervisor_running_another_thread_starts_new_processes_instead_and_says_so(tmp_path: Path) -> None:
    ran, files = _supervise(tmp_path, "busy")
    assert ran == {"code": 0, "said": ["the supervisor runs 2 threads: workers start as new processes (slower)"]}
    assert files == ["started-0", "started-1"]  # a fork could deadlock on a lock the other thread holds
