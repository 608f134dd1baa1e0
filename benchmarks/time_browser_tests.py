"""The browser tests (tests/e2e) of this checkout against a baseline checkout, run alternately, back to back:
summed seconds per file (pytest's `--durations=0`), wall and CPU seconds (pytest and its children, Chromium
included), with the load average beside each run.

    git worktree add --detach ../base main          # or: mkdir ../base && git archive main | tar -x -C ../base
    .venv/bin/python benchmarks/time_browser_tests.py --baseline ../base --rounds 2
    .venv/bin/python benchmarks/time_browser_tests.py --baseline ../base tests/e2e/test_pages_for_everyone.py

`--ballast N` loads this file into each pytest as a plugin that keeps N small dicts (2 N objects) alive: the
heap of a test worker late in a whole run, where each browser test's server start paid a full garbage
collection before the heap was frozen first (tests/e2e/conftest.py).

Both checkouts run with this checkout's virtual environment (the package under `src/` is this checkout's;
only the tests differ) and the environment of `.test-env`. On a shared machine compare CPU seconds and the
medians; quote the load average. Not named `bench_*.py`: `make bench` does not run tests.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
BALLAST_VARIABLE = "TIME_BROWSER_TESTS_BALLAST"
BALLAST = [{"i": i, "l": [i]} for i in range(int(os.environ.get(BALLAST_VARIABLE) or 0))]
"""Kept alive while this file is loaded as a pytest plugin (`--ballast`)."""
LINE = re.compile(r"^\s*([0-9.]+)s (setup|call|teardown)\s+(\S+?)::")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    where = HERE / ".test-env"
    if where.is_file():
        for line in where.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and not line.lstrip().startswith("#"):
                env[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _run(root: Path, targets: list[str], ballast: int) -> tuple[dict[str, float], float, float, str]:
    """One pytest over `targets` in `root`: (summed seconds per file, wall, CPU, pytest's last line)."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=0", "--durations-min=0"]
    env = _env()
    if ballast:
        command += ["-p", Path(__file__).stem]
        env[BALLAST_VARIABLE] = str(ballast)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(__file__).parent), env.get("PYTHONPATH")) if p)
    cpu0, t0 = _children_cpu(), time.monotonic()
    run = subprocess.run([*command, *targets], cwd=root, env=env, capture_output=True, text=True)
    wall, cpu = time.monotonic() - t0, _children_cpu() - cpu0
    per_file: dict[str, float] = defaultdict(float)
    for line in run.stdout.splitlines():
        if m := LINE.match(line):
            per_file[m.group(3)] += float(m.group(1))
    return dict(per_file), wall, cpu, (run.stdout.strip().splitlines() or ["(no output)"])[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", default=["tests/e2e"])
    parser.add_argument("--baseline", type=Path, required=True, help="the checkout to compare with")
    parser.add_argument("--rounds", type=int, default=2, help="baseline/this pairs, alternately")
    parser.add_argument("--ballast", type=int, default=0, help="small dicts each pytest keeps alive (see above)")
    args = parser.parse_args()
    roots = {"baseline": args.baseline.resolve(), "this": HERE}
    seen: dict[str, list[tuple[dict[str, float], float, float]]] = {name: [] for name in roots}
    for round_ in range(args.rounds):
        for name, root in roots.items():
            load = _load()
            per_file, wall, cpu, last = _run(root, args.targets, args.ballast)
            seen[name].append((per_file, wall, cpu))
            print(f"round {round_ + 1} {name:8} load {load}: summed {sum(per_file.values()):6.1f} s, "
                  f"wall {wall:6.1f} s, CPU {cpu:6.1f} s  ({last})", flush=True)  # fmt: skip
    files = sorted({f for runs in seen.values() for per_file, _, _ in runs for f in per_file})
    print(f"\nmedian summed seconds per file over {args.rounds} rounds (ballast {args.ballast})")
    print(f"{'file':50} {'baseline':>9} {'this':>9}")
    for f in files:
        before = statistics.median(run[0].get(f, 0.0) for run in seen["baseline"])
        after = statistics.median(run[0].get(f, 0.0) for run in seen["this"])
        print(f"{f:50} {before:9.1f} {after:9.1f}")
    for label, index in (("summed", 0), ("wall", 1), ("CPU", 2)):
        values = {
            name: statistics.median(sum(r[0].values()) if index == 0 else (r[1] if index == 1 else r[2]) for r in runs)
            for name, runs in seen.items()
        }
        ratio = values["this"] / values["baseline"] if values["baseline"] else float("nan")
        print(f"{label:8} median: baseline {values['baseline']:6.1f} s, this {values['this']:6.1f} s ({ratio:.2f}x)")
    print(f"load average at end: {_load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
