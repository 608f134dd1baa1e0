"""A home per person: my datasets and who used them this week, what waits for me (with the navigation's
badge), my recent queries and insights, what my domain shares that nobody uses yet; page, twin and API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from threshold.gateway.service import query
from threshold.governance import controls
from threshold.governance import requests as access
from threshold.identity.service import add_domain, add_user, get_person
from threshold.interface import home as personal_home
from threshold.products.owners import propose
from threshold.quality.incidents import report
from threshold.sharing.service import share

PLANT = "manufacturing.plant_kpis"


@pytest.fixture
def carla(anonymous: Any, app: Any) -> Iterator[Any]:
    browser = type(anonymous)(app)
    assert browser.sign_in("carla", "carla-pass").status_code == 303
    yield browser
    browser.close()


def _ask(org: Any, who: Any, n: int = 1) -> None:
    for _ in range(n):
        query(org.platform, f"SELECT plant FROM {PLANT}", user=who, purpose="reporting", interface="web")


def test_my_datasets_say_who_used_them_this_week(org: Any) -> None:
    _ask(org, org.ben, 2)
    _ask(org, org.carla)
    home = personal_home.home(org.platform, org.anna)
    [mine] = home.my_datasets
    assert (mine.dataset, mine.queries_this_week, mine.people_this_week) == (PLANT, 3, 2)
    assert [(c.user, c.queries) for c in mine.consumers] == [("ben", 2), ("carla", 1)]
    assert personal_home.home(org.platform, org.ben).my_datasets == []  # ben shared nothing


def test_unused_in_my_domains_lists_what_nobody_queried(org: Any, tmp_path: Any) -> None:
    csv = tmp_path / "scrap_reasons.csv"
    csv.write_text("code,reason\n1,burr\n2,crack\n", encoding="utf-8")
    share(org.platform, csv, domain="manufacturing", user=org.anna, purpose="quality")
    _ask(org, org.ben)
    unused = personal_home.home(org.platform, org.anna).unused_in_my_domains
    assert [u.dataset for u in unused] == ["manufacturing.scrap_reasons"]
    assert personal_home.home(org.platform, org.carla).unused_in_my_domains == []  # sales shares nothing


def test_requests_incidents_and_proposals_wait_for_the_right_person(org: Any) -> None:
    controls.set_visibility(org.platform, org.anna, PLANT, "on-request")
    access.request_access(org.platform, org.carla, PLANT, purpose="sales forecast")
    incident = report(org.platform, org.carla, PLANT, description="scrap rate above 100% in Lyon")
    assert personal_home.waiting(org.platform, org.anna) == personal_home.Waiting(1, 1, 0)
    propose(org.platform, org.anna, PLANT, to="ben")
    ben = personal_home.home(org.platform, org.ben)
    assert [p["dataset"] for p in ben.proposals] == [PLANT] and ben.proposals[0]["proposed_by"] == "anna"
    assert ben.waiting_count == 1 and personal_home.waiting(org.platform, org.ben).total == 1
    anna = personal_home.home(org.platform, org.anna)
    assert [r["requester"] for r in anna.requests] == ["carla"]
    assert [i["id"] for i in anna.incidents] == [incident]
    assert anna.waiting_count == 2
    assert personal_home.waiting(org.platform, org.carla).total == 0  # carla waits for others


def test_an_outsider_never_learns_of_a_restricted_dataset(org: Any, tmp_path: Any) -> None:
    add_domain(org.platform, "hr")
    add_user(org.platform, "hanna", password="hanna-pass", domains=("hr",))
    hanna = get_person(org.platform, "hanna")
    csv = tmp_path / "salaries.csv"
    csv.write_text("person,salary\na,1\n", encoding="utf-8")
    share(org.platform, csv, domain="hr", user=hanna, purpose="payroll")
    controls.set_visibility(org.platform, get_person(org.platform, "admin"), "hr.salaries", "restricted")
    query(org.platform, "SELECT salary FROM hr.salaries", user=hanna, purpose="payroll", interface="web")
    text = repr(personal_home.home(org.platform, org.anna))
    assert "salaries" not in text
    assert "hr.salaries" in repr(personal_home.home(org.platform, hanna).my_datasets)


def test_home_page_and_twin_show_the_same_parts(anna: Any, carla: Any, org: Any) -> None:
    _ask(org, org.carla)
    controls.set_visibility(org.platform, org.anna, PLANT, "on-request")
    access.request_access(org.platform, org.carla, PLANT, purpose="sales forecast")
    page = anna.page("/")
    assert page.find("h1").text() == "Hello, Anna"
    rows = page.find("section", id="my-datasets").find("table").table_rows()
    assert rows == [[PLANT, "1", "carla (1)"]]
    waiting = page.find("section", id="waiting").find_all("li", class_="waiting-request")
    assert [li.find("a").text() for li in waiting] == [f"carla asks for {PLANT}"]
    badge = page.find("nav").find(id="waiting-badge")
    assert (badge.attrs["title"], badge.text().replace(" ", "")) == ("1 waiting for you", "(1waitingforyou)")
    twin = anna.get("/index.json").json()
    assert twin["waiting_count"] == 1 and twin["my_datasets"][0]["consumers"] == [{"user": "carla", "queries": 1}]
    recent = carla.page("/").find("section", id="my-recent-queries").find_all("code")
    assert [c.text() for c in recent] == [f"SELECT plant FROM {PLANT}"]
    assert not carla.page("/datasets").find_all(id="waiting-badge")  # nothing waits for carla


@pytest.mark.parametrize("path", ["/api/v1/home", "/api/v1/home/waiting"])
def test_api_answers_the_home(org: Any, app: Any, path: str) -> None:
    import asyncio

    import httpx

    from threshold.identity.service import create_token

    controls.set_visibility(org.platform, org.anna, PLANT, "on-request")
    access.request_access(org.platform, org.carla, PLANT, purpose="sales forecast")
    _, token = create_token(org.platform, "anna")

    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            return await c.get(path, headers={"Authorization": f"Bearer {token}"})

    r = asyncio.run(get())
    assert r.status_code == 200
    body = r.json()
    if path.endswith("waiting"):
        assert body == {"requests": 1, "incidents": 0, "proposals": 0, "total": 1}
    else:
        assert body["waiting_count"] == 1 and body["requests"][0]["requester"] == "carla"


def test_a_home_that_is_not_the_demo_lists_no_one_on_its_login_page(anonymous: Any, org: Any) -> None:
    page = anonymous.page("/login")
    assert not page.find_all(id="demo-people")
    assert "anna" not in page.text()
