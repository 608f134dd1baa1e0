"""`threshold serve --pg-port` starts the front door beside the HTTP server, in one process."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import psycopg


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_with_a_pg_port_answers_postgresql_clients(front) -> None:
    home = front.org.platform.settings.home_dir
    http, pg = _free_port(), _free_port()
    cli = Path(sys.executable).parent / "threshold"
    server = subprocess.Popen(
        [str(cli), "serve", "--home", str(home), "--port", str(http), "--pg-port", str(pg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        said = []
        for line in server.stdout:  # the door listens before it says so
            said.append(line)
            if "PostgreSQL clients" in line:
                break
        assert f"-p {pg}" in "".join(said), said
        dsn = f"host=127.0.0.1 port={pg} user=carla password=carla-pass dbname=threshold sslmode=disable"
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT count(*) FROM manufacturing.plant_kpis").fetchone() == (5,)
    finally:
        server.terminate()
        server.wait(timeout=60)
