"""Quality fixtures: the `org` of tests/conftest.py plus `manufacturing.batches`, a small dataset whose
every check kind has known failures (see fixtures/batches.csv and fixtures/check_kinds.yaml).

batches.csv (5 rows, shared by anna, owner of manufacturing):
  batch_id 1,2,3,3,5 (one repeated key) · plant one null · status `weird` once · weight_kg 500 and -1
  (and one null) · code `X03` once · produced_at in January 2020 · inspector_email personal (detected)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from prepared import kind, on_org
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.quality import dataset_checks
from threshold.quality.check_results import CheckRecord
from threshold.quality.kinds import CheckSpec
from threshold.sharing.service import share

FIXTURES = Path(__file__).parent / "fixtures"
BATCHES = "manufacturing.batches"
BATCHES_CSV = FIXTURES / "batches.csv"
HEADER = "batch_id,plant,status,weight_kg,code,produced_at,inspector_email\n"
RAW_EMAILS = ("anna.schmidt@example.com", "jean.dupont@example.fr", "ana.silva@example.pt", "max.mueller@example.de")


@dataclass
class Batches:
    platform: Platform
    anna: Person
    ben: Person
    carla: Person
    admin: Person
    tmp: Path

    def add(self, kind: str, blocking: bool = False, **options: Any) -> CheckRecord:
        return dataset_checks.add(self.platform, self.anna, BATCHES, CheckSpec(kind, options, blocking=blocking))

    def csv(self, name: str, *rows: str) -> Path:
        path = self.tmp / name
        path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
        return path

    def append(self, path: Path, user: Person | None = None) -> Any:
        return share(self.platform, path, domain="manufacturing", name="batches", mode="append", user=user or self.anna)


def _batches(org: Any, tmp: Path) -> Batches:
    share(org.platform, BATCHES_CSV, domain="manufacturing", user=org.anna, description="Production batches")
    return Batches(org.platform, org.anna, org.ben, org.carla, org.admin, tmp)


@on_org("batches", "any_batches")
def _prepare_batches(org: Any, tmp: Path) -> Batches:
    return _batches(org, tmp)


def _copied_batches(org: Any, tmp: Path, prepared: Any) -> Batches:
    if prepared.result(org.platform, _prepare_batches) is None:
        return _batches(org, tmp)
    return Batches(org.platform, org.anna, org.ben, org.carla, org.admin, tmp)


@pytest.fixture
def batches(org: Any, tmp_path: Path, prepared_homes: Any) -> Batches:
    """(A copy of a home built once per session.)"""
    return _copied_batches(org, tmp_path, prepared_homes)


@pytest.fixture
def any_batches(any_org: Any, tmp_path: Path, prepared_homes: Any) -> Batches:
    """`batches` on SQLite and on PostgreSQL."""
    return _copied_batches(any_org, tmp_path, prepared_homes)


@pytest.fixture(scope="module")
def module_batches(prepared_homes: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Batches]:
    """One `batches` per test module, for tests that only add checks and read their own runs (a copy of the
    home built once per session)."""
    tmp = tmp_path_factory.mktemp("module_batches")
    for org, _built in prepared_homes.copy_org(kind(_prepare_batches), "sqlite", tmp):
        yield Batches(org.platform, org.anna, org.ben, org.carla, org.admin, tmp)


@dataclass
class Receiver:
    """A local webhook endpoint: records every delivery (headers and JSON body)."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    fail_first: int = 0

    def events(self) -> list[str]:
        return [r["body"]["event"] for r in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if box.fail_first > 0:
                box.fail_first -= 1
                self.send_response(500)
                self.end_headers()
                return
            box.received.append({"headers": dict(self.headers), "body": json.loads(body), "raw": body})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box
    server.shutdown()
    server.server_close()


def wait_for_deliveries() -> None:
    """Webhook deliveries are sent on background threads: wait for the ones started so far."""
    from threshold.runtime import drain as _drain

    _drain(10)
