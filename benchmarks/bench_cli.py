"""CLI start-up: `threshold --help` and `threshold query "select 1"` on a demo home, against Python doing
nothing (`python -c pass`) in the same run.

    .venv/bin/python benchmarks/bench_cli.py [--home DEMO_HOME] [--runs 7]

Without --home it builds a small demo home first (`threshold demo --no-serve --scale 0.2`, not timed).
Runs alternate between the commands; medians of wall and CPU time (user + system of the child). Then
`python -X importtime` says which heavy libraries each command imports, and how many modules in all.
Goals (issue 13): `--help` <= 0.15 s, `query "select 1"` <= 0.4 s wall on the embedded home.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from home import threshold_cli  # noqa: E402

HEAVY = ("duckdb", "pyiceberg", "pyarrow", "sqlalchemy", "pandas", "numpy", "rich", "sqlglot", "alembic", "yaml")


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run (the command must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def imported(argv: list[str]) -> tuple[int, list[str]]:
    """How many modules a command imports, and which of the heavy libraries among them."""
    code = f"import sys; sys.argv = {['threshold', *argv]!r}; from threshold.cli import main; main()"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True)
    names = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    names = [n for n in names if n != "package"]
    return len(names), sorted({n.split(".")[0] for n in names if n.split(".")[0] in HEAVY})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, help="a demo home (default: build one, scale 0.2)")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    cli = threshold_cli()
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home
        if home is None:
            home = Path(tmp) / "demo"
            subprocess.run(
                [cli, "demo", "--no-serve", "--scale", "0.2", "--home", str(home)], check=True, capture_output=True
            )
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "threshold --help": [cli, "--help"],
            'threshold query "select 1"': [cli, "query", "select 1", "--home", str(home)],
            "threshold datasets --format json": [cli, "datasets", "--format", "json", "--home", str(home)],
        }
        for argv in commands.values():  # warm the page cache and the bytecode
            timed(argv)
        walls: dict[str, list[float]] = {k: [] for k in commands}
        cpus: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                wall, cpu = timed(argv)
                walls[name].append(wall)
                cpus[name].append(cpu)
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.runs} alternating runs, medians")
        base = statistics.median(walls["python -c pass"])
        for name in commands:
            wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
            print(f"{name:36} wall {wall:6.3f} s  cpu {cpu:6.3f} s  (python alone + {wall - base:6.3f} s)")
        for name, argv in (
            ("threshold --help", ["--help"]),
            ('threshold query "select 1"', ["query", "select 1", "--home", str(home)]),
        ):
            count, heavy = imported(argv)
            print(f"{name:36} imports {count} modules; heavy: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
