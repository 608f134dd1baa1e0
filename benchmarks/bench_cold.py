"""Benchmark: first-time queries through the gateway, as most of a test run's and a new dashboard's are.

    .venv/bin/python benchmarks/bench_cold.py [--queries 400] [--homes 0] [--base DIR [--rounds 3]]

A home gets three small datasets in three domains (one with a personal column, masked for outsiders by the
guardrail), a domain policy that masks a column and filters rows for one domain, and five readers. Each of
`--queries` queries is a text never sent before (seven shapes: group-bys, a join, a CTE, a masked column,
no dataset at all; each with its own values and comment), by a reader in turn, through `gateway.service.query`:
the prepared reads never hit, the kept decisions and resolutions do once a reader has read a dataset.
`--homes N` spreads the queries over N fresh copies of the home instead (a platform opened per copy: the
engine, the catalog, the first decision of each reader on each dataset are paid again, as in a test).

Prints the median CPU per query (this process, every thread), the median per position in its home (0 is
the home's first query: in the first home, the process's first imports of the lake and the engine), the
metadata-store statements per query (SQLAlchemy `before_cursor_execute` on the query's thread), and the load
average. `--base DIR` also measures another checkout's `src` (e.g. a
worktree of `main`) in child processes, alternating `--rounds` times, and prints the ratio of the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from data import DATA_DIR

CSV = {
    "manufacturing": (
        "plant_kpis",
        "anna",
        "Plant,Operator Name,E-Mail,Scrap Rate,Energy kWh,Day\n"
        + "".join(
            f"{p},Op {i},op{i}@example.com,{i / 100:.2f},{1000 + i * 3.5},2026-01-{1 + i % 28:02d}\n"
            for i, p in enumerate(["Berlin", "Lyon", "Porto", "Berlin", "Lyon"] * 8)
        ),
    ),
    "finance": (
        "budgets",
        "ben",
        "Plant,Year,Budget,Owner\n"
        + "".join(f"{p},{2020 + i % 6},{1000 * i},o{i % 3}\n" for i, p in enumerate(["Berlin", "Lyon", "Porto"] * 10)),
    ),
    "sales": (
        "orders",
        "carla",
        "Order Id,Customer,Amount,Region,Day\n"
        + "".join(
            f"{i},cust{i % 7},{i * 1.5},{['north', 'south', 'east'][i % 3]},2026-02-{1 + i % 28:02d}\n"
            for i in range(60)
        ),
    ),
}
POLICY = """\
domain: manufacturing
policies:
  - {id: energy, kind: mask, datasets: [plant_kpis], columns: [energy_kwh], mask: hash}
  - {id: berlin, kind: row_filter, datasets: [plant_kpis], where: "plant = 'Berlin'", readers: {domains: [finance]}}
