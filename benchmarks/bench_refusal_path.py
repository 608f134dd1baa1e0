"""Benchmark: the CPU one refused query (HTTP 429) costs the app, in-process, without a network or a client.

    .venv/bin/python benchmarks/bench_refusal_path.py [--requests 2000] [--runs 5] [--profile]

A home as `bench_runaway.py` builds it (one dataset, an attacker and a victim with API tokens). The
attacker's `limits.person_queries` slots are taken by admitting that many queries directly (as two
runaways hold them in the attack); then `POST /api/v1/query` is sent straight to the ASGI app (a
hand-made HTTP scope, one body message), one request after another on one event loop:

- `refused, known token`   the token was refused in full in the open window: what the flood costs;
- `refused, first`         a refusal in full (authenticated, recorded), the window's first;
- `victim's query`         the victim's small query of `bench_runaway.py` (a group-by over 100,000 rows),
                           admitted, run and streamed back: `--requests` / 10 of them per run;

and the error answers a flood can ask for as cheaply as a refusal (`ERRORS`, each `--requests` times):

- `404 api`                `GET /api/v1/nowhere` with a valid token: routing, middleware, the 404;
- `404 page`               `GET /nowhere` from a browser (German, not signed in): the error page;
- `401 bad token`          `GET /api/v1/me` with a token nobody has;
- `401 no credentials`     `GET /api/v1/me` with neither a token nor a session;
- `405`                    `GET /api/v1/query` (POST only);
- `422`                    `POST /api/v1/query` with `{"sql": 5}` and a valid token;
- `413`                    `POST /api/v1/query` declaring a body over `limits.request_bytes`.

Prints per request the median over runs of the process CPU (every thread) and the wall time, and the
usage events the refusals wrote. `--profile` prints the top of a cProfile of the known-token path and of
each error kind (`--only KIND` narrows the error kinds measured and profiled).
The figure is steadier than `bench_refusals.py` (a real server, its CPU minus the runaways') on a loaded
machine: no client, no sockets, no other process in it.
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
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_runaway import RUNAWAY, SMALL, build_home

Headers = Sequence[tuple[bytes, bytes]]
BROWSER: Headers = ((b"accept", b"text/html"), (b"accept-language", b"de-DE,de;q=0.9"), (b"content-length", b"0"))
TOO_LARGE: Headers = ((b"content-length", str(10**12).encode()),)


@dataclass(frozen=True)
class Error:
    """One error answer a flood can ask for: the request and the status it must get."""

    method: str
    path: str
    token: str  # "victim", "wrong", or "" (no credentials)
    body: bytes
    want: int
    headers: Headers = ()


ERRORS = {
    "404 api": Error("GET", "/api/v1/nowhere", "victim", b"", 404),
    "404 page": Error("GET", "/nowhere", "", b"", 404, BROWSER),
    "401 bad token": Error("GET", "/api/v1/me", "wrong", b"", 401),
    "401 no credentials": Error("GET", "/api/v1/me", "", b"", 401),
    "405": Error("GET", "/api/v1/query", "victim", b"", 405),
    "422": Error("POST", "/api/v1/query", "victim", b'{"sql": 5}', 422),
    "413": Error("POST", "/api/v1/query", "victim", b"", 413, TOO_LARGE),
}


def scope(method: str, path: str, token: str, body: bytes, headers: Headers = ()) -> dict[str, Any]:
    """An HTTP request's ASGI scope (`path` may carry a query string after `?`)."""
    path, _, query = path.partition("?")
    auth = [(b"authorization", f"Bearer {token}".encode())] if token else []
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            *auth,
            (b"content-type", b"application/json"),
            *(headers or [(b"content-length", str(len(body)).encode())]),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
    }


async def call(app: Any, method: str, path: str, token: str, body: bytes = b"", headers: Headers = ()) -> int:
    """One request to the ASGI app; returns its status."""
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays connected
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope(method, path, token, body, headers), receive, send)
    return status


