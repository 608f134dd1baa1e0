"""Benchmark: sharing a spreadsheet against reading it with python-calamine alone.

    .venv/bin/python benchmarks/bench_share_xlsx.py [--small-rows 200000] [--small-runs 5]
                                                    [--rows 1000000] [--runs 1] [--via cli|python]

Two workbooks, one after the other: a smaller one (`--small-rows`, `--small-runs` alternating runs each
side, 0 to leave it out) and the 1M-row one (`--rows`, `--runs`). Each has one sheet: the first rows of
TPC-H SF 1 `lineitem`, eight columns of numbers, dates and text, written once with xlsxwriter and cached
under benchmarks/.data/. Both sides are child processes, alternating: Threshold shares the file into a
fresh home (`threshold share`, or `threshold.connect().share()` with `--via python`); the baseline opens it
with python-calamine and reads every cell of the sheet (`to_python()`), as the issue defines it. Prints
median wall and CPU time, peak RSS and the ratios (target <= 1.2) per workbook.

The baseline builds a Python object per cell; Threshold's direct path (fastexcel into Arrow) does not, so a
share can come out below the baseline's CPU on the reading itself: the ratio is still against this baseline.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from pathlib import Path

import duckdb
from data import DATA_DIR, ensure_tpch, table_path
from home import data_files, fresh_home, threshold_cli
from measure import Run, mib, run_child

TARGET = 1.2
COLUMNS = "l_orderkey, l_partkey, l_quantity, l_extendedprice, l_discount, l_shipdate, l_shipmode, l_comment"
CALAMINE = """
import sys
from python_calamine import CalamineWorkbook
rows = CalamineWorkbook.from_path(sys.argv[1]).get_sheet_by_index(0).to_python()
assert len(rows) > 1
"""
PYTHON_SHARE = """
import sys, threshold
src, home = sys.argv[1:3]
threshold.connect(home=home).share(src, domain="tpch", name="lineitem")
"""


def workbook(rows: int) -> Path:
    """The cached workbook of `rows` lineitem rows (written once; a minute or two)."""
    path = DATA_DIR / "xlsx" / f"lineitem-{rows}.xlsx"
    if path.exists():
        return path
    import xlsxwriter

    ensure_tpch(1, ("parquet",))
    source = table_path(1, "parquet", "lineitem")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.xlsx")
    print(f"writing {path} ({rows:,} rows) ...", flush=True)
    book = xlsxwriter.Workbook(str(partial), {"constant_memory": True})
    sheet = book.add_worksheet("lineitem")
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    names = [c.strip() for c in COLUMNS.split(",")]
    sheet.write_row(0, 0, names)
    rel = duckdb.sql(f"SELECT {COLUMNS} FROM read_parquet('{source}') LIMIT {rows}")
    assert rel is not None
    reader = rel.fetch_record_batch(50_000)
    r = 1
    for batch in reader:
        for row in zip(*(c.to_pylist() for c in batch.columns), strict=True):
            for c, value in enumerate(row):
                if names[c] == "l_shipdate":
                    sheet.write_datetime(r, c, value, dates)
                else:
                    sheet.write(r, c, float(value) if hasattr(value, "as_tuple") else value)
            r += 1
    book.close()
    partial.rename(path)
    return path


def share(path: Path, work: Path, via: str, rows: int) -> Run:
    home = fresh_home(work / "home", "tpch")
    if via == "python":
        run = run_child([sys.executable, "-c", PYTHON_SHARE, str(path), str(home)])
    else:
        run = run_child(  # in this process, not a resident helper: its CPU is the child's to measure
            [threshold_cli(), "share", str(path), "--domain", "tpch", "--name", "lineitem", "--home", str(home)],
            env={**os.environ, "THRESHOLD_RESIDENT": "0"},
        )
    listed = ", ".join(f"'{f}'" for f in data_files(home, "tpch", "lineitem"))
    counted = duckdb.sql(f"SELECT sum(num_rows) FROM parquet_file_metadata([{listed}])")
    assert counted is not None
    got = counted.fetchall()[0][0]
    if got != rows:
        sys.exit(f"threshold wrote {got:,} rows, expected {rows:,}")
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small-rows", type=int, default=200_000, help="rows of the smaller workbook (default 200k)")
    parser.add_argument("--small-runs", type=int, default=5, help="its runs of each side (default 5; 0: skip it)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="data rows in the large sheet (default 1M)")
    parser.add_argument("--runs", type=int, default=1, help="its runs of each side (default 1; 0: skip it)")
    parser.add_argument("--via", choices=("cli", "python"), default="cli", help="how Threshold shares")
    args = parser.parse_args()
    for rows, runs in ((args.small_rows, args.small_runs), (args.rows, args.runs)):
        if runs > 0:
            compare(rows, runs, args.via)


def compare(rows: int, count: int, via: str) -> None:
    path = workbook(rows)
    print(f"\n{path.name}: {path.stat().st_size / 1e6:,.0f} MB; threshold via {via}; {count} runs each")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    runs: dict[str, list[Run]] = {"threshold": [], "calamine": []}
    for i in range(count):
        order = list(runs) if i % 2 == 0 else list(reversed(runs))
        for side in order:
            work = DATA_DIR / "runs" / f"xlsx-{side}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            if side == "threshold":
                run = share(path, work, via, rows)
            else:
                run = run_child([sys.executable, "-c", CALAMINE, str(path)])
            shutil.rmtree(work)
            runs[side].append(run)
            print(
                f"  run {i + 1} {side:<9} {run.seconds:6.2f} s  CPU {run.cpu_seconds:6.2f} s  "
                f"RSS {mib(run.peak_rss_bytes)}"
            )
    t = {side: statistics.median(r.seconds for r in rs) for side, rs in runs.items()}
    cpu = {side: statistics.median(r.cpu_seconds for r in rs) for side, rs in runs.items()}
    rss = {side: max(r.peak_rss_bytes for r in rs) for side, rs in runs.items()}
    print(f"\n{'':<22}{'median s':>10}{'median CPU s':>14}{'peak RSS (max)':>16}")
    for side, label in (("threshold", "threshold share"), ("calamine", "calamine read")):
        print(f"{label:<22}{t[side]:>10.2f}{cpu[side]:>14.2f}{mib(rss[side]):>16}")
    ratio = t["threshold"] / t["calamine"]
    print(f"time ratio threshold/calamine: {ratio:.2f} (target <= {TARGET}) {'met' if ratio <= TARGET else 'MISSED'}")
    print(f"CPU-time ratio threshold/calamine: {cpu['threshold'] / cpu['calamine']:.2f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
