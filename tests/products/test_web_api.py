"""The pages (and their .json twins) and the REST API of consumption, candidates and products, in-process.

HTML is read with the standard library's parser, never with regular expressions.
"""

from __future__ import annotations

import asyncio
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
import yaml

from threshold.api.app import create_app
from threshold.identity.service import create_token
from threshold.interface.permissions import undeclared

from .usage_history import INVOICES, KPIS, SENSORS, History

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Page(HTMLParser):
    """Texts by element id, form actions, and every element's attributes: enough to check a page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: dict[str, list[str]] = {}
        self.stack: list[tuple[str, str | None]] = []
        self.forms: list[str] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if tag == "form":
            self.forms.append(a.get("action", ""))
        if tag in VOID:
            return
        if "id" in a:
            self.ids[a["id"]] = []
        self.stack.append((tag, a.get("id")))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        for _tag, i in self.stack:
            if i is not None:
                self.ids[i].append(data)

    def text(self, element_id: str) -> str:
        return " ".join("".join(self.ids[element_id]).split())


class Client:
    def __init__(self, h: History, user: str) -> None:
        self.runner = asyncio.Runner()
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(h.platform)), base_url="http://test"
        )
        r = self.post("/login", data={"username": user, "password": f"{user}-pass", "csrf": self.csrf("/login")})
        assert r.status_code == 303, r.text

    def get(self, url: str) -> httpx.Response:
        return self.runner.run(self.client.get(url))

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.runner.run(self.client.post(url, **kw))

    def csrf(self, url: str = "/consumption") -> str:
        page = Page(self.get(url).text)
        return next(a["content"] for t, a in page.tags if t == "meta" and a.get("name") == "csrf-token")

    def page(self, url: str) -> Page:
        r = self.get(url)
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
        return Page(r.text)

    def close(self) -> None:
        self.runner.run(self.client.aclose())
        self.runner.close()


@pytest.fixture
def anna(fresh: History) -> Any:
    c = Client(fresh, "anna")
    yield c
    c.close()


def test_every_page_and_api_route_declares_who_may_call_it(fresh: History) -> None:
    assert undeclared(create_app(fresh.platform)) == []


def test_consumption_page_draws_the_reuse_matrix(anna: Client) -> None:
    page = anna.page("/consumption")
    cells = [a for t, a in page.tags if t == "rect" and a.get("fill-opacity") not in (None, "0.0")]
    assert len(cells) == 9  # one shaded cell per (consumer, producer) pair with readers
    assert "finance reads manufacturing's data: 2 people, 17 reads" in page.text("reuse-matrix")
    assert page.text("rising").startswith("Rising")
    assert KPIS.split(".")[1] in page.text("rising")
    assert "old_report" in page.text("long-tail")
    data = anna.get("/consumption.json").json()
    assert data["totals"]["reads"] == 67 and data["consume_not_share"] == ["strategy"]


def test_domain_page_for_producers(anna: Client) -> None:
    page = anna.page("/domains/manufacturing")
    assert page.text("outside-people") == "6"
    assert "ben" in page.text(KPIS)
    data = anna.get("/domains/manufacturing.json").json()
    assert data["producer_view"] is True and data["datasets"][0]["dataset"] == KPIS
    assert anna.get("/domains/nope").status_code == 404


def test_candidates_page_with_reasons_and_the_review_forms(anna: Client) -> None:
    page = anna.page("/candidates")
    assert "used from 4 other domains" in page.text(KPIS)
    assert {"/owners/propose", "/products/promote", "/candidates/dismiss", "/candidates/nominate"} <= set(page.forms)
    r = anna.post("/candidates/nominate", data={"dataset": SENSORS, "reason": "machine health", "csrf": anna.csrf()})
    assert r.status_code == 303 and r.headers["location"].startswith("/candidates?done=")
    names = [c["dataset"] for c in anna.get("/candidates.json").json()["candidates"]]
    assert names == [KPIS, SENSORS]
    forged = anna.post("/candidates/nominate", data={"dataset": SENSORS, "reason": "x", "csrf": "forged"})
    assert forged.status_code == 403


def test_promote_from_the_web_then_the_product_page(anna: Client) -> None:
    r = anna.post("/products/promote", data={"dataset": KPIS, "owner": "anna", "csrf": anna.csrf()})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/products/{KPIS}?done=")
    page = anna.page(f"/products/{KPIS}")
    assert page.text("badges") == "active v1.0.0 contract passed " + page.text("badges").split("contract passed ")[1]
    assert "passed" in page.text("checks")
    assert "/products/deprecate" in page.forms
    data = anna.get(f"/products/{KPIS}.json").json()
    assert (data["owner"], data["version"]) == ("anna", "1.0.0")
    contract = anna.get(f"/products/{KPIS}/contract.yaml")
    assert contract.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(contract.text)["status"] == "active"
    assert [p["dataset"] for p in anna.get("/products.json").json()["products"]] == [KPIS]


def test_consumers_page_hides_names_from_outsiders(fresh: History) -> None:
    carla = Client(fresh, "carla")
    try:
        data = carla.get(f"/consumers/{INVOICES}.json").json()
        assert (data["people"], data["consumers"]) == (1, None)
        page = carla.page(f"/consumers/{INVOICES}")
        assert page.text("people") == "1"
        assert "consumers" not in page.ids
        assert carla.get("/consumers/sales.nothing.json").status_code == 404
    finally:
        carla.close()


def _api(h: History, method: str, url: str, user: str = "anna", **kw: Any) -> httpx.Response:
    token = create_token(h.platform, user)[1]

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(h.platform)), base_url="http://test"
        ) as c:
            headers = {"Authorization": f"Bearer {token}"} | kw.pop("headers", {})
            return await c.request(method, url, headers=headers, **kw)

    return asyncio.run(go())


def test_the_rest_api(fresh: History) -> None:
    assert _api(fresh, "GET", f"/api/v1/consumers/{KPIS}").json()["people"] == 8
    assert _api(fresh, "GET", "/api/v1/candidates").json()["candidates"][0]["dataset"] == KPIS
    assert _api(fresh, "GET", f"/api/v1/owners/{KPIS}").json()["suggestions"][0]["user"] == "anna"
    assert _api(fresh, "GET", "/api/v1/patterns", params={"domain": "sales"}).json()[0]["dataset"] == "sales.orders"
    r = _api(fresh, "POST", "/api/v1/products", json={"dataset": KPIS, "owner": "anna", "with": [SENSORS]})
    assert r.status_code == 201 and [d["dataset"] for d in r.json()["datasets"]] == [KPIS, SENSORS]
    text = _api(fresh, "GET", f"/api/v1/contracts/{KPIS}").text
    doc = yaml.safe_load(text)
    doc["version"] = "1.0.1"
    r = _api(
        fresh, "PUT", "/api/v1/contracts", content=yaml.safe_dump(doc), headers={"Content-Type": "application/yaml"}
    )
    assert r.status_code == 200 and r.json()["version"] == "1.0.1"
    r = _api(fresh, "POST", f"/api/v1/products/{KPIS}/deprecate", json={"replacement": INVOICES}, user="ben")
    assert r.status_code == 403  # ben neither owns the product nor manufacturing
    r = _api(fresh, "POST", f"/api/v1/products/{KPIS}/deprecate", json={"replacement": INVOICES})
    assert r.json()["status"] == "deprecated"
    assert _api(fresh, "GET", "/api/v1/domains/finance/producer", user="carla").json()["producer_view"] is False


def test_a_columns_impact_over_the_api_is_the_services_json(fresh: History, anna: Client) -> None:
    from threshold.products.producers import column_impact

    r = anna.get(f"/api/v1/datasets/{KPIS}/columns/day/impact")
    assert r.status_code == 200, r.text
    data = r.json()
    assert list(data) == ["dataset", "column", "people", "queries", "domains", "in_contract", "downstream"]
    assert (data["dataset"], data["column"], data["people"]) == (KPIS, "day", 5)
    assert data == column_impact(fresh.platform, KPIS, "day", viewer=fresh.people["anna"]).to_json()
    assert anna.get(f"/api/v1/datasets/{KPIS}/columns/nope/impact").status_code == 404
