"""`threshold serve|demo`: the web UI and REST API on a socket, and the demo organisation."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from threshold.commands.options import Home, Host, Port
from threshold.commands.support import err, out, platform_at

app = typer.Typer()  # registered onto `threshold` by threshold.cli (GROUPS)


@app.command()
def serve(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    pg_port: Annotated[
        int | None,
        typer.Option(
            "--pg-port", min=0, max=65535, help="Also accept PostgreSQL clients on this port (docs/pgwire.md)."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Worker processes on the one address (server.workers; more than one needs PostgreSQL).",
        ),
    ] = None,
    home: Home = None,
) -> None:
    """Serve the web UI and the REST API (and, with --pg-port or pg.port, the PostgreSQL front door)."""
    platform = platform_at(home)
    n = workers if workers is not None else platform.settings.server.workers
    if n > 1 and platform.settings.is_sqlite:
        from threshold.errors import InvalidInput

        raise InvalidInput(
            f"--workers {n} needs PostgreSQL (THRESHOLD_DATABASE_URL): "
            "the embedded SQLite store is served by one process"
        )
    sock = bind(host, port)
    pg = pg_port if pg_port is not None else platform.settings.pg.port
    pg_sock = bind(host, pg) if pg else None
    if n > 1:
        raise typer.Exit(_serve_workers(platform, sock, pg_sock, n))
    _serve(platform, sock, pg_sock)


def bind(host: str, port: int) -> Any:
    """The listening socket, taken before anything says it serves: a busy port is one clear line, not a
    "serving on ..." followed by a failure."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        from threshold.errors import InvalidInput

        raise InvalidInput(f"cannot serve on {host}: {e.strerror or e}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: restart while old ones linger
    try:
        sock.bind(address)
    except OSError as e:
        sock.close()
        from threshold.errors import Conflict, InvalidInput

        if e.errno == errno.EADDRINUSE:
            raise Conflict(
                f"port {port} on {host} is already in use by another program: "
                f"choose another with --port {port + 1} (make run PORT={port + 1})"
            ) from None
        if e.errno == errno.EACCES:
            raise InvalidInput(f"port {port} on {host} needs privileges: choose one above 1023 with --port") from None
        raise InvalidInput(f"cannot serve on {host}:{port}: {e.strerror or e}") from None
    sock.set_inheritable(True)
    return sock


def _prepare(platform: Any, *, sweep: bool = True) -> None:
    """What a server does once before it answers: plan the scheduled jobs, clean up after killed processes
    (`sweep=False`: not the lake tables, in a background thread here; a supervisor's first worker does it)."""
    from threshold.cleanup import sweep_in_background
    from threshold.maturity.snapshots import plan as plan_maturity
    from threshold.operations.schedules import plan_from_settings

    plan_from_settings(platform)  # maintenance jobs on the schedules the settings give
    from threshold.compliance.retention import plan_from_settings as plan_retention

    plan_retention(platform)  # the retention job, daily unless the settings say otherwise
    plan_maturity(platform)  # the monthly maturity snapshot
    platform.clean_staging()  # folders of killed shares and servers: before serving (a listing, quick)
    if sweep:
        sweep_in_background(platform, err.print)  # what killed writes left in the lake tables


def _serving_line(platform: Any, sock: Any, workers: int = 1) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    by = f" with {workers} workers" if workers > 1 else ""
    return f"Threshold is serving {platform.settings.home_dir} on http://{shown}:{port}/{by} (API docs at /docs)"


def _serve(platform: Any, sock: Any, pg_sock: Any = None) -> None:
    from threshold.api.app import create_app
    from threshold.interface.server import serve

    _prepare(platform)
    out.print(_serving_line(platform, sock))
    door = None
    if pg_sock is not None:
        from threshold.pgwire.server import FrontDoor

        door = FrontDoor(platform)
        door.start(pg_sock)
        pg_host, pg_port = pg_sock.getsockname()[:2]
        tls = "TLS or plain" if door.tls is not None else "no TLS"
        out.print(f"PostgreSQL clients: psql -h {pg_host} -p {pg_port} -U <you> threshold ({tls})")
    # Stops within moments of SIGTERM (interface.server); the front door closes before the platform.
    serve(platform, create_app(platform), sock, stopped=door.stop if door is not None else None)


def _serve_workers(platform: Any, sock: Any, pg_sock: Any, workers: int) -> int:
    """Serve with `workers` processes sharing the sockets (`interface.supervisor`); the exit code."""
    import itertools
    import os

    from threshold.commands import worker
    from threshold.interface.supervisor import Supervisor
    from threshold.limits.workers import share_of

    try:
        # The lake tables are swept by the first worker (in a thread of its own: a thread here would make
        # forking the workers unsafe).
        _prepare(platform, sweep=False)
        settings = platform.settings
        # Secrets generated on first use are made now, once: workers starting together would each write their own.
        settings.session_secret()
        settings.sources_key()
        settings.erasure_key()
    finally:
        platform.close()  # each worker opens its own: no connection of this process is handed to a fork
    share = share_of(settings.limits, workers)
    for note in share.notes:
        err.print(note)
    env = {**os.environ, **share.overrides, "THRESHOLD_SERVER__WORKERS": str(workers)}
    fds = [sock.fileno()] + ([pg_sock.fileno()] if pg_sock is not None else [])
    for s in (sock, pg_sock):
        if s is not None:
            s.listen(2048)  # connections wait in the backlog until a worker accepts them
    home, parent, pg_fd = str(settings.home_dir), os.getpid(), fds[1] if pg_sock is not None else None
    base = [sys.executable, "-m", "threshold.commands.worker", "--home", home]
    base += ["--parent", str(parent), "--fd", str(fds[0])]
    if pg_fd is not None:
        base += ["--pg-fd", str(pg_fd)]
    out.print(_serving_line(platform, sock, workers))
    if pg_sock is not None:
        pg_host, pg_port = pg_sock.getsockname()[:2]
        out.print(f"PostgreSQL clients: psql -h {pg_host} -p {pg_port} -U <you> threshold")
    first = itertools.chain([True], itertools.repeat(False))  # the first worker started sweeps, once

    def command(_index: int) -> list[str]:
        return base + (["--sweep"] if next(first) else [])

    def forked(_index: int) -> Any:
        sweep = next(first)
        return lambda: worker.run(home, fds[0], pg_fd, parent=parent, sweep=sweep)

    if not settings.server.preload:
        return Supervisor(command, workers, fds=fds, env=env, say=err.print).run()
    worker.preload(pg=pg_sock is not None)  # once, here: every worker forked from this state starts warm
    return Supervisor(command, workers, fds=fds, env=env, say=err.print, fork=forked).run()


@app.command()
def demo(
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build the demo organisation only.")] = False,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    scale: Annotated[float, typer.Option("--scale", help="Multiply people, datasets and usage.")] = 1.0,
    home: Home = None,
) -> None:
    """Build a believable demo organisation (domains, people, datasets, 8 weeks of usage), then serve it."""
    from threshold.demo.generator import build_demo
    from threshold.platform import Platform

    sock = None if no_serve else bind(host, port)  # a busy port is said before the demo is built
    platform = Platform.open(home, must_exist=False)

    def log(msg: str) -> None:
        sys.stderr.write(msg + "\n")

    summary = build_demo(platform, scale=scale, log=log)
    out.print(summary)
    if sock is not None:
        _serve(platform, sock)
