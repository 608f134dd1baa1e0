"""Time the test suite folder by folder: wall and CPU seconds (user + system of pytest and its children).

    .venv/bin/python benchmarks/time_suite.py                       # every folder and top-level test file
    .venv/bin/python benchmarks/time_suite.py tests/quality tests/web
    .venv/bin/python benchmarks/time_suite.py --root ../base          # another checkout (e.g. a baseline
                                                                     # made with `git archive REF | tar -x`)
    .venv/bin/python benchmarks/time_suite.py --pytest-args="-n 2 --dist loadfile"

Runs one pytest per folder, one after the other, with the environment of `.test-env` (PostgreSQL), and
prints a row per folder and the total, with the load average at the start and the end: on a shared
machine compare CPU seconds, which stretch less than wall time. Not named `bench_*.py`: `make bench`
does not run the whole suite. It is not part of `make test` (it runs the suite itself).
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def _targets(root: Path) -> list[str]:
    tests = root / "tests"
    folders = sorted(p for p in tests.iterdir() if p.is_dir() and any(p.glob("test_*.py")))
    files = sorted(tests.glob("test_*.py"))
    return [str(p.relative_to(root)) for p in (*folders, *files)]


def _env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    for where in (root / ".test-env", HERE / ".test-env"):
        if where.is_file():
            for line in where.read_text().splitlines():
                key, sep, value = line.partition("=")
                if sep and not line.lstrip().startswith("#"):
                    env[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
            break
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", help="folders or files under tests/ (default: all)")
    parser.add_argument("--root", type=Path, default=HERE, help="the checkout whose tests/ to run")
    parser.add_argument("--pytest-args", default="", help="more pytest arguments, e.g. '-n 2 --dist loadfile'")
    args = parser.parse_args()
    root = args.root.resolve()
    targets = args.targets or _targets(root)
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *shlex.split(args.pytest_args)]
    env = _env(root)
    print(f"load average at start: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(f"{'target':40} {'wall s':>8} {'cpu s':>8}  result")
    total_wall = total_cpu = 0.0
    failed = False
    for target in targets:
        cpu0, t0 = _children_cpu(), time.monotonic()
        run = subprocess.run([*pytest, target], cwd=root, env=env, capture_output=True, text=True)
        wall, cpu = time.monotonic() - t0, _children_cpu() - cpu0
        total_wall += wall
        total_cpu += cpu
        last = (run.stdout.strip().splitlines() or ["(no output)"])[-1]
        failed |= run.returncode not in (0, 5)  # 5: no tests collected
        print(f"{target:40} {wall:8.1f} {cpu:8.1f}  {last}", flush=True)
    print(f"{'total':40} {total_wall:8.1f} {total_cpu:8.1f}")
    print(f"load average at end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
