"""Benchmark, data quality: a product's full check set (10 checks) on TPC-H `lineitem` against ONE full
scan of the table in plain DuckDB.

    .venv/bin/python benchmarks/bench_quality.py [--sf 1] [--runs 5]

`lineitem` is shared from tpchgen's Parquet output into a fresh home (untimed), and the ten checks a
data contract for it would carry are added: not null on its three keys, unique (l_orderkey,
l_linenumber), accepted values of l_returnflag and of l_linestatus, ranges of l_quantity and
l_discount, a pattern for l_shipmode, a row-count floor, freshness of the last snapshot, and the schema.

Threshold's side is `quality.dataset_checks.run` exactly as `threshold check run tpch.lineitem` calls it:
owner lookup, the checks' single aggregate query through the gateway (parse wall, decision, usage event,
audit; the unique key counted in a bitmap within the bounds the Parquet footers state), evaluation, and
recording the ten runs (which also keeps the last status of each check).

The baseline is one full scan in an in-memory DuckDB with the gateway engine's thread count over the
same Iceberg data files: `count(*)` plus one aggregate over every one of the 16 columns (`sum` of the
numbers, of the dates' epochs and of the strings' lengths), so every column is read and decoded once
(the target: Threshold <= 1.5x this). `min`/`max` would not do: DuckDB answers them from the Parquet
statistics without reading the data. The narrow scan `count(*), sum(l_extendedprice)` is printed too,
for reference, and so is the cost of the same ten checks run one query each, to show what the single
scan saves. Sides alternate; medians of `--runs` (wall and CPU time of this process); the load average
is printed before and after, since other work on the machine moves the absolute times.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import tpch
from data import DATA_DIR, ensure_tpch, table_path
from home import data_files, fresh_home, run_threshold

if TYPE_CHECKING:
    from threshold.quality.check_results import CheckResult

TARGET = 1.5


def product_checks(sf: float) -> list[tuple[str, dict[str, object], bool]]:
    """(kind, options, blocking): what the lineitem product's contract promises."""
    return [
        ("not_null", {"columns": ["l_orderkey", "l_partkey", "l_suppkey"]}, True),
        ("unique", {"columns": ["l_orderkey", "l_linenumber"]}, True),
        ("accepted_values", {"column": "l_returnflag", "values": ["A", "N", "R"]}, True),
        ("accepted_values", {"column": "l_linestatus", "values": ["O", "F"]}, False),
        ("range", {"column": "l_quantity", "min": 1, "max": 50}, False),
        ("range", {"column": "l_discount", "min": 0, "max": 0.1}, False),
        ("regex", {"column": "l_shipmode", "pattern": "AIR|REG AIR|RAIL|SHIP|TRUCK|MAIL|FOB"}, False),
        ("row_count", {"min": int(6_000_000 * sf)}, False),
        ("freshness", {"max_age": "1d"}, False),
        ("schema", {}, True),
    ]


def _types(con: object) -> list[tuple[str, str]]:
    rows = con.sql("DESCRIBE SELECT * FROM tpch.lineitem").fetchall()  # type: ignore[attr-defined]
    return [(str(r[0]), str(r[1])) for r in rows]


def _read(column: str, typ: str) -> str:
    """An aggregate that must read every value of the column (no Parquet statistic answers it)."""
    if typ == "VARCHAR":
        return f"sum(length({column}))"
    if typ == "DATE" or typ.startswith("TIMESTAMP"):
        return f"sum(epoch({column}))"
    return f"sum({column})"


def _checks_query(platform: object, ids: list[int]) -> str:
    """The aggregate query the runner sends through the gateway for these checks (to time it bare)."""
    from threshold.quality.footers import snapshot_facts
    from threshold.quality.models import Check
    from threshold.quality.reading import published_target
    from threshold.quality.runner import CheckInfo, aggregate_sql

    with platform.store.session() as s:  # type: ignore[attr-defined]
        infos = [CheckInfo.of(s.get(Check, i)) for i in ids]
    target = published_target(platform, "tpch.lineitem")  # type: ignore[arg-type]
    facts = snapshot_facts(platform.lake.plan("tpch.lineitem", target.snapshot_id))  # type: ignore[attr-defined]
    scanned = [c for c in infos if c.kind not in ("schema", "freshness", "sql")]
    return aggregate_sql("tpch.lineitem", scanned, target.types, facts)[0]


