"""Benchmark 1, sharing: `threshold share lineitem.csv` against DuckDB alone converting the same CSV.

    .venv/bin/python benchmarks/bench_share.py [--sf 1] [--runs 5] [--sides duckdb,duckdb+sha256,warm,first,in-process]

Every side is a child process started the same way, in a fresh folder, the sides alternating within each
round (the order rotates, so no side always inherits another's cache state):

- `duckdb`: a Python interpreter that imports DuckDB and runs `COPY (SELECT * FROM read_csv(...)) TO ...
  (FORMAT parquet)` with DuckDB's CSV auto-detection and default threads: the limit.
- `duckdb+sha256`: the same, with the file's SHA-256 (which a share records: issue 2, docs/sharing.md) computed
  on a thread beside the COPY as the share's digest does it (hashlib, 1 MiB reads): the limit for any share
  that keeps that promise, whatever else it does. Informative: it has no target of its own.
- `warm`: `threshold share` through the home's warm resident helper (docs/operations.md): the helper was
  started before the clock by an untimed command, and each run shares under a new name into that home.
- `first`: `threshold share` into a fresh home with no helper yet: the command starts one and waits for it.
- `in-process`: `threshold share` with `THRESHOLD_RESIDENT=0` into a fresh home: the command imports and
  opens everything itself.

Fresh homes get `threshold init` and `domain add` before the clock starts. Prints each side's median wall
time and CPU time (user + system, every thread; for the helper sides the client's CPU plus the CPU of the
helper's child that ran the share, from the helper's `cutime`/`cstime`), the largest peak RSS (the child's
own `ru_maxrss`; not known for a helper's child) and the ratios to DuckDB.
Targets: ratio <= 1.2 (issue 13; both sides use DuckDB's default threads) and peak RSS <= 1.5 GB.
"""

from __future__ import annotations

import argparse
import os
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
from data import DATA_DIR, ensure_tpch, table_path
from home import data_files, fresh_home, run_threshold, threshold_cli
from measure import Run, mib, run_child

TIME_TARGET = 1.2
RSS_TARGET = 1.5e9
SIDES = ("duckdb", "duckdb+sha256", "warm", "first", "in-process")
LABELS = {
    "duckdb": "duckdb csv->parquet",
    "duckdb+sha256": "duckdb + sha256",
    "warm": "share, warm helper",
    "first": "share, first call",
    "in-process": "share, in-process",
}

DUCKDB_COPY = """
import sys, duckdb
src, dst = sys.argv[1:3]
duckdb.sql(f"COPY (SELECT * FROM read_csv('{src}')) TO '{dst}' (FORMAT parquet)")
"""

DUCKDB_COPY_SHA256 = """
import hashlib, sys, threading, duckdb
src, dst = sys.argv[1:3]
def digest():
    h, buffer = hashlib.sha256(), bytearray(1024 * 1024)
    view = memoryview(buffer)
    with open(src, "rb", buffering=0) as f:
        while n := f.readinto(buffer):
            h.update(view[:n])
    print(h.hexdigest())
thread = threading.Thread(target=digest)
thread.start()
duckdb.sql(f"COPY (SELECT * FROM read_csv('{src}')) TO '{dst}' (FORMAT parquet)")
thread.join()
"""


def written(files: list[Path]) -> tuple[int, int]:
    """Rows (from the footers) and bytes of these Parquet files."""
    listed = ", ".join(f"'{f}'" for f in files)
    counted = duckdb.sql(f"SELECT sum(num_rows) FROM parquet_file_metadata([{listed}])")
    assert counted is not None
    rows = counted.fetchall()[0][0]
    return rows, sum(f.stat().st_size for f in files)


def environment(resident: bool) -> dict[str, str]:
    """The helper on or off; on, it stays for the whole benchmark (the other sides' runs take minutes)."""
    return {**os.environ, "THRESHOLD_RESIDENT": "1" if resident else "0", "THRESHOLD_RESIDENT_IDLE_SECONDS": "7200"}


