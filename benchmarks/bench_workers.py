"""Benchmark: `threshold serve --workers N` against PostgreSQL: requests per second, and how fast a policy
change reaches every worker.

    set -a; . ./.test-env; set +a
    .venv/bin/python benchmarks/bench_workers.py [--workers 1,2,4] [--seconds 15] [--clients 8] [--changes 20]

Needs a PostgreSQL server (`THRESHOLD_TEST_POSTGRES_URL`, written by scripts/test-services.sh); a fresh
database is made for the run and dropped after. The home holds one dataset (100,000 rows) in domain `bench`,
its owner and four readers from another domain.

1. Throughput. For each worker count, a real `threshold serve --workers N` on a free port; `--clients`
   clients (spread over the four readers) send the soak mix in a loop for `--seconds`: who am I, the catalog
   listing, a group-by over the dataset and a filtered count (the victim's and the attacker's-neighbour's
   queries of the runaway benchmark, issue 9). Prints requests per second, p50/p95 latency, the server's
   CPU time per request (supervisor and workers, from /proc: steadier than wall time on a shared machine)
   for each count, and the ratio to one worker.
2. Propagation. On the largest worker count, `--changes` times: the owner applies (then retires) a row
   filter through one request; as soon as its response is back, four probes send a reader's count on fresh
   connections until every worker has answered. Prints how many answers came back with the old rule (the
   bound says none: the first answer of every worker follows the change) and the time until every worker
   had answered with the new one (median, max: an upper bound, set by how soon the kernel hands a probe to
   each worker).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import sqlalchemy as sa

READERS = ("rita", "raj", "rosa", "remy")
GROUP_BY = "SELECT plant, count(*) AS n, avg(units) AS u FROM bench.plants GROUP BY plant ORDER BY plant"
FILTERED = "SELECT count(*) AS n FROM bench.plants WHERE units % 7 = 0"
COUNT = "SELECT count(*) AS n FROM bench.plants"
FILTER = (
    "domain: bench\npolicies:\n  - {id: half, kind: row_filter, datasets: [plants], where: 'units < 50000', "
    "readers: outside_domain}\n"
)
RETIRE = "domain: bench\npolicies: []\n"


def database(admin_url: str, name: str, *, drop: bool = False) -> str:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not drop:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def build_home(home: Path, url: str) -> dict[str, str]:
    import pyarrow as pa

    from threshold.identity.service import add_domain, add_user, create_token, ensure_admin, join_domain
    from threshold.platform import Platform
    from threshold.sharing.service import share

    platform = Platform.open(home, must_exist=False, database_url=url)
    platform.init()
    ensure_admin(platform)
    add_user(platform, "olga")
    add_domain(platform, "bench", owners=("olga",))
    add_domain(platform, "sales")
    for name in READERS:
        add_user(platform, name)
        join_domain(platform, name, "sales")
    n = 100_000
    table = pa.table({"plant": [f"p{i % 20}" for i in range(n)], "units": list(range(n))})
    from threshold.identity.service import get_person

    share(platform, table, domain="bench", name="plants", user=get_person(platform, "olga"))
    tokens = {name: create_token(platform, name)[1] for name in ("olga", *READERS)}
    platform.close()
    return tokens


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(home: Path, url: str, workers: int, token: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = os.environ | {
        "THRESHOLD_DATABASE_URL": url,
        "THRESHOLD_JOBS__SCHEDULER": "false",
        "THRESHOLD_LIMITS__PERSON_QUERIES": "32",
        "THRESHOLD_LIMITS__QUERIES": "32",
    }
    cli = Path(sys.executable).parent / "threshold"
    cmd = [str(cli), "serve", "--home", str(home), "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    seen: set[str] = set()
    while len(seen) < workers:
        try:
            r = httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
            seen.add(r.headers.get("x-threshold-worker", "single"))
        except httpx.HTTPError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start") from None
            time.sleep(0.2)
    return server, base


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the server: the supervisor and its worker processes (from /proc)."""
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for p in [pid, *(int(c) for c in (children.read_text().split() if children.exists() else []))]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(timeout=120)


