"""Benchmark: the fixed cost of small operations, against DuckDB alone doing the equivalent work.

    .venv/bin/python benchmarks/bench_small_ops.py [--runs 15] [--ops share,append] [--home DIR]

In one process, on a fresh embedded home (SQLite store, local warehouse) with one domain and its admin:
- `share`: a 3-row CSV shared as a new dataset (read, convert, create, commit, profile, publish);
- `share200`: a 200-row CSV of 8 columns of mixed types (ids, names, e-mail addresses, amounts, dates,
  flags, cities, scores) shared as a new dataset, the size of the files the tests build organisations from;
- `append`: the same file appended to a dataset with one active check (the share's gate runs it);
- `checks`: that dataset's checks run on its published snapshot (`quality.dataset_checks.run`);
- `derive`: a new dataset derived by SQL from it; `refresh`: a derived dataset refreshed;
- `open+close`: `Platform.open` of the home, one store query, `close`;
- baseline `duckdb copy`: a new in-memory DuckDB doing the COPY of the same CSV into a Parquet file.
Each operation runs `--runs` times after two warm-up runs; prints the median wall and CPU time (this process,
every thread) of each, and its ratio to the baseline's. Wall time moves with a shared machine's load; CPU time
less so. Compare two trees with PYTHONPATH=<tree>/src, alternating, on the same machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

CSV = "a,b,c\n1,x,2026-01-01\n2,y,2026-01-02\n3,z,2026-01-03\n"


def csv200() -> str:
    """200 rows of 8 columns of mixed types (the same every run)."""
    lines = ["id,name,email,amount,when,flag,city,score"]
    for i in range(200):
        lines.append(
            f"{i},name{i * 7919 % 1000},p{i}@example.com,{i * 37 % 1000 + 0.25:.2f},2026-01-{1 + i % 28:02d},"
            f"{'true' if i % 2 else 'false'},{('Oslo', 'Rome', 'Lima')[i % 3]},{i * 13 % 101}"
        )
    return "\n".join(lines) + "\n"


def timed(fn: Callable[[int], object], runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of `fn(i)` over `runs` calls, after two warm-up calls."""
    walls, cpus = [], []
    for i in range(runs + 2):
        w, c = time.perf_counter(), time.process_time()
        fn(i)
        if i >= 2:
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each operation (default 15)")
    parser.add_argument("--ops", default="", help="comma-separated operations to time (default: every one)")
    parser.add_argument("--home", type=Path, default=None, help="where the home goes (default: a temporary folder)")
    args = parser.parse_args()

    import duckdb

    import threshold
    from threshold.identity.service import add_domain, ensure_admin
    from threshold.lineage.derive import derive, refresh
    from threshold.platform import Platform
    from threshold.quality import dataset_checks
    from threshold.quality.kinds import CheckSpec
    from threshold.sharing.service import share
    from threshold.store.models import Dataset

    print(f"threshold from {Path(threshold.__file__).parent}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; CPUs {os.cpu_count()}")
    work = Path(tempfile.mkdtemp(prefix="bench-small-"))
    home = args.home or work / "home"
    shutil.rmtree(home, ignore_errors=True)
    csv = work / "tiny.csv"
    csv.write_text(CSV, encoding="utf-8")
    mixed = work / "mixed.csv"
    mixed.write_text(csv200(), encoding="utf-8")
    p = Platform.open(home, must_exist=False)
    p.init()
    admin = ensure_admin(p)
    add_domain(p, "d")
    share(p, csv, domain="d", user=admin, name="checked")
    dataset_checks.add(p, admin, "d.checked", CheckSpec("not_null", {"column": "a"}))
    derive(p, "derived", domain="d", user=admin, sql="SELECT a, b FROM d.checked")

    def copy(i: int) -> None:
        con = duckdb.connect(":memory:")
        con.execute(f"COPY (SELECT * FROM read_csv('{csv}')) TO '{work / f'copy{i}.parquet'}' (FORMAT parquet)")
        con.close()

    def open_close(i: int) -> None:
        q = Platform.open(home)
        with q.store.session() as s:
            s.get(Dataset, 1)
        q.close()

    ops: dict[str, Callable[[int], object]] = {
        "duckdb copy": copy,
        "share": lambda i: share(p, csv, domain="d", user=admin, name=f"new{i}"),
        "share200": lambda i: share(p, mixed, domain="d", user=admin, name=f"mixed{i}"),
        "append": lambda i: share(p, csv, domain="d", user=admin, name="checked", mode="append"),
        "checks": lambda i: dataset_checks.run(p, admin, "d.checked"),
        "derive": lambda i: derive(p, f"der{i}", domain="d", user=admin, sql="SELECT a, c FROM d.checked"),
        "refresh": lambda i: refresh(p, "d.derived", user=admin),
        "open+close": open_close,
    }
    chosen = {"duckdb copy", *(o.strip() for o in args.ops.split(",") if o.strip())} if args.ops else set(ops)
    results = {name: timed(fn, args.runs) for name, fn in ops.items() if name in chosen}
    p.close()
    base_wall, base_cpu = results["duckdb copy"]
    print(f"\n{'operation':<12}{'wall ms':>10}{'CPU ms':>10}{'x copy (wall)':>15}{'x copy (CPU)':>14}")
    for name, (w, c) in results.items():
        print(f"{name:<12}{w * 1000:>10.1f}{c * 1000:>10.1f}{w / base_wall:>15.1f}{c / base_cpu:>14.1f}")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
