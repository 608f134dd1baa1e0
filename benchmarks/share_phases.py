"""Where a share's time goes: one in-process share of TPC-H lineitem CSV, wall and CPU per phase.

    .venv/bin/python benchmarks/share_phases.py [--sf 1] [--source FILE]

Shares into a fresh home through `threshold.sharing.service.share` with a progress callback and prints,
for each phase (start-up and opening the home, then reading, converting, committing, profiling,
publishing), its wall time and the whole process's CPU time (user + system, every thread). `--source`
shares another file instead (the 1M-row workbook of `bench_share_xlsx.py`, say). DuckDB's own
`COPY` of the same file (`bench_share.py`'s baseline) is the limit the converting phase is compared with.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from data import DATA_DIR, ensure_tpch, table_path
from home import fresh_home

CHILD = """
import sys, time
t0w, t0c = time.perf_counter(), time.process_time()
import threshold
src, home = sys.argv[1:3]
client = threshold.connect(home=home)
marks = [("start-up and home", time.perf_counter(), time.process_time())]
seen = []
def progress(phase, fraction):
    if not seen or seen[-1] != phase:
        seen.append(phase)
        marks.append((phase, time.perf_counter(), time.process_time()))
client.share(src, domain="tpch", name="lineitem", progress=progress)
marks.append(("end", time.perf_counter(), time.process_time()))
previous = ("", t0w, t0c)
for i, (name, w, c) in enumerate(marks):
    # each line ends at a mark: start-up, then the checks before reading ("preparing"), then each phase in turn
    label = marks[0][0] if i == 0 else "preparing" if i == 1 else marks[i - 1][0]
    print(f"  {label:<20} wall {w - previous[1]:6.2f} s   CPU {c - previous[2]:6.2f} s")
    previous = (name, w, c)
print(f"  {'total':<20} wall {marks[-1][1] - t0w:6.2f} s   CPU {marks[-1][2] - t0c:6.2f} s")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sf", type=float, default=1, help="TPC-H scale factor (default 1)")
    parser.add_argument("--source", type=Path, help="share this file instead of lineitem CSV")
    args = parser.parse_args()
    if args.source is None:
        ensure_tpch(args.sf, ("csv",))
    csv = args.source.resolve() if args.source else table_path(args.sf, "csv", "lineitem")
    work = DATA_DIR / "runs" / "share-phases"
    shutil.rmtree(work, ignore_errors=True)
    home = fresh_home(work / "home", "tpch")
    name = csv.name if args.source else f"lineitem SF {args.sf:g}"
    print(f"{name} ({csv.stat().st_size / 1e6:,.0f} MB); load average {os.getloadavg()[0]:.2f}")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", CHILD, str(csv), str(home)], check=True)
    print(f"  (child process {time.perf_counter() - started:.2f} s wall)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
