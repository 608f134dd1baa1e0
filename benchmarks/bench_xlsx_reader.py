"""The spreadsheet reader alone against python-calamine alone, in one process (no share, no home).

    .venv/bin/python benchmarks/bench_xlsx_reader.py [--rows 200000]

Reads `bench_share_xlsx.py`'s cached workbook three ways and prints each one's CPU time: calamine's
`to_python()` of the sheet (the baseline), the size check that runs before any grid is built
(`sheet_size.check`), and `read_excel` up to the relation counted by DuckDB (size check included).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
from bench_share_xlsx import workbook
from python_calamine import CalamineWorkbook

from threshold.limits.settings import LimitSettings
from threshold.sharing.readers import excel, sheet_size
from threshold.sharing.sources import read_options


def cpu(work: Callable[[], object]) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the workbook (default 200,000)")
    args = parser.parse_args()
    path = workbook(args.rows)
    options = read_options(None, None, None, None, 0, None, False, LimitSettings())
    print(f"{path.name}; load average {os.getloadavg()[0]:.2f}")
    base = cpu(lambda: CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python())
    size = cpu(lambda: sheet_size.check(path, options.limits))
    con = duckdb.connect()

    def read() -> None:
        [table] = excel.read_excel(path, con, Path("."), options)
        assert table.relation.aggregate("count(*)").fetchall()[0][0] == args.rows

    reader = cpu(read)
    print(f"  calamine to_python   CPU {base:6.2f} s")
    print(f"  size check           CPU {size:6.2f} s")
    print(f"  read_excel           CPU {reader:6.2f} s   ratio to calamine {reader / base:.2f}")


if __name__ == "__main__":
    main()
