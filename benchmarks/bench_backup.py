"""Backup and restore: time and size for the demo home and for a home with TPC-H lineitem shared.

    .venv/bin/python benchmarks/bench_backup.py [--sf 1] [--runs 3] [--only demo|tpch]

Homes (built once, cached under benchmarks/.data/homes/): the demo organisation
(`threshold demo --no-serve`) and a home with TPC-H `lineitem` shared from Parquet. For each, in
the same run and alternating: `threshold backup DEST` (copy), `threshold backup DEST --link`,
`threshold restore DEST --home NEW` (which checks every file's checksum and reads every dataset),
and the baseline `cp -a HOME` (no consistency, no checksums). Prints medians, sizes and ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import DATA_DIR, ensure_tpch, table_path  # noqa: E402
from home import fresh_home, run_threshold, threshold_cli  # noqa: E402
from measure import Run, run_child  # noqa: E402

HOMES = DATA_DIR / "homes"
WORK = DATA_DIR / "runs" / "backup"


def demo_home() -> Path:
    home = HOMES / "demo"
    if not (home / "threshold.db").exists():
        shutil.rmtree(home, ignore_errors=True)
        print("building the demo home (threshold demo --no-serve) ...", file=sys.stderr, flush=True)
        run_threshold("demo", "--no-serve", "--home", str(home))
    return home


def tpch_home(sf: float) -> Path:
    home = HOMES / f"tpch-sf{sf:g}"
    if not (home / "warehouse" / "tpch" / "lineitem").exists():
        ensure_tpch(sf, ("parquet",))
        fresh_home(home, "tpch")
        print(f"sharing TPC-H SF {sf:g} lineitem into {home} ...", file=sys.stderr, flush=True)
        run_threshold("share", str(table_path(sf, "parquet", "lineitem")), "--domain", "tpch", "--home", str(home))
    return home


def size_of(path: Path) -> int:
    """Bytes on disk of the files under `path`, a hard-linked file counted once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for p in path.rglob("*"):
        st = p.lstat()
        if p.is_file() and (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total


def linked_bytes(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and p.lstat().st_nlink > 1)


def run_json(argv: list[str]) -> tuple[Run, float]:
    """Run a `threshold ... --format json` child: its wall, CPU and peak memory (`os.wait4`, as
    `measure.run_child`), and the seconds the command itself reports for its work (without the
    interpreter's start-up and imports)."""
    import json
    import tempfile
    import time

    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        proc = subprocess.Popen([*argv, "--format", "json"], stdout=subprocess.PIPE, stderr=errors)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        if proc.returncode != 0:
            errors.seek(0)
            sys.exit(f"{' '.join(argv)} failed: {errors.read().decode(errors='replace')}")
    run = Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)
    return run, float(json.loads(out)["seconds"])


def one_round(home: Path, order: list[str]) -> dict[str, tuple[Run, int, float]]:
    out: dict[str, tuple[Run, int, float]] = {}
    for step in order:
        shutil.rmtree(WORK, ignore_errors=True)
        WORK.mkdir(parents=True)
        if step == "cp -a":
            run = run_child(["cp", "-a", str(home), str(WORK / "copy")])
            out[step] = (run, size_of(WORK / "copy"), run.seconds)
        elif step == "backup":
            run, own = run_json([threshold_cli(), "backup", str(WORK / "b"), "--home", str(home)])
            out[step] = (run, size_of(WORK / "b"), own)
            restore, own = run_json([threshold_cli(), "restore", str(WORK / "b"), "--home", str(WORK / "r")])
            out["restore"] = (restore, size_of(WORK / "r"), own)
        elif step == "backup --link":
            run, own = run_json([threshold_cli(), "backup", str(WORK / "b"), "--link", "--home", str(home)])
            out[step] = (run, size_of(WORK / "b") - linked_bytes(WORK / "b"), own)
    shutil.rmtree(WORK, ignore_errors=True)
    return out


def bench(label: str, home: Path, runs: int) -> None:
    steps = ["cp -a", "backup", "backup --link"]
    results: dict[str, list[tuple[Run, int, float]]] = {}
    for i in range(runs):
        order = steps if i % 2 == 0 else steps[::-1]
        for step, value in one_round(home, order).items():
            results.setdefault(step, []).append(value)
    home_size = size_of(home)
    print(f"\n{label}: {home} ({home_size / 1e6:,.1f} MB), medians of {runs}")
    print(f"{'step':<16}{'wall s':>9}{'CPU s':>8}{'own s':>8}{'new bytes MB':>14}")
    for step in ("cp -a", "backup", "backup --link", "restore"):
        rs = results[step]
        wall = statistics.median(r.seconds for r, _, _ in rs)
        cpu = statistics.median(r.cpu_seconds for r, _, _ in rs)
        own = statistics.median(o for _, _, o in rs)
        size = statistics.median(s for _, s, _ in rs)
        print(f"{step:<16}{wall:>9.2f}{cpu:>8.2f}{own:>8.2f}{size / 1e6:>14.1f}")
    print("own s: what the command reports for its work, without the interpreter's start-up and imports")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sf", type=float, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=("demo", "tpch"))
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.only in (None, "demo"):
        bench("demo home", demo_home(), args.runs)
    if args.only in (None, "tpch"):
        bench(f"TPC-H SF {args.sf:g} lineitem", tpch_home(args.sf), args.runs)
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    subprocess.run(["sync"], check=False)


if __name__ == "__main__":
    main()
