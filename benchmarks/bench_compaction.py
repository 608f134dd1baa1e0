"""Query time after many small appends, before and after compaction, against a single-file table.

    .venv/bin/python benchmarks/bench_compaction.py [--appends 1000] [--rows 1000] [--runs 5]

Builds one home with two datasets holding the same rows: `bench.appended`, shared once and then
appended to `--appends - 1` times (one small file per append, as a daily export would), and
`bench.single`, shared in one go (one file). Times a few queries through the gateway on each,
alternating the order, then compacts `bench.appended` (`threshold maintenance compact`) and times
them again. Prints medians and the ratios against the single-file table in the same run.
Target: after compaction, within 1.1x of the single-file table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import DATA_DIR  # noqa: E402

QUERIES = {
    "count": "SELECT count(*) FROM {t}",
    "group by": "SELECT category, count(*), sum(amount), avg(amount) FROM {t} GROUP BY category ORDER BY category",
    "filter": "SELECT count(*), max(amount) FROM {t} WHERE day BETWEEN DATE '2026-03-01' AND DATE '2026-03-31'",
    "top 10": "SELECT id, amount FROM {t} ORDER BY amount DESC, id LIMIT 10",
}
TARGET = 1.1


def batch(first: int, n: int) -> pa.Table:
    import duckdb

    rel = duckdb.sql(
        f"""SELECT i AS id, 'category ' || (i % 17) AS category, ((i * 7919) % 100000) / 100.0 AS amount,
                   DATE '2026-01-01' + (i % 365)::INT AS day, md5(i::VARCHAR) AS note
            FROM range({first}, {first + n}) t(i)"""
    )
    assert rel is not None
    return rel.to_arrow_table()


def build(home: Path, appends: int, rows: int, *, reuse: bool = False) -> tuple[object, float]:
    """The home with both datasets; `reuse` carries on with a home an interrupted run left."""
    from threshold.identity.service import ADMIN, add_domain, ensure_admin, get_person
    from threshold.platform import Platform
    from threshold.sharing.service import share

    done = 0
    if reuse and (home / "threshold.db").exists():
        platform = Platform.open(home)
        if platform.lake.exists("bench.appended"):
            done = len(platform.lake.load("bench.appended").snapshots())
        if platform.lake.exists("bench.single"):
            platform.lake.drop("bench.single")  # shared again below, after the appends
            with platform.store.session() as s:
                from threshold.store.models import Dataset

                s.query(Dataset).filter(Dataset.full_name == "bench.single").delete()
    else:
        shutil.rmtree(home, ignore_errors=True)
        platform = Platform.open(home, must_exist=False)
        platform.init()
        ensure_admin(platform)
        add_domain(platform, "bench", owners=(ADMIN,))
    admin = get_person(platform, ADMIN)
    started = time.perf_counter()
    for k in range(done, appends):
        share(
            platform,
            batch(k * rows, rows),
            domain="bench",
            name="appended",
            mode="create" if k == 0 else "append",
            user=admin,
        )
        if (k + 1) % 100 == 0:
            print(f"  {k + 1} appends, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    share(platform, batch(0, appends * rows), domain="bench", name="single", user=admin)
    return platform, seconds


def compare(client: object, runs: int, label: str) -> dict[str, float]:
    """Median wall and CPU seconds per query on both tables; each run alternates which table goes first."""
    tables = ("appended", "single")
    wall: dict[tuple[str, str], list[float]] = {(t, q): [] for t in tables for q in QUERIES}
    cpu: dict[tuple[str, str], list[float]] = {(t, q): [] for t in tables for q in QUERIES}
    for t in tables:
        for q in QUERIES.values():
            client.sql(q.format(t=f"bench.{t}"))  # type: ignore[attr-defined]  # plans each snapshot once
    for i in range(runs):
        for q, sql in QUERIES.items():
            for t in tables if i % 2 == 0 else tables[::-1]:
                w0, c0 = time.perf_counter(), time.process_time()
                client.sql(sql.format(t=f"bench.{t}"))  # type: ignore[attr-defined]
                wall[(t, q)].append(time.perf_counter() - w0)
                cpu[(t, q)].append(time.process_time() - c0)
    w = {k: statistics.median(v) for k, v in wall.items()}
    c = {k: statistics.median(v) for k, v in cpu.items()}
    print(f"\n{label}  (medians of {runs} runs)")
    print(f"{'query':<10}{'appended ms':>13}{'single ms':>11}{'ratio':>8}{'CPU ratio':>11}")
    for q in QUERIES:
        a, s_ = w[("appended", q)], w[("single", q)]
        print(f"{q:<10}{a * 1000:>13.1f}{s_ * 1000:>11.1f}{a / s_:>8.2f}{c[('appended', q)] / c[('single', q)]:>11.2f}")
    tw = {t: sum(w[(t, q)] for q in QUERIES) for t in tables}
    tc = {t: sum(c[(t, q)] for q in QUERIES) for t in tables}
    total, total_cpu = tw["appended"] / tw["single"], tc["appended"] / tc["single"]
    print(f"{'total':<10}{tw['appended'] * 1000:>13.1f}{tw['single'] * 1000:>11.1f}{total:>8.2f}{total_cpu:>11.2f}")
    return {"total": total, "cpu": total_cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appends", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=1000, help="rows per append")
    parser.add_argument("--runs", type=int, default=11, help="timed runs per query and table")
    parser.add_argument("--reuse", action="store_true", help="carry on with the home an interrupted run left")
    args = parser.parse_args()

    import threshold
    from threshold.identity.service import ADMIN, get_person
    from threshold.lakefiles import live_files
    from threshold.operations.maintenance import compact

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    home = DATA_DIR / "runs" / "compaction-home"
    platform, build_s = build(home, args.appends, args.rows, reuse=args.reuse)
    print(f"{args.appends} appends of {args.rows} rows: {build_s:.0f} s ({build_s / args.appends * 1000:.0f} ms each)")
    client = threshold.connect(home)
    try:
        before = compare(client, args.runs, f"after {args.appends} appends ({args.appends} files) vs one file")
        t0 = time.perf_counter()
        result = compact(platform, get_person(platform, ADMIN), "bench.appended")  # type: ignore[arg-type]
        compact_s = time.perf_counter() - t0
        table = platform.lake.load("bench.appended")  # type: ignore[attr-defined]
        files = len(live_files(platform.lake, table, result.snapshot_id))  # type: ignore[attr-defined]
        print(
            f"\ncompaction: {result.files_before} files ({result.bytes_before / 1e6:.1f} MB) -> {files} "
            f"({result.bytes_after / 1e6:.1f} MB) in {compact_s:.1f} s"
        )
        after = compare(client, args.runs, "after compaction vs one file")
    finally:
        client.close()
        platform.close()  # type: ignore[attr-defined]
    verdict = "met" if after["total"] <= TARGET else "MISSED"
    print(
        f"\nratio to the single-file table, wall (CPU): before {before['total']:.2f} ({before['cpu']:.2f}), "
        f"after compaction {after['total']:.2f} ({after['cpu']:.2f}) (target <= {TARGET}) {verdict}"
    )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
