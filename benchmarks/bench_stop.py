"""Benchmark: how long `threshold serve` takes to stop on SIGTERM while a runaway query is open.

    .venv/bin/python benchmarks/bench_stop.py [--runs 3]

A real server (its own process, default limits: 30 s per interactive query) gets a query that would run
for days; once it runs, the server is sent SIGTERM. Prints the seconds until the process has exited and
its exit status (0: it stopped by itself; -15: the signal ended it). Goal: a couple of seconds.
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
from bench_runaway import RUNAWAY, build_home, free_port


def once(home: Path, token: str) -> tuple[float, int]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cli = Path(sys.executable).parent / "threshold"
    env = os.environ | {"THRESHOLD_JOBS__SCHEDULER": "false"}
    server = subprocess.Popen(
        [str(cli), "serve", "--home", str(home), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/login", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        headers = {"Authorization": f"Bearer {token}"}

        def runaway() -> None:
            try:
                httpx.post(f"{url}/api/v1/query", headers=headers, json={"sql": RUNAWAY}, timeout=120)
            except httpx.HTTPError:
                pass

        threading.Thread(target=runaway, daemon=True).start()
        time.sleep(2)  # the query is running
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=120)
        return time.monotonic() - started, code
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-stop-")) / "home"
    token = build_home(home)["attacker"]
    results = [once(home, token) for _ in range(args.runs)]
    load = os.getloadavg()
    print(f"command: {' '.join([Path(sys.argv[0]).name, *sys.argv[1:]])}")
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; CPUs {os.cpu_count()}")
    for seconds, code in results:
        print(f"stopped after {seconds:.2f} s, exit status {code}")
    print(f"median seconds from SIGTERM to exit: {statistics.median(s for s, _ in results):.2f} (goal: a couple)")


if __name__ == "__main__":
    main()
