"""The maturity pages over the ASGI app: the dashboard grid and its trend, a domain's signals, next step and
actions, the self-assessment and proposal forms for those who may use them, the target picture editor for
the governance group only, each with its `.json` twin; a restricted dataset is never named to an outsider."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from threshold.api.app import create_app
from threshold.governance.controls import set_visibility
from threshold.maturity import snapshots
from threshold.maturity.picture import default_document

from .conftest import Measured


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


class Browser:
    def __init__(self, app: Any) -> None:
        self._runner = asyncio.Runner()
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")

    def get(self, url: str) -> httpx.Response:
        return self._runner.run(self._client.get(url))

    def post(self, url: str, data: dict[str, str]) -> httpx.Response:
        return self._runner.run(self._client.post(url, data=data))

    def tags(self, url: str) -> list[tuple[str, dict[str, str]]]:
        r = self.get(url)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), (url, r.status_code)
        p = _Tags()
        p.feed(r.text)
        return p.tags

    def csrf(self) -> str:
        return next(a["content"] for t, a in self.tags("/maturity") if t == "meta" and a.get("name") == "csrf-token")

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()


@pytest.fixture
def browsers(measured: Measured) -> Iterator[dict[str, Browser]]:
    app = create_app(measured.platform)
    out = {}
    for name in ("anna", "carla", "gov"):
        b = Browser(app)
        form = {"username": name, "password": f"{name}-pass", "csrf": ""}
        login = b.get("/login")
        p = _Tags()
        p.feed(login.text)
        form["csrf"] = next((a.get("value", "") for t, a in p.tags if t == "input" and a.get("name") == "csrf"), "")
        assert b.post("/login", data=form).status_code == 303
        out[name] = b
    yield out
    for b in out.values():
        b.close()


def _having(tags: list[tuple[str, dict[str, str]]], **attrs: str) -> list[dict[str, str]]:
    return [a for _, a in tags if all(a.get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items())]


def test_dashboard_domain_page_and_their_json_twins(measured: Measured, browsers: dict[str, Browser]) -> None:
    m = measured
    carla, anna, gov = browsers["carla"], browsers["anna"], browsers["gov"]
    assert _having(carla.tags("/maturity"), action="/maturity/snapshot") == []  # not governance
    r = gov.post("/maturity/snapshot", data={"csrf": gov.csrf()})
    assert r.status_code == 303
    m.clock.at += timedelta(days=31)
    snapshots.take(m.platform, m.gov)
    tags = carla.tags("/maturity")
    assert [a["data-domain"] for a in _having(tags, class_="domain")] == ["finance", "manufacturing", "sales"]
    assert len(_having(tags, class_="trend-point")) == 2
    board = carla.get("/maturity.json").json()
    assert [len(t["scores"]) for t in board["trend"]] == [7, 7]
    cells = {c["dimension"]: c for c in board["rows"][1]["cells"]}
    assert (cells["sharing"]["score"], cells["sharing"]["level"]) == (45.0, 3)  # a month on: 4 datasets, 2 current

    page = anna.tags("/maturity/manufacturing")
    assert {a["data-signal"] for a in _having(page, class_="signal")} >= {"described", "contract", "owned"}
    assert _having(page, action="/maturity/manufacturing/assess") and _having(
        page, action="/maturity/manufacturing/propose"
    )
    outsider = carla.tags("/maturity/manufacturing")
    assert _having(outsider, action="/maturity/manufacturing/assess") == []
    twin = carla.get("/maturity/manufacturing.json").json()
    assert twin["domain"] == "manufacturing" and twin["next_steps"][0]["to_level"] >= 2
    assert carla.get("/maturity/nowhere").status_code == 404

    r = anna.post("/maturity/manufacturing/assess", data={"csrf": anna.csrf(), "q_owners_known": "3", "note": "x"})
    assert r.status_code == 303 and r.headers["location"] == "/maturity/manufacturing#assessment"
    assert anna.get("/maturity/manufacturing.json").json()["assessment"]["answers"] == {"owners_known": 3}
    r = anna.post("/maturity/manufacturing/propose", data={"csrf": anna.csrf(), "t_reuse": "4", "reason": "read"})
    assert r.status_code == 303
    r = carla.post("/maturity/manufacturing/assess", data={"csrf": carla.csrf(), "q_owners_known": "3"})
    assert r.status_code == 403


def test_the_target_picture_editor_is_for_the_governance_group(
    measured: Measured, browsers: dict[str, Browser]
) -> None:
    carla, gov, anna = browsers["carla"], browsers["gov"], browsers["anna"]
    assert _having(carla.tags("/target-picture"), action="/target-picture") == []
    assert _having(gov.tags("/target-picture"), action="/target-picture")
    changed = default_document().replace("default: [20, 40, 60, 80]", "default: [10, 30, 50, 70]")
    r = carla.post("/target-picture", data={"csrf": carla.csrf(), "document": changed, "reason": "easier"})
    assert r.status_code == 403
    r = gov.post("/target-picture", data={"csrf": gov.csrf(), "document": "levels: [", "reason": "broken"})
    assert r.status_code == 422 and "not valid YAML" in r.text
    r = gov.post("/target-picture", data={"csrf": gov.csrf(), "document": changed, "reason": "a gentler start"})
    assert r.status_code == 303
    twin = carla.get("/target-picture.json").json()
    assert [(v["version"], v["author"], v["reason"]) for v in twin["versions"]][0] == (2, "gov", "a gentler start")
    assert "[10, 30, 50, 70]" in twin["shown"]["document"]
    old = carla.get("/target-picture.json?version=1").json()
    assert "[20, 40, 60, 80]" in old["shown"]["document"]
    anna.post("/maturity/manufacturing/propose", data={"csrf": anna.csrf(), "t_reuse": "4", "reason": "read by all"})
    pid = carla.get("/target-picture.json").json()["proposals"][0]["id"]
    r = gov.post(f"/target-picture/proposals/{pid}", data={"csrf": gov.csrf(), "verdict": "approve"})
    assert r.status_code == 303
    assert carla.get("/target-picture.json").json()["versions"][0]["proposal_id"] == pid


def test_a_restricted_dataset_is_not_named_on_the_domain_page(measured: Measured, browsers: dict[str, Browser]) -> None:
    m = measured
    set_visibility(m.platform, m.anna, "manufacturing.scrap", "restricted")
    high = default_document().replace("  default:\n    default: 3", "  default:\n    default: 5")
    from threshold.maturity import target

    target.set_picture(m.platform, m.gov, high, reason="aim high")
    snapshots.take(m.platform, m.gov)
    assert "manufacturing.scrap" in browsers["anna"].get("/maturity/manufacturing").text
    for url in ("/maturity/manufacturing", "/maturity/manufacturing.json", "/maturity", "/maturity.json"):
        assert "scrap" not in browsers["carla"].get(url).text, url
