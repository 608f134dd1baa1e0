"""Benchmark: what one refusal (HTTP 429) costs the server, against a real server (`threshold serve`).

    .venv/bin/python benchmarks/bench_refusals.py [--refusals 400] [--clients 8]

One person holds their `limits.person_queries` (2) slots with runaway queries; then `--clients`
clients of the same person send `--refusals` more queries between them, each refused with 429. Prints
the server's CPU per refusal (its CPU over the flood minus what the two runaways use over the same
wall time, measured right after), the refusals per second, and the usage events the flood wrote
(goal: well under a millisecond of CPU and no metadata write per refusal).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from bench_runaway import RUNAWAY, build_home, cpu_seconds, free_port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refusals", type=int, default=400, help="refused queries sent (default 400)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent refused clients (default 8)")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="bench-refusals-")) / "home"
    tokens = build_home(home)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = os.environ | {"THRESHOLD_LIMITS__QUERY_SECONDS": "120"}
    cli = Path(sys.executable).parent / "threshold"
    server = subprocess.Popen(
        [str(cli), "serve", "--home", str(home), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    headers = {"Authorization": f"Bearer {tokens['attacker']}"}
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

        def hold() -> None:
            try:
                httpx.post(f"{url}/api/v1/query", json={"sql": RUNAWAY}, headers=headers, timeout=60)
            except httpx.HTTPError:
                pass

        for _ in range(2):
            threading.Thread(target=hold, daemon=True).start()
        time.sleep(2)  # both runaways admitted and running
        events_before = usage_events(home)
        codes: dict[int, int] = {}
        lock = threading.Lock()

        def flood(n: int) -> None:
            with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
                for _ in range(n):
                    code = client.post("/api/v1/query", json={"sql": RUNAWAY}).status_code
                    with lock:
                        codes[code] = codes.get(code, 0) + 1

        per = args.refusals // args.clients
        flooders = [threading.Thread(target=flood, args=(per,)) for _ in range(args.clients)]
        cpu0, t0 = cpu_seconds(server.pid), time.perf_counter()
        for t in flooders:
            t.start()
        for t in flooders:
            t.join()
        wall, cpu = time.perf_counter() - t0, cpu_seconds(server.pid) - cpu0
        c1 = cpu_seconds(server.pid)
        time.sleep(wall)
        runaways = cpu_seconds(server.pid) - c1
        events = usage_events(home) - events_before
    finally:
        server.kill()
        server.wait(timeout=30)
    sent = per * args.clients
    load = os.getloadavg()
    print(f"command: {' '.join([Path(sys.argv[0]).name, *sys.argv[1:]])}")
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; CPUs {os.cpu_count()}")
    print(f"answers: {dict(sorted(codes.items()))} from {args.clients} clients in {wall:.2f} s ({sent / wall:.0f}/s)")
    print(f"server CPU: {cpu:.2f} s during the flood, {runaways:.2f} s for the runaways alone over as long")
    print(f"server CPU per refusal: {max(cpu - runaways, 0) / sent * 1000:.2f} ms")
    print(f"usage events written during the flood: {events} (the window's first refusal; the count at its end)")


def usage_events(home: Path) -> int:
    from sqlalchemy import func, select

    from threshold.platform import Platform
    from threshold.store.models import UsageEvent

    platform = Platform.open(home)
    try:
        with platform.store.session() as s:
            return int(s.scalar(select(func.count(UsageEvent.id))) or 0)
    finally:
        platform.close()


if __name__ == "__main__":
    main()