"""
READERS = ("anna", "ben", "carla", "dan", "admin")
SHAPES = (
    "SELECT plant, sum(scrap_rate) AS s{i} FROM manufacturing.plant_kpis WHERE scrap_rate > {v} GROUP BY 1 ORDER BY 1",
    "SELECT count(*) AS c{i} FROM sales.orders WHERE amount > {v}",
    "SELECT b.plant, b.budget, k.scrap_rate FROM finance.budgets b JOIN manufacturing.plant_kpis k "
    "ON k.plant = b.plant WHERE b.year = {y} LIMIT {n}",
    "SELECT region, avg(amount) AS a{i} FROM sales.orders GROUP BY region HAVING avg(amount) > {v} ORDER BY region",
    "WITH t AS (SELECT * FROM finance.budgets WHERE budget > {v}) SELECT plant, count(*) AS n{i} FROM t GROUP BY plant",
    "SELECT e_mail, day FROM manufacturing.plant_kpis ORDER BY day LIMIT {n}",
    "SELECT {i} AS x, 'a{tag}' AS y",
)


def build(home: Path) -> None:
    """The home described above, built in this process (untimed)."""
    from threshold.governance.policies import apply
    from threshold.identity.service import add_domain, add_user, ensure_admin, get_person, join_domain
    from threshold.platform import Platform
    from threshold.sharing.service import share

    shutil.rmtree(home, ignore_errors=True)
    platform = Platform.open(home, must_exist=False)
    platform.init()
    ensure_admin(platform)
    for name in READERS[:-1]:
        add_user(platform, name, display_name=name.title(), password=f"{name}-pass")
    for domain, (_, owner, _) in CSV.items():
        add_domain(platform, domain, owners=(owner,))
    join_domain(platform, "dan", "sales")
    for domain, (name, owner, text) in CSV.items():
        source = home.parent / f"{name}.csv"
        source.write_text(text)
        share(platform, source, domain=domain, user=get_person(platform, owner), purpose="reporting")
    apply(platform, get_person(platform, "anna"), POLICY, reason="benchmark")
    platform.close()


def queries(n: int, tag: str) -> list[tuple[str, str]]:
    """`n` (reader, text) pairs, every text new: its values and its trailing comment are its own."""
    out = []
    for i in range(n):
        sql = SHAPES[i % len(SHAPES)].format(i=i, v=i % 17, y=2020 + i % 6, n=1 + i % 9, tag=tag)
        out.append((READERS[(i // len(SHAPES)) % len(READERS)], f"{sql} -- {tag} {i}"))
    return out


def measure(home: Path, n: int, homes: int) -> dict[str, object]:
    """Run the queries (in this process, on this process's `threshold`); CPU per query and statements."""
    from sqlalchemy import event

    from threshold.gateway.service import query
    from threshold.identity.service import get_person
    from threshold.platform import Platform

    places = [home]
    if homes:
        places = [home.parent / f"cold-copy-{os.getpid()}-{k}" for k in range(homes)]
        for place in places:
            shutil.rmtree(place, ignore_errors=True)
            shutil.copytree(home, place)
    cpu: list[float] = []
    by_position: dict[int, list[float]] = {}
    statements: list[int] = []
    main = threading.main_thread()
    tag = f"p{os.getpid()}t{time.time_ns()}"
    try:
        for h, place in enumerate(places):
            platform = Platform.open(place)
            people = {name: get_person(platform, name) for name in READERS}
            count = [0]

            def counted(*_args: object, count: list[int] = count) -> None:
                if threading.current_thread() is main:
                    count[0] += 1

            event.listen(platform.store.engine, "before_cursor_execute", counted)
            if not homes:
                query(platform, "SELECT 1", user=people["admin"])  # the platform's machinery, untimed
            for position, (who, sql) in enumerate(queries(n // len(places), f"{tag}h{h}")):
                count[0] = 0
                start = time.process_time()
                query(platform, sql, user=people[who])
                cpu.append(time.process_time() - start)
                by_position.setdefault(min(position, 5), []).append(cpu[-1])
                statements.append(count[0])
            platform.close()
    finally:
        for place in places:
            if place != home:
                shutil.rmtree(place, ignore_errors=True)
    return {
        "median_ms": statistics.median(cpu) * 1000,
        "by_position": {k: round(statistics.median(v) * 1000, 2) for k, v in sorted(by_position.items())},
        "statements": statistics.median(statements),
        "statements_mean": statistics.mean(statements),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=400, help="first-time queries per measurement")
    parser.add_argument("--homes", type=int, default=0, help="spread them over this many fresh copies of the home")
    parser.add_argument("--base", help="another checkout whose src to measure too (alternating)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds with --base")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    home = DATA_DIR / "runs" / "cold-home" / "home"
    if args.child:
        print(json.dumps(measure(home, args.queries, args.homes)))
        return
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; CPUs {os.cpu_count()}")
    home.parent.mkdir(parents=True, exist_ok=True)
    build(home)
    trees = {"this": str(Path(__file__).resolve().parent.parent / "src")}
    if args.base:
        trees["base"] = str(Path(args.base).resolve() / "src")
    medians: dict[str, list[float]] = {name: [] for name in trees}
    for r in range(args.rounds if args.base else 1):
        order = list(trees) if r % 2 == 0 else list(reversed(trees))
        for name in order:
            env = {**os.environ, "PYTHONPATH": trees[name]}
            argv = [sys.executable, __file__, "--child", "--queries", str(args.queries), "--homes", str(args.homes)]
            done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                sys.exit(f"{name}: the measurement failed:\n{done.stdout}{done.stderr}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            medians[name].append(float(result["median_ms"]))
            print(
                f"{name:<5} CPU per query: median {result['median_ms']:.2f} ms; by position in its home "
                f"{result['by_position']}; store statements per query: median {result['statements']}, "
                f"mean {result['statements_mean']:.2f}"
            )
    if args.base:
        this, base = statistics.median(medians["this"]), statistics.median(medians["base"])
        print(f"median of medians: this {this:.2f} ms, base {base:.2f} ms, ratio {this / base:.3f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
