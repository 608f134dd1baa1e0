"""CLI start-up: `threshold --help` and `threshold query "select 1"` on a demo home, against Python doing
nothing (`python -c pass`) in the same run; the query three ways: in-process (`THRESHOLD_RESIDENT=0`),
through a warm resident helper, and as a first call (no helper yet: it starts one and waits for it).

    .venv/bin/python benchmarks/bench_cli.py [--home DEMO_HOME] [--runs 7]

Without --home it builds a small demo home first (`threshold demo --no-serve --scale 0.2`, not timed).
Runs alternate between the commands; medians of wall and CPU time (user + system of the `threshold`
process; a helper's CPU is not in it: the helper is not this script's child). Then `python -X importtime`
says which heavy libraries each command imports, and how many modules in all.
Goals (issue 13): `--help` <= 0.15 s, `query "select 1"` <= 0.4 s wall on the embedded home.
"""

from __future__ import annotations

import argparse
import os
import resource
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from home import threshold_cli  # noqa: E402

HEAVY = ("duckdb", "pyiceberg", "pyarrow", "sqlalchemy", "pandas", "numpy", "rich", "sqlglot", "alembic", "yaml")


def stop_helpers(home: Path) -> None:
    """End the home's resident helpers (each found by its socket's peer credentials) and wait for them."""
    for path in (home / "run").glob("query-*.sock"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(str(path))
            except OSError:
                continue
            pid = int.from_bytes(s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)[:4], sys.byteorder)
        fd = os.pidfd_open(pid)
        os.kill(pid, signal.SIGTERM)
        select.select([fd], [], [], 30)
        os.close(fd)


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one run (the command must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def imported(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    """How many modules a command imports, and which of the heavy libraries among them."""
    code = f"import sys; sys.argv = {['threshold', *argv]!r}; from threshold.cli import main; main()"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, env=env)
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
        off = {**os.environ, "THRESHOLD_RESIDENT": "0"}
        on = {**os.environ, "THRESHOLD_RESIDENT": "1"}
        query = [cli, "query", "select 1", "--home", str(home)]
        commands: dict[str, tuple[list[str], dict[str, str] | None]] = {
            "python -c pass": ([sys.executable, "-c", "pass"], None),
            "threshold --help": ([cli, "--help"], None),
            'query "select 1", in-process': (query, off),
            'query "select 1", warm helper': (query, on),
            'query "select 1", first call': (query, on),
            "datasets --format json, in-process": ([cli, "datasets", "--format", "json", "--home", str(home)], off),
            "datasets --format json, warm helper": ([cli, "datasets", "--format", "json", "--home", str(home)], on),
        }
        for argv, env in commands.values():  # warm the page cache and the bytecode
            timed(argv, env)
        walls: dict[str, list[float]] = {k: [] for k in commands}
        cpus: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(args.runs):
            for name, (argv, env) in commands.items():
                if name.endswith("first call"):
                    stop_helpers(home)
                wall, cpu = timed(argv, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
        stop_helpers(home)
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.runs} alternating runs, medians")
        base = statistics.median(walls["python -c pass"])
        inproc = statistics.median(walls['query "select 1", in-process'])
        for name in commands:
            wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
            print(
                f"{name:38} wall {wall:6.3f} s  cpu {cpu:6.3f} s  (python alone + {wall - base:6.3f} s;"
                f" {wall / inproc:5.2f}x the in-process query)"
            )
        timed(query, on)  # a warm helper for the import count of the thin client
        for name, argv, env in (
            ("threshold --help", ["--help"], None),
            ('query "select 1", in-process', ["query", "select 1", "--home", str(home)], off),
            ('query "select 1", warm helper (client)', ["query", "select 1", "--home", str(home)], on),
        ):
            count, heavy = imported(argv, env)
            print(f"{name:38} imports {count} modules; heavy: {', '.join(heavy) or 'none'}")
        stop_helpers(home)


if __name__ == "__main__":
    main()