async def per_request(
    app: Any, n: int, method: str, path: str, token: str, body: bytes, want: int, headers: Headers = ()
) -> tuple[float, float]:
    """(CPU, wall) seconds per request over `n` requests, each answered `want`."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        status = await call(app, method, path, token, body, headers)
        if status != want:
            raise SystemExit(f"{method} {path} answered {status}, expected {want}")
    return (time.process_time() - cpu) / n, (time.perf_counter() - wall) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="requests per run and kind (default 2000)")
    parser.add_argument("--runs", type=int, default=5, help="runs, medians printed (default 5)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the refusals and each error kind")
    parser.add_argument("--only", action="append", choices=sorted(ERRORS), help="measure only this error kind")
    args = parser.parse_args()
    errors = {k: e for k, e in ERRORS.items() if not args.only or k in args.only}

    from sqlalchemy import func, select

    from threshold.api.app import create_app
    from threshold.identity.service import get_person
    from threshold.platform import Platform
    from threshold.store.models import UsageEvent

    home = Path(tempfile.mkdtemp(prefix="bench-refusal-path-")) / "home"
    tokens = build_home(home)
    platform = Platform.open(home)
    app = create_app(platform)
    attacker = get_person(platform, "attacker")
    limits = platform.limits
    held = [
        limits.admit(attacker.id, attacker.name, limits.allowance("api"))
        for _ in range(platform.settings.limits.person_queries)
    ]
    body = json.dumps({"sql": RUNAWAY}).encode()
    token = tokens["attacker"]
    victim, small = tokens["victim"], json.dumps({"sql": SMALL}).encode()
    credentials = {"victim": victim, "wrong": "not-a-token-anyone-has", "": ""}

    def events() -> int:
        with platform.store.session() as s:
            return int(s.scalar(select(func.count(UsageEvent.id)).where(UsageEvent.status == "busy")) or 0)

    async def run() -> dict[str, list[tuple[float, float]]]:
        out: dict[str, list[tuple[float, float]]] = {
            "refused, known token": [],
            "refused, first": [],
            "victim's query": [],
            **{kind: [] for kind in errors},
        }
        for _ in range(args.runs):
            # A refusal in full: the window is closed first, so this one authenticates and is recorded.
            firsts = []
            for _ in range(20):
                limits.refusals.flush()
                firsts.append(await per_request(app, 1, "POST", "/api/v1/query", token, body, 429))
            out["refused, first"].append(
                (statistics.median(c for c, _ in firsts), statistics.median(w for _, w in firsts))
            )
            limits.refusals.flush()
            await call(app, "POST", "/api/v1/query", token, body)  # opens the window, remembers the token
            out["refused, known token"].append(
                await per_request(app, args.requests, "POST", "/api/v1/query", token, body, 429)
            )
            out["victim's query"].append(
                await per_request(app, max(1, args.requests // 10), "POST", "/api/v1/query", victim, small, 200)
            )
            for kind, e in errors.items():
                out[kind].append(
                    await per_request(
                        app, args.requests, e.method, e.path, credentials[e.token], e.body, e.want, e.headers
                    )
                )
        return out

    before = events()
    results = asyncio.run(run())
    written = events() - before
    profiles: dict[str, cProfile.Profile] = {}
    if args.profile:

        async def profiled() -> None:
            limits.refusals.flush()
            await call(app, "POST", "/api/v1/query", token, body)
            profiles["refused, known token"] = profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.requests):
                await call(app, "POST", "/api/v1/query", token, body)
            profile.disable()
            for kind, e in errors.items():
                profiles[kind] = profile = cProfile.Profile()
                profile.enable()
                for _ in range(args.requests):
                    await call(app, e.method, e.path, credentials[e.token], e.body, e.headers)
                profile.disable()

        asyncio.run(profiled())
    for t in held:
        t.leave()
    platform.close()

    load = os.getloadavg()
    print(f"command: {' '.join([Path(sys.argv[0]).name, *sys.argv[1:]])}")
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; CPUs {os.cpu_count()}")
    for kind, figures in results.items():
        cpu = statistics.median(c for c, _ in figures) * 1e6
        wall = statistics.median(w for _, w in figures) * 1e6
        print(f"{kind:22} CPU {cpu:7.0f} us per request, wall {wall:7.0f} us (median of {args.runs} runs)")
    print(f"busy usage events written by {args.runs * (20 + 1 + args.requests)} refusals: {written}")
    for kind, profile in profiles.items():
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(30)
        print(f"--- profile: {kind} ---")
        print(text.getvalue())


if __name__ == "__main__":
    main()
