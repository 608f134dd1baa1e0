"""The warehouse on an S3-compatible store (moto_server, local) against local disk: share and gateway queries.

    .venv/bin/python benchmarks/bench_s3_store.py [--rows 1000000] [--runs 3]

Uses the server named by THRESHOLD_TEST_S3_ENDPOINT (scripts/test-services.sh starts one), else starts
its own `moto_server` on a free port for the run. Each run shares the same generated CSV into a fresh
home on local disk and into a fresh home on the store (alternating), then runs three gateway queries
(a group-by over every row, a filtered count, a 20-row preview) on each: warm (the cache holds the
files) and, on the store, cold (this machine's cache emptied first, so the files are fetched again).
A third home on the store has its cache bounded to 1 byte (`cache_max_bytes`): what the pins, locks and
eviction of `threshold.localcache` cost a query (column `s3 bounded`, and its ratio to `s3`).
Prints medians, ratios store/local and the load average.

moto keeps objects in memory in a Python process on this same machine: uploads and fetches cost a
local HTTP round trip and moto's CPU, not a network. A real store adds latency per request (tens of
ms) and bandwidth limits to the upload at commit and to cold reads; warm reads never touch it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import duckdb

QUERIES = {
    "group-by": "SELECT plant, count(*) AS n, sum(units) AS u, avg(scrap_rate) AS s FROM bench.kpis GROUP BY plant",
    "filter": "SELECT count(*) AS n FROM bench.kpis WHERE units > 50000 AND plant = 'Plant 7'",
    "preview": "SELECT * FROM bench.kpis LIMIT 20",
}
KEY_ID, SECRET, BUCKET = "bench-key", "bench-secret-value", "threshold-bench"


def _server() -> tuple[str, subprocess.Popen[bytes] | None]:
    given = os.environ.get("THRESHOLD_TEST_S3_ENDPOINT")
    if given:
        return given, None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    moto = Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=2).read()
            return url, proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto_server did not start")


def _bucket(endpoint: str) -> None:
    from pyarrow.fs import S3FileSystem

    url = urlparse(endpoint)
    fs = S3FileSystem(
        access_key=KEY_ID,
        secret_key=SECRET,
        endpoint_override=url.netloc,
        scheme=url.scheme,
        allow_bucket_creation=True,
    )
    fs.create_dir(BUCKET)


def _home(root: Path, storage: dict[str, Any] | None) -> Any:
    from threshold.identity.service import add_domain, ensure_admin
    from threshold.platform import Platform

    platform = Platform.open(
        root / f"home-{uuid.uuid4().hex[:8]}", must_exist=False, **({"storage": storage} if storage else {})
    )
    platform.init()
    ensure_admin(platform)
    add_domain(platform, "bench")
    return platform


def _timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _drop_cache(platform: Any) -> None:
    for d in platform.settings.warehouse_dir.iterdir():
        if d.is_dir():
            shutil.rmtree(d)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    from threshold.gateway.service import query
    from threshold.identity.service import get_person
    from threshold.sharing.service import share

    endpoint, proc = _server()
    try:
        _bucket(endpoint)
        root = Path(tempfile.mkdtemp(prefix="bench-s3-"))
        csv = root / "kpis.csv"
        duckdb.sql(
            f"COPY (SELECT i AS id, 'Plant ' || (i % 97) AS plant, (i % 1000) / 1000.0 AS scrap_rate, "
            f"(i * 7919) % 100000 AS units, DATE '2026-01-01' + (i % 365)::INT AS day, md5(i::VARCHAR) AS batch "
            f"FROM range({args.rows}) t(i)) TO '{csv}' (HEADER)"
        )
        times: dict[str, list[float]] = {}
        for run in range(args.runs):
            kinds = ("local", "s3", "s3 bounded")
            for kind in kinds[run % 3 :] + kinds[: run % 3]:  # rotate: no side always first
                storage = None
                if kind != "local":
                    storage = {
                        "kind": "s3",
                        "endpoint": endpoint,
                        "bucket": BUCKET,
                        "prefix": f"bench/{uuid.uuid4().hex[:8]}",
                        "access_key_id": KEY_ID,
                        "secret_access_key": SECRET,
                        # a bound smaller than any file: every query pins and locks its file, every fetch evicts
                        "cache_max_bytes": 1 if kind == "s3 bounded" else 0,
                    }
                platform = _home(root, storage)
                try:
                    admin = get_person(platform, "admin")
                    times.setdefault(f"share {kind}", []).append(
                        _timed(lambda p=platform, a=admin: share(p, csv, domain="bench", name="kpis", user=a))
                    )
                    for name, sql in QUERIES.items():
                        if kind != "local":
                            _drop_cache(platform)
                            platform.lake.forget("bench.kpis")
                            times.setdefault(f"{name} {kind} cold", []).append(
                                _timed(lambda p=platform, a=admin, q=sql: query(p, q, user=a, max_rows=None))
                            )
                        query(platform, sql, user=admin, max_rows=None)  # warm-up
                        times.setdefault(f"{name} {kind}", []).append(
                            statistics.median(
                                _timed(lambda p=platform, a=admin, q=sql: query(p, q, user=a, max_rows=None))
                                for _ in range(5)
                            )
                        )
                finally:
                    platform.close()
        shutil.rmtree(root, ignore_errors=True)
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"rows {args.rows:,}, runs {args.runs}, load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    print(f"{'':22} {'local':>10} {'s3 (moto)':>10} {'ratio':>7} {'s3 cold':>10} {'s3 bounded':>11} {'/s3':>6}")
    for what in ("share", *QUERIES):
        local, s3, bounded = med[f"{what} local"], med[f"{what} s3"], med[f"{what} s3 bounded"]
        cold = med.get(f"{what} s3 cold")
        cold_text = f"{cold * 1000:8.1f}ms" if cold is not None else ""
        print(
            f"{what:22} {local * 1000:8.1f}ms {s3 * 1000:8.1f}ms {s3 / local:7.2f} {cold_text:>10} "
            f"{bounded * 1000:9.1f}ms {bounded / s3:6.2f}"
        )


if __name__ == "__main__":
    main()
