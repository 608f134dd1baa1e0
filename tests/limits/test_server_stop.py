"""A server stopped with SIGTERM while queries run: it interrupts them, answers, and exits cleanly.

The server is a real process running `threshold serve` (forked with the code imported, `tests/killed.py`)
on a socket the test bound beforehand. One client
waits for a query that would run for days, another reads a result that would stream for days; the
interactive time limit is ten minutes, so only interrupting them lets the server stop. After SIGTERM the
process exits by itself (status 0, no signal), both clients are answered with why their query stopped,
both queries are recorded as usage events, and the home is clean: no lock held, no staging folder left.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from limits_support import RUNAWAY, serve
from sqlalchemy import select

import killed
import plainhttp
from threshold.identity.service import create_token
from threshold.locks import DELETIONS, held_locks
from threshold.store.models import UsageEvent

STREAMING = "SELECT r AS n FROM range(100000000000000) t(r)"


@contextmanager
def _server(home: Path) -> Iterator[tuple[str, killed.Child]]:
    """`threshold serve` in a process of its own (`limits_support.serve`, forked by `tests/killed.py` with the
    code imported: a fresh `python` spends most of this test's time importing) on a listening socket the
    test bound, in place of the one `bind` takes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    env = {
        **os.environ,
        "THRESHOLD_JOBS__SCHEDULER": "false",
        "THRESHOLD_LIMITS__QUERY_SECONDS": "600",
        "THRESHOLD_LIMITS__PERSON_QUERIES": "2",
        "THRESHOLD_LIMITS__QUERY_ROWS": "100000000",
    }
    proc = killed.call(serve, listener, str(home), env=env)
    listener.close()  # the server holds its own copy; requests queue in the backlog until it accepts
    try:
        yield url, proc
    finally:
        proc.kill()
        proc.communicate(timeout=60)


def _in_thread(fn: Any) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = fn()
        except BaseException as e:  # the test asserts on it
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def test_sigterm_interrupts_running_queries_and_the_server_exits_with_a_clean_home(org: Any) -> None:
    platform = org.platform
    _, token = create_token(platform, "anna")
    headers = {"Authorization": f"Bearer {token}"}
    home = platform.settings.home_dir
    with platform.store.session() as s:
        before = s.scalar(select(UsageEvent.id).order_by(UsageEvent.id.desc()).limit(1)) or 0

    with _server(home) as (url, proc):
        deadline = time.monotonic() + 120

        def runaway() -> httpx.Response:
            """Send the runaway query until it is admitted (the test's own probes may hold anna's slots)."""
            while True:
                r = plainhttp.post(f"{url}/api/v1/query", headers=headers, json={"sql": RUNAWAY}, timeout=120)
                if r.status_code != 429 or time.monotonic() > deadline:
                    return r

        waiting, answer = _in_thread(runaway)

        first, resume = threading.Event(), threading.Event()

        def stream() -> str:
            """Read the first part of a result that would stream for days, then wait for the stop."""
            body = {"sql": STREAMING, "format": "json", "max_rows": 100_000_000}
            while True:
                with plainhttp.stream("POST", f"{url}/api/v1/query", headers=headers, json=body, timeout=120) as r:
                    if r.status_code == 429 and time.monotonic() < deadline:
                        continue  # the test's own probe held a slot: send it again
                    assert r.status_code == 200, r.read()
                    end = ""
                    for text in r.iter_text():
                        end = (end + text)[-4000:]
                        first.set()
                        resume.wait(timeout=120)
                    return end

        streaming, streamed = _in_thread(stream)

        # Both are running once anna (two queries at most) is refused a third.
        while True:
            r = plainhttp.post(f"{url}/api/v1/query", headers=headers, json={"sql": "SELECT 1 AS x"}, timeout=120)
            if r.status_code == 429:
                break
            assert r.status_code == 200, r.text
            assert time.monotonic() < deadline, ("the two long queries never ran at once", answer, streamed)

        assert first.wait(timeout=120), streamed
        os.kill(proc.pid, signal.SIGTERM)
        resume.set()
        try:
            code = proc.wait(timeout=30)  # the queries' time limit is 600 s: only interrupting them ends it sooner
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGUSR1)  # where it is stuck, on its stderr (faulthandler)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            proc.kill()
            raise AssertionError(proc.communicate()[1][-6000:]) from None
        assert code == 0, proc.communicate()[1][-3000:]
        waiting.join(timeout=60)
        streaming.join(timeout=60)

    assert "error" not in answer, answer.get("error")
    refused = answer["value"]
    assert refused.status_code == 503, refused.text
    assert "the server is stopping" in refused.json()["detail"]
    assert "error" not in streamed, streamed.get("error")
    tail = json.loads("{" + streamed["value"].rsplit("], ", 1)[1])  # the document's end: what the result came to
    assert "the server is stopping" in tail["error"], tail

    with platform.store.session() as s:
        events = s.execute(
            select(UsageEvent.status, UsageEvent.error).where(UsageEvent.id > before, UsageEvent.status != "ok")
        ).all()
    stopped = [e for e in events if e.status == "cancelled"]
    assert sorted(stopped) == [("cancelled", "server stopping")] * 2, events
    assert held_locks(platform, [DELETIONS, "manufacturing.plant_kpis"]) == []
    staging = platform.settings.staging_dir
    assert not staging.exists() or list(staging.iterdir()) == []
