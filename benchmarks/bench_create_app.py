"""Benchmark: what building the ASGI app costs, the first time in a process and every later time.

    .venv/bin/python benchmarks/bench_create_app.py [--apps 9] [--profile]

Tests build an app per test (or per module) with `create_app(platform)`; the first build in a process
pays for what depends only on the code (the route table, each route's dependency graph), every later
build only for what belongs to the app (settings, platform, middleware, handlers). One process, one
empty home; prints the first build, the median of the later builds, and the median of each app's first
request (`GET /api/v1/nowhere`, answered 404 by the middleware: it reads the app's route table) and of a
routed request (`GET /api/v1/me` without credentials: 401). CPU time of the process and wall time.
`--profile` prints the top of a cProfile of one later build.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from threshold.platform import Platform


def _timed(work: Callable[[], Any]) -> tuple[float, float, Any]:
    cpu, wall = time.process_time(), time.perf_counter()
    result = work()
    return time.process_time() - cpu, time.perf_counter() - wall, result


def _get(app: Any, path: str) -> int:
    async def go() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return (await client.get(path)).status_code

    return asyncio.run(go())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--apps", type=int, default=9, help="apps built after the first (default 9)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    cpu, wall, _ = _timed(lambda: __import__("threshold.api.app"))
    print(f"import threshold.api.app       cpu {cpu * 1000:8.1f} ms   wall {wall * 1000:8.1f} ms")
    from threshold.api.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        platform = Platform.open(Path(tmp) / "home", must_exist=False)
        platform.init()
        try:
            cpu, wall, app = _timed(lambda: create_app(platform))
            print(f"first create_app               cpu {cpu * 1000:8.1f} ms   wall {wall * 1000:8.1f} ms")
            assert _get(app, "/api/v1/nowhere") == 404
            builds, first_requests, routed = [], [], []
            for _ in range(args.apps):
                builds.append(_timed(partial(create_app, platform)))
                app = builds[-1][2]
                first_requests.append(_timed(partial(_get, app, "/api/v1/nowhere")))
                routed.append(_timed(partial(_get, app, "/api/v1/me")))
                assert first_requests[-1][2] == 404 and routed[-1][2] == 401
            for label, runs in (
                (f"later create_app (median of {args.apps})", builds),
                ("first request of an app (404)", first_requests),
                ("a routed request (401)", routed),
            ):
                cpu = statistics.median(r[0] for r in runs)
                wall = statistics.median(r[1] for r in runs)
                print(f"{label:30s} cpu {cpu * 1000:8.1f} ms   wall {wall * 1000:8.1f} ms")
            if args.profile:
                profile = cProfile.Profile()
                profile.runcall(create_app, platform)
                out = io.StringIO()
                pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(25)
                print(out.getvalue())
        finally:
            platform.close()


if __name__ == "__main__":
    main()
