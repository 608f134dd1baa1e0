"""Benchmark: what one web page request costs, page by page (median ms over the ASGI app, in process).

    .venv/bin/python benchmarks/bench_page.py [--repeat 40] [--base main [--rounds 2]] [--profile]

One process builds a small home (two domains, an owner, a member and an outsider, an open and a
restricted dataset, an access request waiting for the owner) and asks a few pages, signed in, over
`httpx.ASGITransport`: the home page, the catalogue, a dataset's page, its `.json` twin, a missing
dataset's error page (404, what the permission walk of tests/access/test_walk.py mostly meets), a
restricted dataset asked for by an outsider (the same 404), and three API calls: who am I, a dataset's record
and the restricted one as the outsider (the path's dataset decided by `Requires(..., on=...)`: the lookup and
a refusal's suggestions are kept per metadata version). Prints the median and the process CPU per request
of each.

`--base REF`: the same measurement with the code of git REF (`git archive REF src` on PYTHONPATH, in a
child process) and with the working tree's, alternating `--rounds` times, and prints both (medians over
the rounds) and their ratio: a before/after in one run, under the same load. `--profile`: a cProfile of
the pages with the app's sync work run inline (worker threads are invisible to cProfile): the top 25 by
internal time and the top 40 of Threshold's functions by cumulative time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa

PAGES = (
    ("home", "/"),
    ("catalogue", "/datasets"),
    ("dataset page", "/datasets/sales.orders"),
    ("dataset .json", "/datasets/sales.orders.json"),
    ("missing dataset (404 page)", "/datasets/sales.nosuch"),
    ("restricted, as outsider (404)", "/datasets/hr.salaries"),
    ("API: me", "/api/v1/me"),
    ("API: a dataset", "/api/v1/datasets/sales.orders"),
    ("restricted, API, outsider (404)", "/api/v1/datasets/hr.salaries"),
)


def build(home: Path) -> Any:
    from threshold.governance import controls
    from threshold.identity.service import add_domain, add_user, get_person, join_domain
    from threshold.platform import Platform
    from threshold.sharing.service import share

    platform = Platform.open(home, must_exist=False)
    platform.init()
    add_domain(platform, "sales")
    add_domain(platform, "hr")
    for name, domain, role in (("olga", "sales", "owner"), ("max", "sales", "member"), ("hugo", "hr", "owner")):
        add_user(platform, name, password=f"{name}-pass")
        join_domain(platform, name, domain, role)
    add_user(platform, "pia", password="pia-pass")  # an outsider of every domain
    controls.set_visibility(platform, get_person(platform, "hugo"), "hr", "restricted")
    orders = pa.table({"region": ["north", "south"] * 50, "amount": list(range(100))})
    share(platform, orders, domain="sales", user=get_person(platform, "olga"), name="orders")
    salaries = pa.table({"grade": ["a", "b"] * 10, "pay": list(range(20))})
    share(platform, salaries, domain="hr", user=get_person(platform, "hugo"), name="salaries")
    return platform


async def _signed_in(app: Any, who: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://bench"
    )
    page = await client.get("/login")
    csrf = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    form = {"csrf": csrf, "username": who, "password": f"{who}-pass", "next": "/"}
    assert (await client.post("/login", data=form)).status_code == 303
    return client


def measure(repeat: int, profile: bool) -> dict[str, dict[str, float]]:
    from threshold.api.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        platform = build(Path(tmp) / "home")
        app = create_app(platform)
        out: dict[str, dict[str, float]] = {}

        async def run() -> None:
            olga, pia = await _signed_in(app, "olga"), await _signed_in(app, "pia")
            for label, path in PAGES:
                client = pia if label.startswith("restricted") else olga
                status = (await client.get(path)).status_code  # warm: templates compiled, caches filled
                walls, cpus = [], []
                for _ in range(repeat):
                    cpu, wall = time.process_time(), time.perf_counter()
                    assert (await client.get(path)).status_code == status
                    walls.append(time.perf_counter() - wall)
                    cpus.append(time.process_time() - cpu)
                out[label] = {
                    "status": status,
                    "median_ms": statistics.median(walls) * 1000,
                    "cpu_ms": statistics.median(cpus) * 1000,
                }
            await olga.aclose()
            await pia.aclose()

        if profile:
            import starlette.concurrency

            async def inline(func: Any, *args: Any, **kwargs: Any) -> Any:
                return func(*args, **kwargs)

            starlette.concurrency.run_in_threadpool = inline  # type: ignore[assignment]
            import fastapi.routing

            fastapi.routing.run_in_threadpool = inline  # type: ignore[attr-defined]
            import threshold.interface.permissions as permissions

            permissions.run_in_threadpool = inline  # type: ignore[assignment]
            prof = cProfile.Profile()
            prof.enable()
            asyncio.run(run())
            prof.disable()
            text = io.StringIO()
            stats = pstats.Stats(prof, stream=text)
            stats.sort_stats("tottime").print_stats(25)
            stats.sort_stats("cumulative").print_stats("threshold", 40)
            print(text.getvalue())
        else:
            asyncio.run(run())
        platform.close()
    return out


def base_src(ref: str, into: Path) -> Path:
    """`src/` of git `ref` unpacked under `into`."""
    repo = Path(__file__).resolve().parent.parent
    archive = subprocess.run(["git", "-C", str(repo), "archive", ref, "src"], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def _median_of(rounds: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per page, the median over rounds of each figure."""
    return {
        page: {key: statistics.median(r[page][key] for r in rounds) for key in rounds[0][page]} for page in rounds[0]
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--base", help="git ref to measure first, in a child process (e.g. main)")
    parser.add_argument("--rounds", type=int, default=2, help="with --base: rounds of each side, alternating")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # the child's answer
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args.repeat, False)))
        return
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    before = None
    if args.base:  # the two sides alternate, `--rounds` times each; a page's figure is the median of its rounds
        rounds_before, rounds_after = [], []
        with tempfile.TemporaryDirectory() as tmp:
            src = base_src(args.base, Path(tmp))
            env = {**os.environ, "PYTHONPATH": str(src)}
            child = [sys.executable, __file__, "--json", "--repeat", str(args.repeat)]
            for _ in range(args.rounds):
                done = subprocess.run(child, env=env, capture_output=True, text=True, check=True)
                rounds_before.append(json.loads(done.stdout))
                rounds_after.append(measure(args.repeat, False))
        before, after = _median_of(rounds_before), _median_of(rounds_after)
    else:
        after = measure(args.repeat, args.profile)
    head = f"{'page':32s} {'status':>6s}"
    if before:
        print(f"{head} {args.base + ' ms':>10s} {'now ms':>10s} {'ratio':>7s}   cpu ms {args.base} / now")
    else:
        print(f"{head} {'median ms':>10s} {'cpu ms':>8s}")
    for label, now in after.items():
        if before:
            was = before[label]
            ratio = was["median_ms"] / now["median_ms"] if now["median_ms"] else float("nan")
            print(
                f"{label:32s} {now['status']:6.0f} {was['median_ms']:10.2f} {now['median_ms']:10.2f} {ratio:6.2f}x"
                f"   {was['cpu_ms']:.2f} / {now['cpu_ms']:.2f}"
            )
        else:
            print(f"{label:32s} {now['status']:6.0f} {now['median_ms']:10.2f} {now['cpu_ms']:8.2f}")
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