def helper_pids(home: Path) -> list[int]:
    """The pids of the home's listening resident helpers (from their sockets' peer credentials)."""
    pids = []
    for path in (home / "run").glob("query-*.sock"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(str(path))
            except OSError:
                continue
            pids.append(int.from_bytes(s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)[:4], sys.byteorder))
    return pids


def stop_helpers(home: Path) -> None:
    for pid in helper_pids(home):
        fd = os.pidfd_open(pid)
        os.kill(pid, signal.SIGTERM)
        select.select([fd], [], [], 30)
        os.close(fd)


def helper_cpu(pid: int, wait: float = 15.0) -> float:
    """CPU seconds of the children helper `pid` has reaped (its `cutime` + `cstime`), once it has reaped
    them all (it reaps when it wakes up, at least every few seconds)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                busy = f.read().split()
        except FileNotFoundError:
            busy = []
        if not busy or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # cutime, cstime


def timed_share(argv: list[str], env: dict[str, str], helper: int | None) -> Run:
    """One `threshold share`: wall time, CPU of the command and (through a helper) of the helper's child."""
    before = helper_cpu(helper) if helper else 0.0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode(errors='replace').strip()}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    if helper:
        cpu += helper_cpu(helper) - before
    return Run(seconds, cpu, 0)


class Sides:
    """Each side's one run: (measurement, (rows, bytes) written)."""

    def __init__(self, csv: Path, runs: Path) -> None:
        self.csv, self.runs, self.warm_runs = csv, runs, 0
        self.warm_home = fresh_home(runs / "warm-home", "tpch")
        # Start the warm side's helper (untimed) with a command it runs: a listing of the empty home.
        run_threshold("datasets", "--home", str(self.warm_home), env=environment(True))
        [self.helper] = helper_pids(self.warm_home)
        helper_cpu(self.helper)  # the listing's child reaped: the helper then imports what `share` needs
        settled, used = time.monotonic() + 20, -1.0
        while time.monotonic() < settled and used != (used := _own_cpu(self.helper)):
            time.sleep(0.5)

    def share(self, home: Path, name: str, *, resident: bool, helper: int | None = None) -> Run:
        argv = [threshold_cli(), "share", str(self.csv), "--domain", "tpch", "--name", name, "--home", str(home)]
        if resident:
            return timed_share(argv, environment(True), helper)
        return run_child(argv, env=environment(False))

    def duckdb(self, work: Path) -> tuple[Run, tuple[int, int]]:
        out = work / "lineitem.parquet"
        run = run_child([sys.executable, "-c", DUCKDB_COPY, str(self.csv), str(out)])
        return run, written([out])

    def duckdb_sha256(self, work: Path) -> tuple[Run, tuple[int, int]]:
        out = work / "lineitem.parquet"
        run = run_child([sys.executable, "-c", DUCKDB_COPY_SHA256, str(self.csv), str(out)])
        return run, written([out])

    def warm(self, work: Path) -> tuple[Run, tuple[int, int]]:
        self.warm_runs += 1
        name = f"lineitem_{self.warm_runs}"
        if self.helper not in helper_pids(self.warm_home):
            sys.exit("the warm side's helper is gone")
        run = self.share(self.warm_home, name, resident=True, helper=self.helper)
        files = data_files(self.warm_home, "tpch", name)
        try:
            return run, written(files)
        finally:
            for f in files:  # keep the disk free: the next run shares under a new name
                f.unlink()

    def first(self, work: Path) -> tuple[Run, tuple[int, int]]:
        home = fresh_home(work / "home", "tpch")
        try:
            # The helper the command starts is not this script's child: its CPU is read before it is stopped.
            run = self.share(home, "lineitem", resident=True)
            [pid] = helper_pids(home)
            run = Run(run.seconds, run.cpu_seconds + _own_cpu(pid) + helper_cpu(pid), 0)
        finally:
            stop_helpers(home)
        return run, written(data_files(home, "tpch", "lineitem"))

    def in_process(self, work: Path) -> tuple[Run, tuple[int, int]]:
        home = fresh_home(work / "home", "tpch")
        run = self.share(home, "lineitem", resident=False)
        return run, written(data_files(home, "tpch", "lineitem"))

    def run(self, side: str) -> Callable[[Path], tuple[Run, tuple[int, int]]]:
        sides = {"duckdb": self.duckdb, "duckdb+sha256": self.duckdb_sha256, "warm": self.warm}
        return {**sides, "first": self.first, "in-process": self.in_process}[side]


