"""How long a new user waits for a browsable demo: `make run` in a fresh clone, until /login answers.

    .venv/bin/python benchmarks/bench_make_run.py [--runs 1] [--repo PATH]

Each run clones the repository's committed HEAD into a new folder (no .venv, no .threshold) and starts,
against a baseline measured in the same run, alternating which goes first:
- `make run PORT=<free>`: creates .venv, installs the package with the `demo` extra only, builds the
  demo organisation, serves it;
- the baseline, what `make run` did before: `pip install -e '.[dev]'` (tests and linters too), then
  `threshold demo`.
The clock stops when GET /login on the port answers 200. Printed per side: the median total, and the part
spent before the demo build's first log line (venv + pip + imports). The pip cache is whatever the
machine has (warm after one run: pass --runs 2 and read the second); the load average is printed beside.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

TIMEOUT = 1800.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clone(repo: Path, into: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", str(repo), str(into)], check=True)
    return into


def _browsable(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _time(argv: list[str], cwd: Path, port: int) -> tuple[float, float]:
    """Seconds until the demo answers, and until the first line the demo build logs."""
    started = time.perf_counter()
    first_log: list[float] = []
    proc = subprocess.Popen(
        argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )

    def watch() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:  # pip's warnings come first; the demo build's first line says "creating ..."
            if not first_log and line.startswith("creating "):
                first_log.append(time.perf_counter() - started)

    threading.Thread(target=watch, daemon=True).start()
    try:
        while not _browsable(port):
            if proc.poll() is not None:
                raise SystemExit(f"{' '.join(argv)} ended with {proc.returncode} before serving")
            if time.perf_counter() - started > TIMEOUT:
                raise SystemExit(f"{' '.join(argv)} did not serve within {TIMEOUT:.0f} s")
            time.sleep(0.25)
        return time.perf_counter() - started, first_log[0] if first_log else float("nan")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _make_run(repo: Path, work: Path) -> tuple[float, float]:
    clone = _clone(repo, work / "make-run")
    port = _free_port()
    return _time(["make", "run", f"PORT={port}"], clone, port)


def _baseline(repo: Path, work: Path) -> tuple[float, float]:
    clone = _clone(repo, work / "baseline")
    port = _free_port()
    script = (
        f"{sys.executable} -m venv .venv && .venv/bin/python -m pip install -q --disable-pip-version-check "
        f"-e '.[dev]' && exec .venv/bin/threshold demo --port {port}"
    )
    return _time(["bash", "-c", script], clone, port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    results: dict[str, list[tuple[float, float]]] = {"make run": [], "baseline (dev extras)": []}
    for i in range(args.runs):
        sides = [("make run", _make_run), ("baseline (dev extras)", _baseline)]
        if i % 2:
            sides.reverse()
        for label, fn in sides:
            with tempfile.TemporaryDirectory(prefix="threshold-make-run-") as tmp:
                total, before_demo = fn(args.repo, Path(tmp))
            results[label].append((total, before_demo))
            print(f"run {i + 1} {label}: {total:.1f} s to a browsable demo ({before_demo:.1f} s before the demo build)")
    medians = {label: statistics.median(t for t, _ in runs) for label, runs in results.items()}
    for label, runs in results.items():
        install = statistics.median(b for _, b in runs)
        print(f"{label}: median {medians[label]:.1f} s (install and start {install:.1f} s)")
    print(f"ratio make run / baseline: {medians['make run'] / medians['baseline (dev extras)']:.2f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