def _load(avg: tuple[float, float, float]) -> str:
    return ", ".join(f"{x:.2f}" for x in avg)


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sf", type=float, default=1, help="TPC-H scale factor (default 1)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each side (default 5)")
    args = parser.parse_args()

    from threshold.identity.service import ADMIN, get_person
    from threshold.platform import Platform
    from threshold.quality import dataset_checks
    from threshold.quality.kinds import CheckSpec

    load_before = os.getloadavg()
    ensure_tpch(args.sf, ("parquet",))
    home = DATA_DIR / "runs" / "quality-home"
    print(f"sharing TPC-H SF {args.sf:g} lineitem into {home} ...", flush=True)
    fresh_home(home, "tpch")
    run_threshold(
        "share",
        str(table_path(args.sf, "parquet", "lineitem")),
        "--domain",
        "tpch",
        "--name",
        "lineitem",
        "--home",
        str(home),
    )
    files: list[Path] = data_files(home, "tpch", "lineitem")

    platform = Platform.open(home)
    admin = get_person(platform, ADMIN)  # owns the tpch domain: the checks run with an owner's rights
    ids = [
        dataset_checks.add(platform, admin, "tpch.lineitem", CheckSpec(k, o, blocking=b)).id
        for k, o, b in product_checks(args.sf)
    ]
    threads = platform.settings.engine_threads or None
    con = tpch.plain_duckdb({"lineitem": files}, threads=threads)
    full_scan = "SELECT count(*), " + ", ".join(_read(c, t) for c, t in _types(con)) + " FROM tpch.lineitem"
    narrow_scan = "SELECT count(*), sum(l_extendedprice) FROM tpch.lineitem"
    checks_sql = _checks_query(platform, ids)

    results: list[list[CheckResult]] = []
    sides: dict[str, Callable[[], object]] = {
        "threshold: 10 checks": lambda: results.append(dataset_checks.run(platform, admin, "tpch.lineitem")),
        "duckdb: one full scan": lambda: con.sql(full_scan).fetchall(),
        "duckdb: count + sum": lambda: con.sql(narrow_scan).fetchall(),
        "duckdb: the checks' own query": lambda: con.sql(checks_sql).fetchall(),
        "threshold: one query per check": lambda: [
            dataset_checks.run(platform, admin, "tpch.lineitem", check_ids=[i]) for i in ids
        ],
    }
    for fn in sides.values():  # warm-up (and the first runs' statuses)
        fn()
    statuses = [(r.name, r.status) for r in results[0]]
    wall: dict[str, list[float]] = {s: [] for s in sides}
    cpu: dict[str, list[float]] = {s: [] for s in sides}
    for i in range(args.runs):
        order = list(sides) if i % 2 == 0 else list(reversed(sides))
        for side in order:
            w, c = timed(sides[side])
            wall[side].append(w)
            cpu[side].append(c)

    load_after = os.getloadavg()
    plain_threads = con.sql("SELECT current_setting('threads')").fetchall()[0][0]
    print(f"load average (1, 5, 15 min): before {_load(load_before)}; after {_load(load_after)}")
    print(f"engine threads: gateway {threads or 'one per core'}; plain DuckDB {plain_threads}; CPUs {os.cpu_count()}")
    print(f"rows: {con.sql('SELECT count(*) FROM tpch.lineitem').fetchall()[0][0]:,}; data files: {len(files)}")
    print(f"full scan: {full_scan}")
    print("checks:", "; ".join(f"{n} [{s}]" for n, s in statuses))
    print(f"\n{'side':<34}{'median wall s':>14}{'median CPU s':>14}")
    for side in sides:
        print(f"{side:<34}{statistics.median(wall[side]):>14.3f}{statistics.median(cpu[side]):>14.3f}")
    base = statistics.median(wall["duckdb: one full scan"])
    ours = statistics.median(wall["threshold: 10 checks"])
    ratio = ours / base
    cpu_ratio = statistics.median(cpu["threshold: 10 checks"]) / statistics.median(cpu["duckdb: one full scan"])
    narrow = ours / statistics.median(wall["duckdb: count + sum"])
    each = statistics.median(wall["threshold: one query per check"]) / ours
    bare = ours / statistics.median(wall["duckdb: the checks' own query"])
    print(
        f"\nratio 10 checks / one full scan ({args.runs} runs): wall {ratio:.2f}, CPU {cpu_ratio:.2f} "
        f"(target <= {TARGET:g}) {'met' if ratio <= TARGET else 'MISSED'}"
    )
    print(f"ratio 10 checks / narrow count+sum scan: wall {narrow:.2f} (for reference)")
    print(f"one query per check costs {each:.2f}x the single-scan run")
    print(f"the run costs {bare:.2f}x its own aggregate query run bare on plain DuckDB (gateway, recording)")
    platform.close()


if __name__ == "__main__":
    main()