def _own_cpu(pid: int) -> float:
    """CPU seconds process `pid` used itself (`utime` + `stime`)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sf", type=float, default=1, help="TPC-H scale factor (default 1)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each side (default 5)")
    parser.add_argument("--sides", default=",".join(SIDES), help=f"comma-separated, of {', '.join(SIDES)}")
    args = parser.parse_args()
    sides = [s for s in args.sides.split(",") if s]
    if "duckdb" not in sides or any(s not in SIDES for s in sides):
        sys.exit(f"--sides: duckdb and any of {', '.join(SIDES[1:])}")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    ensure_tpch(args.sf, ("csv",))
    csv = table_path(args.sf, "csv", "lineitem")
    # Counting the rows also reads the CSV once, so the first timed run finds it in the page cache.
    counted = duckdb.sql(f"SELECT count(*) FROM read_csv('{csv}')")
    assert counted is not None
    expected = counted.fetchall()[0][0]
    size_mb = csv.stat().st_size / 1e6
    print(f"lineitem SF {args.sf:g}: {size_mb:,.0f} MB CSV, {expected:,} rows; {args.runs} runs of each side")

    root = DATA_DIR / "runs" / "share"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    work_of = Sides(csv, root)
    runs: dict[str, list[Run]] = {side: [] for side in sides}
    try:
        for i in range(args.runs):
            order = sides[i % len(sides) :] + sides[: i % len(sides)]  # rotate who goes first
            for side in order:
                work = root / side
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir(parents=True)
                run, (rows, size) = work_of.run(side)(work)
                shutil.rmtree(work)
                if rows != expected:
                    sys.exit(f"{side} wrote {rows:,} rows, expected {expected:,}")
                runs[side].append(run)
                run_rss = mib(run.peak_rss_bytes) if run.peak_rss_bytes else "—"
                print(
                    f"  run {i + 1} {side:<10} {run.seconds:6.2f} s  CPU {run.cpu_seconds:6.2f} s  "
                    f"peak RSS {run_rss:>9}  wrote {size / 1e6:,.0f} MB  (load {os.getloadavg()[0]:.2f})"
                )
    finally:
        stop_helpers(work_of.warm_home)
        shutil.rmtree(root, ignore_errors=True)

    t = {side: statistics.median(r.seconds for r in rs) for side, rs in runs.items()}
    cpu = {side: statistics.median(r.cpu_seconds for r in rs) for side, rs in runs.items()}
    rss = {side: max(r.peak_rss_bytes for r in rs) for side, rs in runs.items()}
    print(f"\n{'':<22}{'median s':>10}{'median CPU s':>14}{'wall ratio':>12}{'CPU ratio':>11}{'peak RSS':>12}")
    for side in sides:
        shown = mib(rss[side]) if rss[side] else "—"
        print(
            f"{LABELS[side]:<22}{t[side]:>10.2f}{cpu[side]:>14.2f}"
            f"{t[side] / t['duckdb']:>12.2f}{cpu[side] / cpu['duckdb']:>11.2f}{shown:>12}"
        )
    for side in sides[1:]:
        if side == "duckdb+sha256":
            continue  # the limit with the promised digest: no target of its own
        ratio = t[side] / t["duckdb"]
        verdict = "met" if ratio <= TIME_TARGET else "MISSED"
        print(f"time ratio {LABELS[side]} / duckdb: {ratio:.2f} (target <= {TIME_TARGET}) {verdict}")
    if "in-process" in sides:
        verdict = "met" if rss["in-process"] <= RSS_TARGET else "MISSED"
        print(f"in-process peak RSS: {rss['in-process'] / 1e9:.2f} GB (target <= {RSS_TARGET / 1e9:.1f} GB) {verdict}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
