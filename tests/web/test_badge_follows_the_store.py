"""What every page shows of the person and of what waits for them is kept between requests (the signed-in
person per store metadata version, the navigation's badge per the two versions of `Store.waiting_versions`):
a change shows on the very next page, never one later, and a restricted dataset counts for no outsider."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from threshold.governance import controls
from threshold.governance import requests as access
from threshold.identity.service import add_domain, add_user, get_person, join_domain, signed_in_person
from threshold.interface import home as personal_home
from threshold.products.owners import propose, proposed_to
from threshold.quality.incidents import report
from threshold.sharing.service import share

PLANT = "manufacturing.plant_kpis"
SALARIES = "hr.salaries"


def badge(browser: Any, path: str = "/datasets") -> int:
    """The number the navigation's badge shows on `path` (0 when it shows none)."""
    found = browser.page(path).find("nav").find_all(id="waiting-badge")
    return int(found[0].attrs["title"].split()[0]) if found else 0


@pytest.fixture
def browser_of(anonymous: Any, app: Any) -> Iterator[Any]:
    """Signs a new browser in as a person (the browsers are closed at the end)."""
    opened: list[Any] = []

    def sign_in(name: str) -> Any:
        b = type(anonymous)(app)
        assert b.sign_in(name, f"{name}-pass").status_code == 303
        opened.append(b)
        return b

    yield sign_in
    for b in opened:
        b.close()


@pytest.fixture
def hr(org: Any, tmp_path: Path) -> Any:
    """hr, owned by hanna, sharing hr.salaries (open until a test restricts it)."""
    add_domain(org.platform, "hr")
    add_user(org.platform, "hanna", password="hanna-pass")
    join_domain(org.platform, "hanna", "hr", "owner")
    hanna = get_person(org.platform, "hanna")
    csv = tmp_path / "salaries.csv"
    csv.write_text("person,salary\na,1\n", encoding="utf-8")
    share(org.platform, csv, domain="hr", user=hanna, purpose="payroll")
    return hanna


def test_a_new_request_incident_or_proposal_shows_on_the_very_next_page(org: Any, browser_of: Any) -> None:
    anna, ben = browser_of("anna"), browser_of("ben")
    assert (badge(anna), badge(ben)) == (0, 0)  # asked once: kept
    controls.set_visibility(org.platform, org.anna, PLANT, "on-request")
    assert badge(anna) == 0
    request = access.request_access(org.platform, org.carla, PLANT, purpose="sales forecast")
    assert badge(anna) == 1
    report(org.platform, org.carla, PLANT, description="scrap rate above 100% in Lyon")
    assert badge(anna, "/") == 2
    propose(org.platform, org.anna, PLANT, to="ben")
    assert (badge(anna), badge(ben)) == (2, 1)
    access.approve(org.platform, org.anna, request.id, reason="ok")
    assert badge(anna) == 1  # the answered request waits no more
    assert personal_home.waiting(org.platform, org.anna) == personal_home.Waiting(0, 1, 0)
    assert anna.get("/api/v1/home/waiting").json() == {"requests": 0, "incidents": 1, "proposals": 0, "total": 1}


def test_a_restricted_dataset_counts_for_no_outsider_from_the_next_page_on(org: Any, hr: Any, browser_of: Any) -> None:
    carla = browser_of("carla")
    propose(org.platform, hr, SALARIES, to="carla")  # open: carla may know it, and is asked to own it
    assert badge(carla) == 1 and "salaries" in carla.get("/datasets").text
    controls.set_visibility(org.platform, hr, SALARIES, "restricted")
    assert badge(carla) == 0  # the very next page: the dataset does not exist for her, in no count
    page = carla.get("/")
    assert "salaries" not in page.text
    assert personal_home.waiting(org.platform, org.carla) == personal_home.Waiting(0, 0, 0)
    assert proposed_to(org.platform, org.carla) == []
    # a request for it that waits for its owner counts for hanna only, whoever else decides grants elsewhere
    controls.set_visibility(org.platform, hr, SALARIES, "on-request")
    access.request_access(org.platform, org.ben, SALARIES, purpose="payroll check")
    controls.set_visibility(org.platform, hr, SALARIES, "restricted")
    hanna, anna = browser_of("hanna"), browser_of("anna")
    assert (badge(hanna), badge(anna), badge(carla)) == (1, 0, 0)


