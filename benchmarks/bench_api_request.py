"""Benchmark: the API's fixed cost per request, in process: the app's CPU for a few kinds of request that do
little work of their own, so what is measured is authentication, middleware, validation and the error answer.

    .venv/bin/python benchmarks/bench_api_request.py [--requests 1000] [--runs 3] [--base main] [--profile]

A small home (`sales` with a dataset, an admin and a member with API tokens) and its app; each request is
sent straight to the ASGI app (a hand-made HTTP scope, one body message), one after another on one event
loop, as `bench_refusal_path.py` does. The kinds are what `tests/api/test_fuzz.py` mostly asks for, with a
valid token unless said otherwise:

- `200 me`                 `GET /api/v1/me`: the cheapest authenticated answer;
- `422 dataset body`       `PUT /api/v1/datasets/sales.orders/visibility` with `{"visibility": 5}` as its
                           owner: the path's dataset decided (it exists), then the body refused;
- `404 dataset`            `GET /api/v1/datasets/sales.nosuch`: the path's dataset decided (missing);
- `403 admin route`        `GET /api/v1/admin/doctor` as the member;
- `422 query parameter`    `GET /api/v1/datasets?per_page=0`;
- `422 body`               `POST /api/v1/query` with `{"sql": 5}`;
- `401 bad token`          `GET /api/v1/me` with a token nobody has;
- `401 no credentials`     `GET /api/v1/me` with neither a token nor a session.

Prints per kind the median over runs of the process CPU (every thread, worker threads included) and the
wall time per request. `--base REF`: the same measurement with the code of git REF (`git archive REF src` on
PYTHONPATH, a child process) alternating with the working tree's, and the ratio of their CPU: a
before/after in one run, under the same load. `--profile`: a cProfile of each kind with the app's sync work
run inline (worker threads are invisible to cProfile).
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
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_page import base_src
from bench_refusal_path import call


@dataclass(frozen=True)
class Kind:
    """One kind of request and the status it must get."""

    method: str
    path: str
    who: str  # "admin", "member", "wrong" (a token nobody has) or "" (no credentials)
    want: int
    body: bytes = b""


KINDS = {
    "200 me": Kind("GET", "/api/v1/me", "admin", 200),
    "422 dataset body": Kind("PUT", "/api/v1/datasets/sales.orders/visibility", "member", 422, b'{"visibility": 5}'),
    "404 dataset": Kind("GET", "/api/v1/datasets/sales.nosuch", "member", 404),
    "403 admin route": Kind("GET", "/api/v1/admin/doctor", "member", 403),
    "422 query parameter": Kind("GET", "/api/v1/datasets?per_page=0", "member", 422),
    "422 body": Kind("POST", "/api/v1/query", "member", 422, b'{"sql": 5}'),
    "401 bad token": Kind("GET", "/api/v1/me", "wrong", 401),
    "401 no credentials": Kind("GET", "/api/v1/me", "", 401),
}


def build(home: Path) -> tuple[Any, dict[str, str]]:
    """The home, and an API token per person."""
    import pyarrow as pa

    from threshold.identity.service import add_domain, add_user, create_token, ensure_admin, get_person, join_domain
    from threshold.platform import Platform
    from threshold.sharing.service import share

    platform = Platform.open(home, must_exist=False)
    platform.init()
    ensure_admin(platform)
    add_domain(platform, "sales")
    add_user(platform, "max")
    join_domain(platform, "max", "sales", "owner")
    orders = pa.table({"region": ["north", "south"] * 50, "amount": list(range(100))})
    share(platform, orders, domain="sales", user=get_person(platform, "max"), name="orders")
    tokens = {"admin": create_token(platform, "admin")[1], "member": create_token(platform, "max")[1]}
    return platform, tokens | {"wrong": "thr_not-a-token-anyone-has", "": ""}


def measure(requests: int, runs: int, profile: bool = False) -> dict[str, dict[str, float]]:
    """Per kind: the median over `runs` of CPU and wall microseconds per request."""
    from threshold.api.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        platform, tokens = build(Path(tmp) / "home")
        app = create_app(platform)
        figures: dict[str, list[tuple[float, float]]] = {label: [] for label in KINDS}

        async def run() -> None:
            for label, kind in KINDS.items():  # warm: caches filled, worker threads started
                status = await call(app, kind.method, kind.path, tokens[kind.who], kind.body)
                if status != kind.want:
                    raise SystemExit(f"{label}: {kind.method} {kind.path} answered {status}, expected {kind.want}")
            for _ in range(runs):
                for label, kind in KINDS.items():
                    token = tokens[kind.who]
                    cpu, wall = time.process_time(), time.perf_counter()
                    for _ in range(requests):
                        await call(app, kind.method, kind.path, token, kind.body)
                    figures[label].append(
                        ((time.process_time() - cpu) / requests, (time.perf_counter() - wall) / requests)
                    )

        asyncio.run(run())
        if profile:
            _profile(app, tokens, requests)
        platform.close()
    return {
        label: {
            "cpu_us": statistics.median(c for c, _ in runs_) * 1e6,
            "wall_us": statistics.median(w for _, w in runs_) * 1e6,
        }
        for label, runs_ in figures.items()
    }


def _profile(app: Any, tokens: dict[str, str], requests: int) -> None:
    """A cProfile of each kind, the app's sync work run inline."""
    import fastapi.routing
    import starlette.concurrency

    import threshold.interface.permissions as permissions

    async def inline(func: Any, *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    starlette.concurrency.run_in_threadpool = inline  # type: ignore[assignment]
    fastapi.routing.run_in_threadpool = inline  # type: ignore[attr-defined]
    permissions.run_in_threadpool = inline  # type: ignore[attr-defined]
    for label, kind in KINDS.items():
        prof = cProfile.Profile()

        async def run(kind: Kind = kind, prof: cProfile.Profile = prof) -> None:
            prof.enable()
            for _ in range(requests):
                await call(app, kind.method, kind.path, tokens[kind.who], kind.body)
            prof.disable()

        asyncio.run(run())
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(35)
        print(f"--- profile: {label} ---")
        print(text.getvalue())


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="requests per kind and run (default 1000)")
    parser.add_argument("--runs", type=int, default=3, help="runs, medians printed (default 3)")
    parser.add_argument("--base", help="git ref measured too, in a child process, alternating (e.g. main)")
    parser.add_argument("--rounds", type=int, default=2, help="with --base: rounds of each side (default 2)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of each kind")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # the child's answer
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args.requests, args.runs)))
        return
    print(f"command: {' '.join([Path(sys.argv[0]).name, *sys.argv[1:]])}")
    print(f"load average: {_load()}; CPUs {os.cpu_count()}")
    if not args.base:
        now = measure(args.requests, args.runs, args.profile)
        for label, f in now.items():
            print(f"{label:22} CPU {f['cpu_us']:6.0f} us per request, wall {f['wall_us']:6.0f} us")
        print(f"load average: {_load()}")
        return
    befores: list[dict[str, dict[str, float]]] = []
    afters: list[dict[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(base_src(args.base, Path(tmp)))}
        child = [sys.executable, __file__, "--json", "--requests", str(args.requests), "--runs", str(args.runs)]
        for i in range(args.rounds):  # alternating, the side that goes first changing each round
            sides = [
                lambda: befores.append(_child(child, env)),
                lambda: afters.append(measure(args.requests, args.runs)),
            ]
            for side in sides if i % 2 == 0 else sides[::-1]:
                side()
    print(f"{'kind':22} {'CPU us ' + args.base:>14} {'CPU us now':>11} {'ratio':>6}   wall us {args.base} / now")
    for label in KINDS:
        was = statistics.median(b[label]["cpu_us"] for b in befores)
        now_ = statistics.median(a[label]["cpu_us"] for a in afters)
        wall_was = statistics.median(b[label]["wall_us"] for b in befores)
        wall_now = statistics.median(a[label]["wall_us"] for a in afters)
        print(f"{label:22} {was:14.0f} {now_:11.0f} {was / now_:5.2f}x   {wall_was:.0f} / {wall_now:.0f}")
    print(f"load average: {_load()}")


def _child(command: list[str], env: dict[str, str]) -> dict[str, dict[str, float]]:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


if __name__ == "__main__":
    main()
