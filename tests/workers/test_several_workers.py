"""`threshold serve --workers 3` against one PostgreSQL database: every worker enforces a change at once.

The server is a real `threshold serve --workers 3` process (its supervisor and three worker processes) on a
socket the test bound beforehand. Each response names the worker that answered (`X-Threshold-Worker`); a
test sends requests on fresh connections until every worker has answered. Before a change every worker
has answered the same question (its caches hold the old decision); after the change's response, every
answer from every worker follows the new rule: the bound is the next request, nothing waits for a timer.

PostgreSQL only (several workers refuse the embedded SQLite store); skipped without
THRESHOLD_TEST_POSTGRES_URL, as the other PostgreSQL tests are.
"""

from __future__ import annotations

import io
import os
import select
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

import killed
import plainhttp
import s3homes
from inprocess import threshold
from threshold.identity.service import create_token
from threshold.platform import Platform
from workerserver import children, serving, warm

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WORKERS = 3
KPIS = "manufacturing.plant_kpis"
COUNT = f"SELECT count(*) AS n FROM {KPIS}"
DEADLINE = 180.0
"""Longest a test waits for every worker to have answered (workers start in a few seconds; a loaded machine)."""
TIMEOUT = 120.0
"""Of one request: the first ones wait in the backlog while the workers start."""


@dataclass
class Cluster:
    platform: Platform
    url: str
    proc: killed.Child
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def workers(self) -> list[int]:
        """The supervisor's worker processes, by the kernel's list of its children."""
        return children(self.proc.pid)

    def me(self) -> httpx.Response:
        return plainhttp.get(f"{self.url}/api/v1/me", headers=self.headers("carla"), timeout=TIMEOUT)

    def count(self, who: str) -> httpx.Response:
        """carla's (or anyone's) count of the dataset, on a connection of its own (any worker may take it)."""
        return plainhttp.post(
            f"{self.url}/api/v1/query", headers=self.headers(who), json={"sql": COUNT}, timeout=TIMEOUT
        )

    def every_worker(self, send: Callable[[], httpx.Response]) -> dict[str, list[httpx.Response]]:
        """Send `send()` until each of the workers has answered at least once: the answers, by worker."""
        seen: dict[str, list[httpx.Response]] = {}
        end = time.monotonic() + DEADLINE
        with ThreadPoolExecutor(4) as pool:
            while len(seen) < WORKERS:
                assert time.monotonic() < end, f"only {len(seen)} of {WORKERS} workers answered: {sorted(seen)}"
                for r in pool.map(lambda _: send(), range(8)):
                    seen.setdefault(r.headers["x-threshold-worker"], []).append(r)
        return seen


