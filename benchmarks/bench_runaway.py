"""Benchmark: the runaway-query attack against a real server (`threshold serve`, uvicorn, its own process).

    .venv/bin/python benchmarks/bench_runaway.py [--attackers 45] [--seconds 20] [--limit 10]

One person (the attacker) keeps `--attackers` clients sending a query that would run for days
(`SELECT count(*) FROM range(100000000000000) a`), each client giving up after 3 s and sending it again,
as in the attack measured on the old main, and retrying after `Retry-After` when refused. Another person
(the victim) runs a small query against a real dataset in a loop. Prints the victim's p50/p95 latency while
the server is idle and during the attack (goal: p95 during <= 2x idle), how the attacker's requests were
answered (429s), and the seconds from the attacker stopping until the server process is idle again (goal:
<= the interactive time limit + 5 s; idle = under 5% of one core over half a second).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

RUNAWAY = "SELECT count(*) FROM range(100000000000000) a"
SMALL = "SELECT plant, count(*) AS n, avg(units) AS u FROM bench.plants GROUP BY plant ORDER BY plant"


def build_home(home: Path) -> dict[str, str]:
    """A home with one dataset (100,000 rows) and two people with tokens."""
    import pyarrow as pa

    from threshold.identity.service import add_domain, add_user, create_token, ensure_admin, join_domain
    from threshold.platform import Platform
    from threshold.sharing.service import share

    platform = Platform.open(home, must_exist=False)
    platform.init()
    admin = ensure_admin(platform)
    add_domain(platform, "bench")
    for name in ("attacker", "victim"):
        add_user(platform, name)
        join_domain(platform, name, "bench")
    n = 100_000
    table = pa.table({"plant": [f"p{i % 20}" for i in range(n)], "units": list(range(n))})
    share(platform, table, domain="bench", name="plants", user=admin)
    tokens = {name: create_token(platform, name)[1] for name in ("attacker", "victim")}
    platform.close()
    return tokens


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process and its threads, from /proc (clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def victim_latencies(url: str, token: str, seconds: float) -> list[float]:
    out = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            t = time.perf_counter()
            r = client.post("/api/v1/query", json={"sql": SMALL})
            out.append(time.perf_counter() - t)
            if r.status_code != 200:
                raise SystemExit(f"the victim's query failed: {r.status_code} {r.text[:200]}")
    return out


def attacker(url: str, token: str, stop: threading.Event, counts: dict[int, int], lock: threading.Lock) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=3) as client:
        while not stop.is_set():
            try:
                code = client.post("/api/v1/query", json={"sql": RUNAWAY}).status_code
            except httpx.TimeoutException:
                code = 0  # gave up after 3 s, as the attack did
            with lock:
                counts[code] = counts.get(code, 0) + 1
            if code == 429:  # the server said when to try again (Retry-After, at least 1 s)
                stop.wait(1.0)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attackers", type=int, default=45, help="concurrent attacking clients (default 45)")
    parser.add_argument("--seconds", type=float, default=20, help="seconds measured idle and under attack")
    parser.add_argument("--limit", type=float, default=10, help="interactive time limit of the server, seconds")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="bench-runaway-")) / "home"
    tokens = build_home(home)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = os.environ | {"THRESHOLD_LIMITS__QUERY_SECONDS": str(args.limit)}
    cli = Path(sys.executable).parent / "threshold"
    server = subprocess.Popen(
        [str(cli), "serve", "--home", str(home), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/login", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        victim_latencies(url, tokens["victim"], 2)  # warm up
        idle = victim_latencies(url, tokens["victim"], args.seconds)

        stop, lock = threading.Event(), threading.Lock()
        counts: dict[str, int] = {}
        threads = [
            threading.Thread(target=attacker, args=(url, tokens["attacker"], stop, counts, lock), daemon=True)
            for _ in range(args.attackers)
        ]
        for t in threads:
            t.start()
        time.sleep(3)  # the attack is under way
        attacked = victim_latencies(url, tokens["victim"], args.seconds)
        stop.set()
        stopped = time.monotonic()
        for t in threads:
            t.join()
        # Idle again: the server's CPU over half a second below 5% of one core.
        while True:
            before = cpu_seconds(server.pid)
            time.sleep(0.5)
            if cpu_seconds(server.pid) - before < 0.025:
                break
            if time.monotonic() - stopped > 120:
                break
        to_idle = time.monotonic() - stopped - 0.5
        after = victim_latencies(url, tokens["victim"], 3)
    finally:
        server.terminate()
        server.wait(timeout=30)

    p50_i, p95_i = statistics.median(idle), pct(idle, 0.95)
    p50_a, p95_a = statistics.median(attacked), pct(attacked, 0.95)
    load = os.getloadavg()
    print(f"command: {' '.join([Path(sys.argv[0]).name, *sys.argv[1:]])}")
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; CPUs {os.cpu_count()}")
    print(f"server: interactive time limit {args.limit:g} s (THRESHOLD_LIMITS__QUERY_SECONDS), other limits default")
    print(f"attacker: {args.attackers} clients, answers {dict(sorted(counts.items()))} (0 = gave up after 3 s)")
    print(f"victim idle:   {len(idle)} queries, p50 {p50_i * 1000:.1f} ms, p95 {p95_i * 1000:.1f} ms")
    print(f"victim attack: {len(attacked)} queries, p50 {p50_a * 1000:.1f} ms, p95 {p95_a * 1000:.1f} ms")
    print(f"p95 ratio attack/idle: {p95_a / p95_i:.2f} (goal <= 2.00); p50 ratio {p50_a / p50_i:.2f}")
    print(f"seconds until idle after the attacker stopped: {to_idle:.1f} (goal <= {args.limit + 5:g})")
    print(f"victim after: p50 {statistics.median(after) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
