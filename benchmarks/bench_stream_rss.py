"""Benchmark: server memory while streaming a 1 GB result (`threshold serve`, uvicorn, its own process).

    .venv/bin/python benchmarks/bench_stream_rss.py [--gb 1] [--formats arrow,csv,ndjson,json]

The result is `SELECT i, repeat(...) AS pad FROM range(n)`, sized to `--gb` GB of Arrow data, read by a
client that drops every chunk as it arrives. The server's resident memory is sampled from /proc every
20 ms; prints its idle RSS, its peak during each stream and the difference (goal: <= 300 MB above idle),
with the bytes and time of each stream. The server runs with `limits.query_rows` and
`limits.query_result_bytes` raised for this result (their defaults would cut it), every other limit as set.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROW_BYTES = 8 + 100 + 4  # BIGINT, 100 characters, one string offset


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gb", type=float, default=1.0, help="result size in GB of Arrow data (default 1)")
    parser.add_argument("--formats", default="arrow,csv,ndjson", help="formats streamed, in order")
    args = parser.parse_args()

    from threshold.identity.service import create_token, ensure_admin
    from threshold.platform import Platform

    home = Path(tempfile.mkdtemp(prefix="bench-stream-")) / "home"
    platform = Platform.open(home, must_exist=False)
    platform.init()
    ensure_admin(platform)
    token = create_token(platform, "admin")[1]
    platform.close()

    rows = int(args.gb * 1e9 / ROW_BYTES)
    sql = f"SELECT i, repeat(chr(97 + (i % 26)::INTEGER), 100) AS pad FROM range({rows}) t(i)"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "THRESHOLD_LIMITS__QUERY_ROWS": str(rows + 1),
        "THRESHOLD_LIMITS__QUERY_RESULT_BYTES": str(int(args.gb * 4e9)),
        "THRESHOLD_LIMITS__QUERY_SECONDS": "3600",
    }
    cli = Path(sys.executable).parent / "threshold"
    server = subprocess.Popen(
        [str(cli), "serve", "--home", str(home), "--port", str(port)], env=env, stdout=subprocess.DEVNULL
    )
    results = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/login", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        headers = {"Authorization": f"Bearer {token}"}
        httpx.post(f"{url}/api/v1/query", json={"sql": "SELECT 1"}, headers=headers, timeout=60)  # warm up
        time.sleep(1)
        idle = rss(server.pid)
        for fmt in args.formats.split(","):
            peak, done = [idle], threading.Event()

            def sample(peak: list[int] = peak, done: threading.Event = done) -> None:
                while not done.wait(0.02):
                    peak[0] = max(peak[0], rss(server.pid))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started, received = time.perf_counter(), 0
            body = {"sql": sql, "format": fmt, "max_rows": None}
            with httpx.stream("POST", f"{url}/api/v1/query", json=body, headers=headers, timeout=3600) as r:
                if r.status_code != 200:
                    r.read()
                    raise SystemExit(f"{fmt}: {r.status_code} {r.text[:300]}")
                for chunk in r.iter_raw():
                    received += len(chunk)
            done.set()
            sampler.join()
            results.append((fmt, received, time.perf_counter() - started, peak[0]))
    finally:
        server.terminate()
        server.wait(timeout=30)

    loads = os.getloadavg()
    print(f"command: {' '.join([Path(sys.argv[0]).name, *sys.argv[1:]])}")
    print(f"load average: {loads[0]:.2f} {loads[1]:.2f} {loads[2]:.2f}; CPUs {os.cpu_count()}")
    print(f"result: {rows:,} rows, about {args.gb:g} GB of Arrow data; server idle RSS {idle / 2**20:.0f} MB")
    for fmt, received, seconds, top in results:
        print(
            f"{fmt:7} {received / 1e9:6.2f} GB sent in {seconds:6.1f} s; peak RSS {top / 2**20:5.0f} MB, "
            f"{(top - idle) / 2**20:5.0f} MB above idle (goal <= 300)"
        )


if __name__ == "__main__":
    main()