def test_the_signed_in_person_follows_a_change_of_membership_on_the_next_request(
    org: Any, hr: Any, browser_of: Any
) -> None:
    controls.set_visibility(org.platform, hr, SALARIES, "restricted")
    carla = browser_of("carla")
    assert carla.get(f"/datasets/{SALARIES}").status_code == 404
    join_domain(org.platform, "carla", "hr", "member")
    assert carla.get(f"/datasets/{SALARIES}").status_code == 200  # the very next request knows her new domain
    controls.set_visibility(org.platform, hr, SALARIES, "on-request")
    access.request_access(org.platform, org.ben, SALARIES, purpose="payroll check")
    assert badge(carla) == 0  # a member does not decide hr's grants
    join_domain(org.platform, "carla", "hr", "owner")
    assert badge(carla) == 1  # an owner does, from the next page on
    assert signed_in_person(org.platform, "carla").owner_of == ("hr",)


def test_without_the_versions_every_request_reads_the_store(org: Any) -> None:
    """A store whose versions cannot be read (before their migration) keeps nothing and still answers."""
    with org.platform.store.session() as s:
        from sqlalchemy import text

        s.execute(text("DELETE FROM metadata_version WHERE id = 2"))
    assert org.platform.store.waiting_versions() is None
    assert org.platform.store.metadata_version() is not None
    controls.set_visibility(org.platform, org.anna, PLANT, "on-request")
    assert personal_home.waiting(org.platform, org.anna).total == 0
    access.request_access(org.platform, org.carla, PLANT, purpose="sales forecast")
    assert personal_home.waiting(org.platform, org.anna) == personal_home.Waiting(1, 0, 0)
    assert getattr(org.platform, "_waiting_counts", None) is None


def test_the_waiting_version_moves_with_what_waits_and_not_with_usage(any_org: Any) -> None:
    """On SQLite and PostgreSQL (triggers deferred to the commit): the second number moves with a request,
    an incident and a proposal, the first with metadata; a query (usage) moves neither."""
    from threshold.gateway.service import query

    platform, store = any_org.platform, any_org.platform.store
    seen = [store.waiting_versions()]
    assert seen[0] is not None
    query(platform, f"SELECT plant FROM {PLANT}", user=any_org.ben, purpose="reporting")
    assert store.waiting_versions() == seen[-1]
    controls.set_visibility(platform, any_org.anna, PLANT, "on-request")  # metadata: the first number
    seen.append(store.waiting_versions())
    assert seen[-1][0] != seen[-2][0] and seen[-1][1] == seen[-2][1]  # type: ignore[index]
    request = access.request_access(platform, any_org.carla, PLANT, purpose="sales forecast")
    report(platform, any_org.carla, PLANT, description="scrap rate above 100% in Lyon")
    seen.append(store.waiting_versions())
    assert seen[-1][1] > seen[-2][1]  # type: ignore[index]
    access.deny(platform, any_org.anna, request.id, reason="not for forecasts")
    seen.append(store.waiting_versions())
    assert seen[-1][1] > seen[-2][1]  # type: ignore[index]
    assert personal_home.waiting(platform, any_org.anna) == personal_home.Waiting(0, 1, 0)


def test_an_api_token_follows_its_person_and_its_revocation_on_the_next_call(org: Any, hr: Any, app: Any) -> None:
    import asyncio

    import httpx

    from threshold.identity.service import create_token, revoke_token

    token_id, token = create_token(org.platform, "carla")

    async def me() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            return await c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})

    assert asyncio.run(me()).json()["domains"] == ["sales"]
    join_domain(org.platform, "carla", "hr", "member")
    assert asyncio.run(me()).json()["domains"] == ["hr", "sales"]
    revoke_token(org.platform, token_id, by=org.carla)
    refused = asyncio.run(me())
    assert (refused.status_code, refused.json()["detail"]) == (401, "invalid or revoked API token")
