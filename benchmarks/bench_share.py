"""Benchmark 1, sharing: `threshold share lineitem.csv` against DuckDB alone converting the same CSV.

    .venv/bin/python benchmarks/bench_share.py [--sf 1] [--runs 3]

Both sides are child processes started the same way (a Python interpreter that imports its library
and does the work), alternating A/B within one run, each in a fresh folder. Threshold runs
`threshold share` into a fresh home (`threshold init` and `domain add` beforehand, untimed); the
baseline runs DuckDB's `COPY (SELECT * FROM read_csv(...)) TO ... (FORMAT parquet)` with the same
CSV auto-detection.
Prints each side's median wall time and CPU time, its largest peak RSS, and the ratios.
Targets: ratio <= 1.2 (issue 13; both sides use DuckDB's default threads) and Threshold's peak RSS <= 1.5 GB.
`--via python` shares through `threshold.connect().share()` in the child instead of the command, leaving
the command's start-up (the CLI's own figure) out.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
from pathlib import Path

import duckdb
from data import DATA_DIR, ensure_tpch, table_path
from home import data_files, fresh_home, threshold_cli
from measure import Run, mib, run_child

TIME_TARGET = 1.2
RSS_TARGET = 1.5e9

DUCKDB_COPY = """
import sys, duckdb
src, dst = sys.argv[1:3]
duckdb.sql(f"COPY (SELECT * FROM read_csv('{src}')) TO '{dst}' (FORMAT parquet)")
"""


def written(files: list[Path]) -> tuple[int, int]:
    """Rows (from the footers) and bytes of these Parquet files."""
    listed = ", ".join(f"'{f}'" for f in files)
    rows = duckdb.sql(f"SELECT sum(num_rows) FROM parquet_file_metadata([{listed}])").fetchall()[0][0]
    return rows, sum(f.stat().st_size for f in files)


PYTHON_SHARE = """
import sys, threshold
src, home = sys.argv[1:3]
threshold.connect(home=home).share(src, domain="tpch", name="lineitem")
"""
VIA = {"cli": "`threshold share` (the command, start-up included)", "python": "`threshold.connect().share()`"}


def share_with_threshold(csv: Path, work: Path, via: str = "cli") -> tuple[Run, tuple[int, int]]:
    home = fresh_home(work / "home", "tpch")
    if via == "python":
        run = run_child([sys.executable, "-c", PYTHON_SHARE, str(csv), str(home)])
    else:
        share = ["share", str(csv), "--domain", "tpch", "--name", "lineitem", "--home", str(home)]
        run = run_child([threshold_cli(), *share])
    return run, written(data_files(home, "tpch", "lineitem"))


def convert_with_duckdb(csv: Path, work: Path) -> tuple[Run, tuple[int, int]]:
    out = work / "lineitem.parquet"
    run = run_child([sys.executable, "-c", DUCKDB_COPY, str(csv), str(out)])
    return run, written([out])


SIDES = {"threshold": share_with_threshold, "duckdb": convert_with_duckdb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sf", type=float, default=1, help="TPC-H scale factor (default 1)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each side (default 3)")
    parser.add_argument("--via", choices=VIA, default="cli", help="how Threshold shares: cli (default) or python")
    args = parser.parse_args()
    import os

    print(f"threshold side: {VIA[args.via]}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    ensure_tpch(args.sf, ("csv",))
    csv = table_path(args.sf, "csv", "lineitem")
    # Counting the rows also reads the CSV once, so the first timed run finds it in the page cache.
    expected = duckdb.sql(f"SELECT count(*) FROM read_csv('{csv}')").fetchall()[0][0]
    size_mb = csv.stat().st_size / 1e6
    print(f"lineitem SF {args.sf:g}: {size_mb:,.0f} MB CSV, {expected:,} rows; {args.runs} runs each")

    runs: dict[str, list[Run]] = {side: [] for side in SIDES}
    for i in range(args.runs):
        # Alternate which side goes first, so neither always inherits the other's cache state.
        order = list(SIDES) if i % 2 == 0 else list(reversed(SIDES))
        for side in order:
            work = DATA_DIR / "runs" / f"share-{side}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            run, (rows, size) = (
                share_with_threshold(csv, work, args.via) if side == "threshold" else SIDES[side](csv, work)
            )
            shutil.rmtree(work)
            if rows != expected:
                sys.exit(f"{side} wrote {rows:,} rows, expected {expected:,}")
            runs[side].append(run)
            print(
                f"  run {i + 1} {side:<9} {run.seconds:6.2f} s  CPU {run.cpu_seconds:6.2f} s  "
                f"peak RSS {mib(run.peak_rss_bytes)}  wrote {size / 1e6:,.0f} MB"
            )

    t = {side: statistics.median(r.seconds for r in rs) for side, rs in runs.items()}
    cpu = {side: statistics.median(r.cpu_seconds for r in rs) for side, rs in runs.items()}
    rss = {side: max(r.peak_rss_bytes for r in rs) for side, rs in runs.items()}
    ratio = t["threshold"] / t["duckdb"]
    print(f"\n{'':<22}{'median s':>10}{'median CPU s':>14}{'peak RSS (max)':>16}")
    for side, label in (("threshold", "threshold share"), ("duckdb", "duckdb csv->parquet")):
        print(f"{label:<22}{t[side]:>10.2f}{cpu[side]:>14.2f}{mib(rss[side]):>16}")
    verdict = "met" if ratio <= TIME_TARGET else "MISSED"
    print(f"time ratio threshold/duckdb: {ratio:.2f} (target <= {TIME_TARGET}) {verdict}")
    print(f"CPU-time ratio threshold/duckdb: {cpu['threshold'] / cpu['duckdb']:.2f}")
    verdict = "met" if rss["threshold"] <= RSS_TARGET else "MISSED"
    print(f"threshold peak RSS: {rss['threshold'] / 1e9:.2f} GB (target <= {RSS_TARGET / 1e9:.1f} GB) {verdict}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