def soak(base: str, tokens: dict[str, str], clients: int, seconds: float) -> tuple[int, list[float]]:
    """The mix from `clients` clients for `seconds`: (requests answered, latencies)."""
    lock = threading.Lock()
    latencies: list[float] = []
    failures: list[str] = []
    end = time.monotonic() + seconds

    def client(i: int) -> None:
        token = tokens[READERS[i % len(READERS)]]
        mine: list[float] = []
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
            k = i
            while time.monotonic() < end:
                t = time.perf_counter()
                step = k % 4
                if step == 0:
                    r = c.get("/api/v1/me")
                elif step == 1:
                    r = c.get("/api/v1/datasets")
                else:
                    r = c.post("/api/v1/query", json={"sql": GROUP_BY if step == 2 else FILTERED})
                mine.append(time.perf_counter() - t)
                if r.status_code != 200:
                    failures.append(f"{r.status_code} {r.text[:120]}")
                k += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. {failures[0]}")
    return len(latencies), latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def propagation(base: str, tokens: dict[str, str], workers: int, changes: int) -> tuple[list[float], int, int]:
    """(seconds until every worker answered with the new rule, per change; stale answers; answers)."""
    owner = {"Authorization": f"Bearer {tokens['olga']}"}
    reader = {"Authorization": f"Bearer {tokens['rita']}"}

    def probe() -> tuple[str, int, float]:
        r = httpx.post(f"{base}/api/v1/query", headers=reader, json={"sql": COUNT}, timeout=60)
        return r.headers.get("x-threshold-worker", "single"), int(r.json()["rows"][0]["n"]), time.perf_counter()

    times: list[float] = []
    stale = answers = 0
    with ThreadPoolExecutor(4) as pool:
        for i in range(changes):
            text, expected = (FILTER, 50_000) if i % 2 == 0 else (RETIRE, 100_000)
            r = httpx.post(f"{base}/api/v1/policies", headers=owner, json={"text": text}, timeout=60)
            if r.status_code != 200:
                raise SystemExit(f"the policy change failed: {r.status_code} {r.text[:200]}")
            t0 = time.perf_counter()
            current: dict[str, float] = {}
            while len(current) < workers:
                for name, n, at in pool.map(lambda _: probe(), range(4)):
                    answers += 1
                    if n != expected:
                        stale += 1
                    else:
                        current.setdefault(name, at - t0)
            times.append(max(current.values()))
    return times, stale, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2,4", help="worker counts to measure (default 1,2,4)")
    parser.add_argument("--seconds", type=float, default=15, help="seconds of the mix per worker count")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients of the mix")
    parser.add_argument("--changes", type=int, default=20, help="policy changes timed for propagation")
    args = parser.parse_args()
    admin_url = os.environ.get("THRESHOLD_TEST_POSTGRES_URL")
    if not admin_url:  # `make bench` goes on with the others
        print("skipped: several workers need PostgreSQL; set THRESHOLD_TEST_POSTGRES_URL (`. ./.test-env`)")
        return
    counts = [int(n) for n in args.workers.split(",")]
    name = f"bench_workers_{os.getpid()}"
    url = database(admin_url, name)
    try:
        home = Path(tempfile.mkdtemp(prefix="bench-workers-")) / "home"
        tokens = build_home(home, url)
        print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
        rates: dict[int, float] = {}
        for n in counts:
            server, base = start(home, url, n, tokens["rita"])
            try:
                soak(base, tokens, args.clients, 3)  # warm every worker's caches and engine
                cpu = cpu_seconds(server.pid)
                done, latencies = soak(base, tokens, args.clients, args.seconds)
                cpu = cpu_seconds(server.pid) - cpu
                rates[n] = done / args.seconds
                print(
                    f"workers {n}: {rates[n]:.1f} requests/s ({done} in {args.seconds:.0f} s, {args.clients} clients), "
                    f"p50 {1000 * statistics.median(latencies):.1f} ms, p95 {1000 * pct(latencies, 0.95):.1f} ms, "
                    f"ratio to {counts[0]} worker(s) {rates[n] / rates[counts[0]]:.2f}; "
                    f"server CPU {1000 * cpu / done:.1f} ms per request; "
                    f"load {os.getloadavg()[0]:.2f}"
                )
                if n == max(counts) and args.changes:
                    times, stale, answers = propagation(base, tokens, n, args.changes)
                    print(
                        f"propagation over {n} workers, {args.changes} changes: every worker answered with the new "
                        f"rule after median {1000 * statistics.median(times):.1f} ms, max {1000 * max(times):.1f} ms; "
                        f"{stale} of {answers} answers after a change's response still used the old rule"
                    )
            finally:
                stop(server)
        print(f"load average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    finally:
        database(admin_url, name, drop=True)


if __name__ == "__main__":
    main()
