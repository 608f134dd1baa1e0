"""Benchmark: how soon the workers of `threshold serve --workers N` answer, started and replaced, with the
workers forked from the supervisor's warm state (`server.preload`, the default) and as fresh interpreters
(`THRESHOLD_SERVER__PRELOAD=false`, what every worker did before).

    set -a; . ./.test-env; set +a
    .venv/bin/python benchmarks/bench_worker_start.py [--workers 3] [--rounds 3]

Needs a PostgreSQL server (`THRESHOLD_TEST_POSTGRES_URL`, written by scripts/test-services.sh); a fresh
database is made for the run and dropped after (the home of `bench_workers.py`: one dataset, five people).
Each round runs both kinds back to back, alternating which goes first, and for each:

1. start: from launching `threshold serve --workers N` to the first answer, and to every worker having
   answered (`X-Threshold-Worker`), probing `GET /api/v1/me` on fresh connections from four threads;
2. replacement: one worker killed (SIGKILL), the time until a new worker answers;
3. CPU: user + system seconds of the supervisor and its workers once all have answered (from /proc:
   steadier than wall time on a shared machine).

Prints the median of each over the rounds, and the ratio preload / fresh.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from bench_workers import READERS, build_home, cpu_seconds, database, free_port


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


class Prober:
    """Four threads sending `GET /api/v1/me` on fresh connections; the time each worker name first answered."""

    def __init__(self, base: str, token: str) -> None:
        self.url, self.headers = f"{base}/api/v1/me", {"Authorization": f"Bearer {token}"}
        self.first: dict[str, float] = {}
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._probe, daemon=True) for _ in range(4)]
        for t in self.threads:
            t.start()

    def _probe(self) -> None:
        while not self.done.is_set():
            try:
                r = httpx.get(self.url, headers=self.headers, timeout=60)
            except httpx.HTTPError:
                time.sleep(0.01)  # not listening yet (the socket is bound before the server starts: rare)
                continue
            name, now = r.headers.get("x-threshold-worker", "single"), time.perf_counter()
            with self.lock:
                self.first.setdefault(name, now)

    def wait_for(self, count: int, deadline: float) -> None:
        while True:
            with self.lock:
                if len(self.first) >= count:
                    return
            if time.perf_counter() > deadline:
                raise SystemExit(f"only {len(self.first)} of {count} workers answered")
            time.sleep(0.005)

    def stop(self) -> None:
        self.done.set()
        for t in self.threads:
            t.join()


def one(home: Path, url: str, workers: int, token: str, preload: bool) -> dict[str, float]:
    port = free_port()
    env = os.environ | {
        "THRESHOLD_DATABASE_URL": url,
        "THRESHOLD_JOBS__SCHEDULER": "false",
        "THRESHOLD_SERVER__PRELOAD": "true" if preload else "false",
    }
    cli = Path(sys.executable).parent / "threshold"
    cmd = [str(cli), "serve", "--home", str(home), "--port", str(port), "--workers", str(workers)]
    t0 = time.perf_counter()
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    prober = Prober(f"http://127.0.0.1:{port}", token)
    try:
        prober.wait_for(1, t0 + 180)
        first = min(prober.first.values()) - t0
        prober.wait_for(workers, t0 + 180)
        every = max(prober.first.values()) - t0
        cpu = cpu_seconds(server.pid)
        victim = children(server.pid)[0]
        t1 = time.perf_counter()
        os.kill(victim, signal.SIGKILL)
        prober.wait_for(workers + 1, t1 + 180)
        replaced = max(prober.first.values()) - t1
    finally:
        prober.stop()
        server.terminate()
        _, err = server.communicate(timeout=120)
    if server.returncode != 0:
        raise SystemExit(f"the server exited with {server.returncode}: {err[-2000:]}")
    return {"first": first, "every": every, "replaced": replaced, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    admin = os.environ.get("THRESHOLD_TEST_POSTGRES_URL")
    if not admin:
        raise SystemExit("set THRESHOLD_TEST_POSTGRES_URL (scripts/test-services.sh writes it into .test-env)")
    name = f"bench_worker_start_{os.getpid()}"
    url = database(admin, name)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "home"
            tokens = build_home(home, url)
            runs: dict[bool, list[dict[str, float]]] = {True: [], False: []}
            for r in range(args.rounds):
                for preload in (True, False) if r % 2 == 0 else (False, True):
                    runs[preload].append(one(home, url, args.workers, tokens[READERS[0]], preload))
    finally:
        database(admin, name, drop=True)
    print(f"threshold serve --workers {args.workers}, {args.rounds} rounds (medians; load {os.getloadavg()[0]:.2f})")
    print(f"{'':>30} {'preload':>9} {'fresh':>9} {'ratio':>7}")
    for key, label in (
        ("first", "start to first answer (s)"),
        ("every", "start to every worker (s)"),
        ("replaced", "killed worker replaced (s)"),
        ("cpu", "CPU once all answered (s)"),
    ):
        a = statistics.median(x[key] for x in runs[True])
        b = statistics.median(x[key] for x in runs[False])
        print(f"{label:>30} {a:9.2f} {b:9.2f} {a / b:7.2f}")


if __name__ == "__main__":
    main()
