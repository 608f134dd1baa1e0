"""The PostgreSQL front door in front of the `org` of tests/conftest.py, with a restricted finance dataset.

`door` (one per test module, SQLite) serves a copy of the org on a free port; `pg_client` connects psql and
psycopg to it as one of the org's people (their password is `<name>-pass`).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pgclient import add_budget, psql_binary, serve

from threshold.pgwire.server import FrontDoor


@dataclass
class Front:
    org: object
    door: FrontDoor
    tmp: Path

    @property
    def port(self) -> int:
        return self.door.port

    def dsn(self, user: str, password: str | None = None, **extra: str) -> str:
        parts = {
            "host": "127.0.0.1",
            "port": str(self.port),
            "user": user,
            "dbname": "threshold",
            "password": password if password is not None else f"{user}-pass",
            "sslmode": "disable",
        }
        parts.update(extra)
        return " ".join(f"{k}='{v}'" for k, v in parts.items())

    def psql(self, user: str, command: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
        binary = psql_binary()
        if binary is None:
            pytest.skip("psql is not installed")
        env = dict(os.environ, PGPASSWORD=password if password is not None else f"{user}-pass", PGSSLMODE="disable")
        env.pop("PGSERVICEFILE", None)
        return subprocess.run(
            [binary, "-X", "-h", "127.0.0.1", "-p", str(self.port), "-U", user, "-d", "threshold", "-c", command],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )


@pytest.fixture(scope="module")
def front(module_org, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    tmp = tmp_path_factory.mktemp("pgwire")
    add_budget(module_org, tmp)
    door = serve(module_org.platform)
    try:
        yield Front(module_org, door, tmp)
    finally:
        door.stop()
