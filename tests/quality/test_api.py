"""The quality REST API: the same services as the CLI and the web, every route's permission declared."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from threshold.api.app import create_app
from threshold.identity.service import create_token
from threshold.interface.permissions import undeclared

from .conftest import BATCHES, RAW_EMAILS, Batches


class Api:
    def __init__(self, app: Any, token: str) -> None:
        self._runner = asyncio.Runner()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"Authorization": f"Bearer {token}"}
        )

    def __call__(self, method: str, url: str, **kw: Any) -> httpx.Response:
        return self._runner.run(self._client.request(method, "/api/v1" + url, **kw))

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()


@pytest.fixture
def api(batches: Batches) -> Any:
    app = create_app(batches.platform)
    clients = {name: Api(app, create_token(batches.platform, name)[1]) for name in ("anna", "ben")}
    yield clients
    for c in clients.values():
        c.close()


def test_every_quality_route_declares_who_may_call_it(batches: Batches) -> None:
    assert undeclared(create_app(batches.platform)) == []


def test_checks_incidents_and_quarantine_over_http(api: dict[str, Api]) -> None:
    anna, ben = api["anna"], api["ben"]
    created = anna(
        "POST",
        f"/datasets/{BATCHES}/checks",
        json={"kind": "range", "options": {"column": "weight_kg", "min": 0, "max": 100}},
    )
    assert created.status_code == 201, created.text
    assert (
        ben(
            "POST", f"/datasets/{BATCHES}/checks", json={"kind": "not_null", "options": {"column": "plant"}}
        ).status_code
        == 403
    )
    bad = anna("POST", f"/datasets/{BATCHES}/checks", json={"kind": "range", "options": {"column": "nope", "min": 1}})
    assert bad.status_code == 422 and "no column 'nope'" in bad.json()["detail"]

    runs = anna("POST", f"/datasets/{BATCHES}/checks/run").json()
    assert [(r["status"], r["failing"]) for r in runs] == [("fail", 2)]
    listed = ben("GET", f"/datasets/{BATCHES}/checks").json()
    assert listed["score"] == 0.0 and not [e for e in RAW_EMAILS if e in str(listed)]
    assert ben("GET", f"/checks/{created.json()['id']}").json()["runs"][0]["failing"] == 2

    (incident,) = ben("GET", "/incidents", params={"domain": "manufacturing"}).json()
    reported = ben("POST", "/incidents", json={"dataset": f"{BATCHES}.plant", "description": "Plant missing"})
    assert reported.status_code == 201 and reported.json()["domain"] == "manufacturing"
    rid = reported.json()["id"]
    assert ben("POST", f"/incidents/{rid}/ack", json={}).status_code == 403
    assert anna("POST", f"/incidents/{rid}/ack", json={"note": "on it"}).json()["status"] == "acknowledged"
    assert anna("POST", f"/incidents/{rid}/comment", json={"note": "fixing the feed"}).status_code == 200
    assert anna("POST", f"/incidents/{rid}/close", json={}).status_code == 422
    assert anna("GET", f"/incidents/{incident['id']}").json()["run"]["failing"] == 2

    quality = ben("GET", "/domains/manufacturing/quality").json()
    assert quality["incidents"]["open"] == 1 and quality["incidents"]["acknowledged"] == 1
    assert ben("GET", f"/datasets/{BATCHES}/quality").json()["score"] == 0.0
    assert ben("GET", "/quarantine", params={"dataset": BATCHES}).status_code == 403
    assert anna("GET", "/quarantine").json() == []
    assert anna("DELETE", f"/checks/{created.json()['id']}").json()["removed"] is True