def _free_pid(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


@pytest.fixture(scope="module")
def cluster(prepared_homes: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not os.environ.get("THRESHOLD_TEST_POSTGRES_URL"):
        pytest.skip("THRESHOLD_TEST_POSTGRES_URL not set (make test starts a local PostgreSQL)")
    warm()  # the server's code is imported while the home is copied
    tmp = tmp_path_factory.mktemp("workers")
    for platform in prepared_homes.copy("org", "postgres", tmp / "home"):
        tokens = {who: create_token(platform, who)[1] for who in ("anna", "carla")}
        settings = {
            "THRESHOLD_JOBS__SCHEDULER": "false",
            "THRESHOLD_LIMITS__PERSON_QUERIES": "12",  # 4 per worker: the test sends 4 at once
            "THRESHOLD_LIMITS__QUERIES": "12",
        }
        with serving(platform, WORKERS, settings) as server:
            yield Cluster(platform, server.url, server.proc, tokens)


def _rows(r: httpx.Response) -> list[dict[str, Any]]:
    assert r.status_code == 200, r.text
    return list(r.json()["rows"])


def _counts(answers: dict[str, list[httpx.Response]]) -> set[int]:
    return {_rows(r)[0]["n"] for rs in answers.values() for r in rs}


def test_every_worker_answers_and_names_itself_with_nothing_else(cluster: Cluster) -> None:
    answers = cluster.every_worker(cluster.me)
    assert len(answers) == WORKERS
    pids = {str(p) for p in cluster.workers()} | {str(cluster.proc.pid)}
    for name, rs in answers.items():
        assert len(name) == 8 and int(name, 16) >= 0  # a random name: not a pid, host or count
        assert name not in pids
        assert {r.json()["name"] for r in rs} == {"carla"}
    assert len(cluster.workers()) == WORKERS


class _Inputs(HTMLParser):
    """The named inputs of a page's forms (the login form's CSRF token)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            self.values[str(a["name"])] = a.get("value") or ""


def test_a_web_session_signed_by_one_worker_is_honoured_by_every_worker(cluster: Cluster) -> None:
    """The session secret is made once, by the supervisor: workers starting together would each make one."""
    fresh = httpx.Limits(max_keepalive_connections=0)  # a connection per request: any worker may take it
    with plainhttp.client(base_url=cluster.url, limits=fresh, timeout=TIMEOUT) as browser:
        form = _Inputs()
        form.feed(browser.get("/login").text)
        signed = browser.post("/login", data=form.values | {"username": "carla", "password": "carla-pass"})
        assert signed.status_code == 303, signed.text
        pages = cluster.every_worker(lambda: browser.get("/index.json"))
    assert {r.status_code for rs in pages.values() for r in rs} == {200}


def test_a_row_filter_applied_through_one_worker_is_enforced_by_every_worker_at_once(cluster: Cluster) -> None:
    assert _counts(cluster.every_worker(lambda: cluster.count("carla"))) == {5}  # every worker decided once
    policy = (
        "domain: manufacturing\npolicies:\n"
        "  - {id: berlin-only, kind: row_filter, datasets: [plant_kpis], where: \"plant = 'Berlin'\", "
        "readers: outside_domain}\n"
    )
    r = plainhttp.post(
        f"{cluster.url}/api/v1/policies", headers=cluster.headers("anna"), json={"text": policy}, timeout=TIMEOUT
    )
    assert r.status_code == 200, r.text
    assert _counts(cluster.every_worker(lambda: cluster.count("carla"))) == {2}
    # Retired through one worker: every worker reads the whole table again.
    r = plainhttp.post(
        f"{cluster.url}/api/v1/policies",
        headers=cluster.headers("anna"),
        json={"text": "domain: manufacturing\npolicies: []\n"},
        timeout=TIMEOUT,
    )
    assert r.status_code == 200, r.text
    assert _counts(cluster.every_worker(lambda: cluster.count("carla"))) == {5}


def test_a_tag_that_masks_a_column_is_enforced_by_every_worker_at_once(cluster: Cluster) -> None:
    anna, url = cluster.headers("anna"), cluster.url
    sql = f"SELECT DISTINCT plant FROM {KPIS}"

    def plants() -> httpx.Response:
        return plainhttp.post(
            f"{url}/api/v1/query", headers=cluster.headers("carla"), json={"sql": sql}, timeout=TIMEOUT
        )

    def values(answers: dict[str, list[httpx.Response]]) -> set[str]:
        return {row["plant"] for rs in answers.values() for r in rs for row in _rows(r)}

    assert values(cluster.every_worker(plants)) == {"Berlin", "Lyon", "Porto"}
    r = plainhttp.post(
        f"{url}/api/v1/datasets/{KPIS}/tags",
        headers=anna,
        json={"tag": "personal.name", "column": "plant"},
        timeout=TIMEOUT,
    )
    assert r.status_code == 200, r.text
    masked = values(cluster.every_worker(plants))  # personal data, outside its domain: the guardrail masks it
    assert masked and not masked & {"Berlin", "Lyon", "Porto"}, masked
    r = plainhttp.delete(
        f"{url}/api/v1/datasets/{KPIS}/tags",
        headers=anna,
        params={"tag": "personal.name", "column": "plant"},
        timeout=TIMEOUT,
    )
    assert r.status_code == 200, r.text
    assert values(cluster.every_worker(plants)) == {"Berlin", "Lyon", "Porto"}


def test_a_revoked_reader_gets_no_rows_from_any_worker(cluster: Cluster) -> None:
    anna, carla, url = cluster.headers("anna"), cluster.headers("carla"), cluster.url
    r = plainhttp.put(
        f"{url}/api/v1/datasets/{KPIS}/visibility", headers=anna, json={"visibility": "on-request"}, timeout=TIMEOUT
    )
    assert r.status_code == 200, r.text
    refused = cluster.every_worker(lambda: cluster.count("carla"))
    assert {r.status_code for rs in refused.values() for r in rs} == {403}

    asked = plainhttp.post(
        f"{url}/api/v1/requests", headers=carla, json={"dataset": KPIS, "purpose": "plant report"}, timeout=TIMEOUT
    )
    assert asked.status_code == 200, asked.text
    approved = plainhttp.post(
        f"{url}/api/v1/requests/{asked.json()['id']}/approve", headers=anna, json={}, timeout=TIMEOUT
    )
    assert approved.status_code == 200, approved.text
    assert _counts(cluster.every_worker(lambda: cluster.count("carla"))) == {5}  # granted: every worker reads

    revoked = plainhttp.delete(f"{url}/api/v1/grants/{approved.json()['grant']}", headers=anna, timeout=TIMEOUT)
    assert revoked.status_code == 200, revoked.text
    after = cluster.every_worker(lambda: cluster.count("carla"))
    assert {r.status_code for rs in after.values() for r in rs} == {403}
    assert all("rows" not in r.text for rs in after.values() for r in rs)

    # Restricted through one worker: to carla the dataset does not exist, on every worker.
    r = plainhttp.put(
        f"{url}/api/v1/datasets/{KPIS}/visibility", headers=anna, json={"visibility": "restricted"}, timeout=TIMEOUT
    )
    assert r.status_code == 200, r.text
    hidden = cluster.every_worker(lambda: cluster.count("carla"))
    details = {(r.status_code, r.json()["detail"]) for rs in hidden.values() for r in rs}
    assert details == {(422, f"unknown dataset {KPIS}")}, details
    r = plainhttp.put(
        f"{url}/api/v1/datasets/{KPIS}/visibility", headers=anna, json={"visibility": "open"}, timeout=TIMEOUT
    )
    assert r.status_code == 200, r.text


def test_a_large_upload_and_a_streamed_result_through_the_one_address(cluster: Cluster, tmp_path: Path) -> None:
    rows = 400_000
    body = io.BytesIO()
    body.write(b"reading,plant,value\n")
    for i in range(rows):
        body.write(f"{i},{('Berlin', 'Lyon', 'Porto')[i % 3]},{i * 0.5}\n".encode())
    size = body.tell()
    body.seek(0)
    r = plainhttp.post(
        f"{cluster.url}/api/v1/shares",
        headers=cluster.headers("anna"),
        files={"file": ("meter_readings.csv", body, "text/csv")},
        data={"domain": "manufacturing", "purpose": "metering"},
        timeout=300,
    )
    assert r.status_code == 200, r.text
    assert size > 8 * 1024 * 1024
    sql = "SELECT reading, plant FROM manufacturing.meter_readings ORDER BY reading"
    streamed = 0
    with plainhttp.stream(
        "POST",
        f"{cluster.url}/api/v1/query",
        headers=cluster.headers("anna"),
        json={"sql": sql, "format": "ndjson", "max_rows": None},
        timeout=300,
    ) as s:
        assert s.status_code == 200
        last = None
        for line in s.iter_lines():
            if line.strip():
                last = line
                streamed += 1
    assert streamed == rows
    assert last is not None and f'"reading":{rows - 1}' in last.replace(" ", "")


def test_a_killed_worker_is_replaced(cluster: Cluster) -> None:
    before = cluster.every_worker(cluster.me)
    pids = cluster.workers()
    assert len(pids) == WORKERS
    gone = os.pidfd_open(pids[0])  # readable once the process has ended: no polling while it dies
    try:
        os.kill(pids[0], signal.SIGKILL)
        assert select.select([gone], [], [], DEADLINE)[0], "the killed worker did not end"
    finally:
        os.close(gone)
    end = time.monotonic() + DEADLINE  # the supervisor reaps it and forks another at once
    while not (_free_pid(pids[0]) and len(cluster.workers()) == WORKERS and pids[0] not in cluster.workers()):
        assert time.monotonic() < end, "the killed worker was not replaced"
        assert cluster.proc.poll() is None, "the supervisor stopped"
        os.sched_yield()
    after = cluster.every_worker(cluster.me)
    assert len(set(after) - set(before)) == 1  # one new worker, the two others still serving
    assert set(cluster.workers()) & set(pids) == set(pids[1:])


def test_sigterm_stops_every_worker_and_the_supervisor_exits_cleanly(cluster: Cluster) -> None:
    cluster.every_worker(cluster.me)
    pids = cluster.workers()
    os.kill(cluster.proc.pid, signal.SIGTERM)
    out, err = cluster.proc.communicate(timeout=90)
    assert cluster.proc.returncode == 0, err
    assert "with 3 workers" in " ".join(out.split())
    assert all(_free_pid(p) for p in pids)
    with pytest.raises(httpx.ConnectError):
        plainhttp.get(f"{cluster.url}/api/v1/me", timeout=TIMEOUT)


def test_several_workers_refuse_the_embedded_sqlite_store(platform: Platform) -> None:
    """In this process (`inprocess`): the refusal comes before anything is bound or started."""
    env = {**s3homes.subprocess_env(platform.settings), "THRESHOLD_DATABASE_URL": ""}
    r = threshold("serve", "--workers", "2", home=platform.settings.home_dir, env=env)
    assert r.returncode != 0
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert lines == [
        "error: --workers 2 needs PostgreSQL (THRESHOLD_DATABASE_URL): "
        "the embedded SQLite store is served by one process"
    ], r.stderr
