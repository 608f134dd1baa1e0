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
    assert [p.dataset for p in ben.proposals] == [PLANT] and ben.proposals[0].proposed_by == "anna"
    assert ben.waiting_count == 1 and personal_home.waiting(org.platform, org.ben).total == 1
    anna = personal_home.home(org.platform, org.anna)
    assert [r.requester for r in anna.requests] == ["carla"]
    assert [i.id for i in anna.incidents] == [incident]
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


def test_a_person_chooses_german_and_the_pages_speak_it(anna: Any, anonymous: Any, org: Any) -> None:
    _ask(org, org.ben, 2)
    form = anna.page("/me").find("form", id="language-form").form_values()
    assert form["language"] == "en"
    assert anna.post("/me/language", data=form | {"language": "de"}).status_code == 303
    page = anna.page("/")
    assert page.find("html").attrs["lang"] == "de"
    assert page.find("h1").text() == "Hallo, Anna"
    assert page.find("a", class_="skip-link").text() == "Zum Inhalt springen"
    assert [a.text() for a in page.find("nav").find_all("a")][:2] == ["Start", "Teilen"]
    assert page.find("section", id="my-datasets").find("table").table_rows() == [[PLANT, "2", "ben (2)"]]
    assert page.find("section", id="most-used").find("table").table_rows()[0][3] == "gerade eben"
    # Kept with the person: a new session speaks German too; other people keep English.
    again = type(anonymous)(anonymous._client._transport.app)
    again.sign_in("anna", "anna-pass")
    assert again.page("/").find("h1").text() == "Hallo, Anna"
    again.close()
    assert anonymous.page("/login").find("h1").text() == "Sign in"
    german_browser = anonymous.get("/login", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert anonymous.parse(german_browser.text).find("h1").text() == "Anmelden"  # before sign-in: the browser's
    assert anna.post("/me/language", data=form | {"language": "fr"}).status_code == 422


def test_numbers_and_dates_in_the_locale() -> None:
    from datetime import UTC, datetime

    from threshold.web import i18n

    assert (i18n.number(1234567, "de"), i18n.number(1234.5, "de")) == ("1.234.567", "1.234,5")
    assert i18n.number(1234.5, "en") == "1,234.5"
    assert i18n.date(datetime(2026, 3, 1, tzinfo=UTC), "de") == "01.03.2026"
    assert i18n.best_match("de-DE,de;q=0.9,en;q=0.8") == "de" and i18n.best_match("fr-FR") == "en"


def test_the_pages_filters_format_in_the_readers_locale() -> None:
    from threshold.web.templating import environment

    shown = environment.from_string(
        "{{ 0.125 | percent }}|{{ 1536 | human_bytes }}|{{ 1234567 | number }}|{{ 0.0004 | percent }}|"
        "{{ '2026-03-01T10:00:00+00:00' | day }}"
    )
    assert shown.render(lang="de").split("|") == ["12,5\u00a0%", "1,5 KB", "1.234.567", "&lt;0,1\u00a0%", "01.03.2026"]
    assert shown.render(lang="en").split("|") == ["12.5%", "1.5 KB", "1,234,567", "&lt;0.1%", "Mar 1, 2026"]
