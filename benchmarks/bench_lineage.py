"""Benchmark 3, lineage graph queries: upstream and downstream five levels deep on a graph of
100,000 datasets and 1,000,000 edges, in a fresh home's metadata store (SQLite by default).

    .venv/bin/python benchmarks/bench_lineage.py [--datasets 100000] [--edges 1000000] [--starts 200]
                                                [--database-url postgresql+psycopg://...]

The graph is bulk-inserted (untimed, but reported): 100,000 datasets in 50 domains, laid out in 50
layers of 2,000 like a real supply chain (raw data on the left, marts on the right). Every dataset
after the first layer reads 10 datasets, mostly from the layer before it and near its own position
(a domain's datasets feed each other), one time in five from two to five layers back; 20 "hub"
datasets of the first layer (a calendar, a currency table) feed 1,000 random datasets each, so that
the edges total exactly `--edges`. The baseline of each traversal is the other traversal.

Measured, from `--starts` random datasets (the same ones for every method), each direction:
- `walk` (breadth-first, one indexed query per level, the one the API uses, node limit 2,000),
- `walk_cte` (one recursive SQL statement, no node limit),
- `lineage()` (the API's answer: the walk plus every node's kind, domain, owners and derivation, in its
  JSON form as the API sends it),
then the same from the 20 hubs downstream (the worst case: a hub reaches most of the graph). Prints
median, p95 and max milliseconds, and how many nodes each walk reached. Target: p95 <= 200 ms.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from threshold.identity.service import ADMIN, ensure_admin, get_person  # noqa: E402
from threshold.lineage import graph  # noqa: E402
from threshold.lineage.supply_chain import lineage  # noqa: E402
from threshold.platform import Platform  # noqa: E402

TARGET_MS = 200.0
LAYERS = 50
DOMAINS = 50
PARENTS = 10
WINDOW = 15
HUBS = 20


def build_graph(platform: Platform, n: int, m: int, seed: int) -> tuple[list[int], list[int]]:
    """Bulk-insert domains, owners, `n` datasets with their lineage nodes and `m` edges; node ids
    of every dataset and of the hubs."""
    rng = random.Random(seed)
    per_layer = n // LAYERS
    now = datetime.now(UTC)
    with platform.store.engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO users (name, display_name, is_admin, is_governance, attributes, created_at) "
                "VALUES (:n, :n, false, false, '{}', :t)"
            ),
            [{"n": f"owner{d}", "t": now} for d in range(DOMAINS)],
        )
        c.execute(
            text(
                "INSERT INTO domains (name, title, description, default_visibility, created_at) "
                "VALUES (:n, :n, '', 'open', :t)"
            ),
            [{"n": f"d{d}", "t": now} for d in range(DOMAINS)],
        )
        users = dict(c.execute(text("SELECT name, id FROM users")).all())
        domains = dict(c.execute(text("SELECT name, id FROM domains")).all())
        c.execute(
            text("INSERT INTO memberships (user_id, domain_id, role) VALUES (:u, :d, 'owner')"),
            [{"u": users[f"owner{d}"], "d": domains[f"d{d}"]} for d in range(DOMAINS)],
        )
        rows = []
        for i in range(n):
            layer, pos = divmod(i, per_layer)
            domain = f"d{(pos * DOMAINS) // per_layer}"
            rows.append({"dom": domains[domain], "name": f"ds{i}", "full": f"{domain}.ds{i}", "t": now})
        c.execute(
            text(
                "INSERT INTO datasets (domain_id, name, full_name, title, description, purpose, stage, "
                "allowed_purposes, snapshot_id, row_count, size_bytes, created_at, updated_at) VALUES "
                "(:dom, :name, :full, :name, '', '', 'shared', '[]', 1, 0, 0, :t, :t)"
            ),
            rows,
        )
        ds_ids = dict(c.execute(text("SELECT full_name, id FROM datasets")).all())
        c.execute(
            text(
                "INSERT INTO lineage_nodes (kind, namespace, name, dataset_id, owners, columns, detail, "
                "created_at, updated_at) VALUES ('dataset', 'threshold', :full, :ds, '[]', '[]', '{}', :t, :t)"
            ),
            [{"full": r["full"], "ds": ds_ids[r["full"]], "t": now} for r in rows],
        )
        node_of = dict(c.execute(text("SELECT dataset_id, id FROM lineage_nodes")).all())
        ids = [node_of[ds_ids[r["full"]]] for r in rows]
        edges: set[tuple[int, int]] = set()
        for i in range(per_layer, n):
            layer, pos = divmod(i, per_layer)
            parents: set[int] = set()
            while len(parents) < PARENTS:
                back = 1 if layer == 1 or rng.random() < 0.8 else rng.randint(2, min(5, layer))
                p = (pos + rng.randint(-WINDOW, WINDOW)) % per_layer
                parents.add((layer - back) * per_layer + p)
            edges.update((ids[p], ids[i]) for p in parents)
        hubs = [ids[h] for h in rng.sample(range(per_layer), HUBS)]
        while len(edges) < m:
            edges.add((rng.choice(hubs), ids[rng.randrange(per_layer, n)]))
        c.execute(
            text(
                "INSERT INTO lineage_edges (src_id, dst_id, origin, created_at, updated_at) "
                "VALUES (:s, :d, 'derivation', :t, :t)"
            ),
            [{"s": a, "d": b, "t": now} for a, b in edges],
        )
    return ids, hubs


def timed(fn: Callable[[], int], runs: list[float], sizes: list[int], cpu: list[float] | None = None) -> None:
    """Wall milliseconds into `runs`, nodes reached into `sizes`, CPU milliseconds into `cpu`."""
    start, start_cpu = time.perf_counter(), time.process_time()
    sizes.append(fn())
    runs.append((time.perf_counter() - start) * 1000)
    if cpu is not None:
        cpu.append((time.process_time() - start_cpu) * 1000)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def summary(label: str, runs: list[float], sizes: list[int], cpu: list[float] | None = None) -> tuple[str, float]:
    line = (
        f"{label:<32} wall median {statistics.median(runs):6.1f} p95 {p95(runs):6.1f} max {max(runs):6.1f} ms"
        + (f" | CPU median {statistics.median(cpu):6.1f} p95 {p95(cpu):6.1f} ms" if cpu else "")
        + f" | nodes median {int(statistics.median(sizes)):>5,} max {max(sizes):>5,}"
    )
    return line, p95(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=int, default=100_000)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--starts", type=int, default=200, help="random start datasets (default 200)")
    parser.add_argument("--depth", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=None, help="an EMPTY PostgreSQL database (default: SQLite)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        overrides = {"database_url": args.database_url} if args.database_url else {}
        platform = Platform.open(Path(tmp) / "home", must_exist=False, **overrides)
        platform.init()
        ensure_admin(platform)
        started = time.perf_counter()
        ids, hubs = build_graph(platform, args.datasets, args.edges, args.seed)
        built = time.perf_counter() - started
        with platform.store.engine.connect() as c:
            n_edges = c.execute(text("SELECT count(*) FROM lineage_edges")).scalar_one()
            n_nodes = c.execute(text("SELECT count(*) FROM lineage_nodes")).scalar_one()
            if platform.settings.is_sqlite:
                c.execute(text("ANALYZE"))
                plan = c.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT src_id, dst_id, job_id FROM lineage_edges WHERE src_id IN (1, 2, 3)"
                    )
                ).all()
                plan_up = c.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT dst_id, src_id, job_id FROM lineage_edges WHERE dst_id IN (1, 2, 3)"
                    )
                ).all()
            else:
                c.execute(text("ANALYZE"))
                plan = c.execute(
                    text("EXPLAIN SELECT src_id, dst_id, job_id FROM lineage_edges WHERE src_id IN (1, 2, 3)")
                ).all()
                plan_up = []
            c.commit()
        backend = "SQLite" if platform.settings.is_sqlite else "PostgreSQL"
        print(f"{backend}: {n_nodes:,} nodes, {n_edges:,} edges, built in {built:.1f} s (bulk insert, untimed)")
        print("step query plans:", "; ".join(str(r[-1]) for r in plan), "|", "; ".join(str(r[-1]) for r in plan_up))

        rng = random.Random(args.seed + 1)
        starts = rng.sample(ids, args.starts)
        admin = get_person(platform, ADMIN)
        names: dict[int, str] = {}
        with platform.store.engine.connect() as c:
            listed = ",".join(str(i) for i in [*starts, *hubs])
            rows = c.execute(text(f"SELECT id, name FROM lineage_nodes WHERE id IN ({listed})")).all()
            names = {int(a): str(b) for a, b in rows}
        results: list[tuple[str, float]] = []
        for frozen in (False, True):
            if frozen:
                # As `threshold serve` does at start-up (api/lineage.py): full collections skip the
                # long-lived heap of imported modules.
                gc.collect()
                gc.freeze()
            print(f"-- {'heap frozen at start-up, as served' if frozen else 'plain process (gc not frozen)'}")
            results = measure(platform, starts, hubs, names, admin, args.depth)
        platform.close()

    worst = max(p for label, p in results if not label.startswith("walk_cte"))
    verdict = "met" if worst <= TARGET_MS else "MISSED"
    print(f"target: p95 <= {TARGET_MS:.0f} ms for walk and lineage() as served -> worst p95 {worst:.1f} ms: {verdict}")


def measure(
    platform: Platform, starts: list[int], hubs: list[int], names: dict[int, str], admin: Any, depth: int
) -> list[tuple[str, float]]:
    """Time every method from every start; print one line each; return (label, p95) of each."""
    results: list[tuple[str, float]] = []
    for direction in ("upstream", "downstream"):
        bfs: tuple[list[float], list[int], list[float]] = ([], [], [])
        cte: tuple[list[float], list[int], list[float]] = ([], [], [])
        view: tuple[list[float], list[int], list[float]] = ([], [], [])
        truncated = 0
        for start in starts:
            with platform.store.reader() as s:
                timed(lambda: len(graph.walk(s, start, direction=direction, depth=depth).levels), *bfs)  # noqa: B023
                timed(lambda: len(graph.walk_cte(s, start, direction=direction, depth=depth)), *cte)  # noqa: B023
            data: dict[str, Any] = {}

            def answer() -> int:
                answered = lineage(platform, names[start], direction=direction, depth=depth, viewer=admin)  # noqa: B023
                data.update(answered.to_json())  # noqa: B023 (as the API sends it)
                return len(data["nodes"])  # noqa: B023

            timed(answer, *view)
            truncated += bool(data["truncated"])
        for label, (runs, sizes, cpu) in (
            (f"walk (BFS) {direction}", bfs),
            (f"walk_cte {direction}", cte),
            (f"lineage() view {direction}", view),
        ):
            line, worst = summary(label, runs, sizes, cpu)
            print(line)
            results.append((label, worst))
        print(f"{'':<32} lineage() stopped at the node limit: {truncated} of {len(starts)}")
    hub_bfs: tuple[list[float], list[int], list[float]] = ([], [], [])
    hub_view: tuple[list[float], list[int], list[float]] = ([], [], [])
    for hub in hubs:
        with platform.store.reader() as s:
            timed(lambda: len(graph.walk(s, hub, direction="downstream", depth=depth).levels), *hub_bfs)  # noqa: B023
        timed(
            lambda: len(
                lineage(platform, names[hub], direction="downstream", depth=depth, viewer=admin).to_json()["nodes"]  # noqa: B023
            ),
            *hub_view,
        )
    print(summary("hubs: walk (BFS) downstream", *hub_bfs)[0])
    print(summary("hubs: lineage() view downstream", *hub_view)[0])
    return results


if __name__ == "__main__":
    main()
