"""Big queries on Daft: the 22 TPC-H queries through the gateway on Daft on a local 2-node Ray cluster,
against the same gateway on DuckDB (same home, same governed views, same usage recording).

    .venv/bin/python benchmarks/bench_daft.py [--sf 1] [--runs 1] [--cpus-per-node 1]

The eight tables are shared into a fresh home from tpchgen's Parquet output (untimed). The cluster is
started here (`ray.cluster_utils.Cluster`: a head and a second node, `--cpus-per-node` CPUs each) and
stopped at the end. Each query runs once on each engine to warm up and compare results, then `--runs` times
on each, interleaved. A query Daft cannot run answers on DuckDB (`engine.fallback`): it is listed, and left
out of the ratio. Prints per-query medians, the ratio daft/duckdb per query and of the totals (expected > 1
on one machine: Daft on Ray pays for planning, scheduling and moving partitions between processes, which a
cluster repays only when the data outgrows one machine), and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import tpch
from bench_gateway import share_tpch
from data import DATA_DIR, ensure_tpch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sf", type=float, default=1, help="TPC-H scale factor (default 1)")
    parser.add_argument("--runs", type=int, default=1, help="timed runs of each query on each engine (default 1)")
    parser.add_argument("--cpus-per-node", type=int, default=1, help="CPUs of each of the two Ray nodes")
    args = parser.parse_args()

    ensure_tpch(args.sf, ("parquet",))
    home = DATA_DIR / "runs" / "daft-home"
    print(f"sharing TPC-H SF {args.sf:g} into {home} ...", flush=True)
    share_tpch(args.sf, home)

    import ray
    from ray.cluster_utils import Cluster

    os.environ.setdefault("DAFT_PROGRESS_BAR", "0")
    node = {"num_cpus": args.cpus_per_node, "object_store_memory": 512 * 1024 * 1024}
    started = time.perf_counter()
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    cluster.add_node(**node)
    cluster.wait_for_nodes()
    print(f"Ray cluster of 2 nodes x {args.cpus_per_node} CPU up in {time.perf_counter() - started:.1f} s")
    os.environ["THRESHOLD_ENGINE__RAY_ADDRESS"] = cluster.address
    try:
        run(home, args.runs)
    finally:
        ray.shutdown()
        cluster.shutdown()


def run(home: os.PathLike[str], runs: int) -> None:
    import threshold
    from threshold.client import notes

    client = threshold.connect(home=str(home))
    engines = ("daft", "duckdb")
    queries = tpch.load_queries()
    fell_back: dict[str, str] = {}
    mismatches: dict[str, str] = {}
    started = time.perf_counter()
    for name, sql in queries.items():  # warm-up (the first Daft query starts its runner), and the equality check
        scaled = client.sql(sql, engine="daft")
        said = [n for n in notes(scaled) if n.startswith("answered by DuckDB")]
        if said:
            fell_back[name] = said[0].split(": ", 2)[-1]
        why = tpch.difference(scaled, client.sql(sql, engine="duckdb"))
        if why:
            mismatches[name] = why
    print(f"warm-up and comparison: {time.perf_counter() - started:.1f} s")

    wall: dict[str, dict[str, list[float]]] = {name: {e: [] for e in engines} for name in queries}
    for i in range(runs):
        for name, sql in queries.items():
            for engine in engines if i % 2 == 0 else tuple(reversed(engines)):
                t = time.perf_counter()
                client.sql(sql, engine=engine)
                wall[name][engine].append(time.perf_counter() - t)
    client.close()

    medians = {name: {e: statistics.median(v) for e, v in by.items()} for name, by in wall.items()}
    print(f"\n{'query':<7}{'daft s':>9}{'duckdb s':>10}{'ratio':>8}  result")
    for name, m in medians.items():
        result = "MISMATCH: " + mismatches[name] if name in mismatches else "same"
        if name in fell_back:
            result += f" (answered by DuckDB: {fell_back[name]})"
        print(f"{name:<7}{m['daft']:>9.3f}{m['duckdb']:>10.3f}{m['daft'] / m['duckdb']:>8.2f}  {result}")
    native = [n for n in queries if n not in fell_back]
    total = {e: sum(medians[n][e] for n in native) for e in engines}
    ratio = total["daft"] / total["duckdb"]
    print(
        f"{'total':<7}{total['daft']:>9.3f}{total['duckdb']:>10.3f}{ratio:>8.2f}  ({len(native)} queries run on Daft)"
    )
    print(f"\nratio daft/duckdb over the {len(native)} queries Daft runs itself ({runs} runs): {ratio:.2f}")
    print(f"results: {len(queries) - len(mismatches)}/{len(queries)} queries identical on both engines")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if mismatches:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
