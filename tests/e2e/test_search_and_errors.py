"""In a real browser: search forgives a typo, a misspelt column gets a plain message with a suggestion,
and a refused read offers a request-access button that files the request."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from threshold.governance.controls import set_visibility
from threshold.store.models import AccessRequest

pytestmark = pytest.mark.browser

KPIS = "manufacturing.plant_kpis"


def _sign_in(page, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", f"{name}-pass")
    page.click("form[action='/login'] button[type=submit]")
    expect(page.locator(".person")).to_have_text(name.title())


def test_search_typo_column_suggestion_and_request_access(live_server, chromium_page, org):
    page = chromium_page
    _sign_in(page, live_server, "ben")

    # The search box in the navigation, with a typo: the dataset is found and says why.
    page.fill("form.nav-search input[name=q]", "scarp rates")
    page.press("form.nav-search input[name=q]", "Enter")
    first = page.locator("li.result").first
    expect(first.locator("a.dataset-link")).to_have_attribute("href", f"/datasets/{KPIS}")
    expect(first.locator(".why")).to_contain_text("“scrap” (for “scarp”)")

    # A misspelt column: plain words, where it is, what was meant; no engine jargon.
    page.goto(f"{live_server}/query")
    page.fill("textarea[name=sql]", f"SELECT plant,\n       avg(scrap_rte)\nFROM {KPIS}\nGROUP BY plant")
    page.click("#run")
    error = page.locator("#query-error")
    expect(error).to_contain_text("there is no column “scrap_rte” in what the query reads (line 2, column 12)")
    for jargon in ("Binder Error", "InvalidInput", "threshold "):
        expect(error).not_to_contain_text(jargon)
    expect(page.locator("#did-you-mean code")).to_have_text("scrap_rate")

    # A dataset shared on request: the refusal offers the browser's action, which files the request.
    set_visibility(org.platform, org.anna, KPIS, "on-request")
    page.fill("textarea[name=sql]", f"SELECT plant, avg(scrap_rate) FROM {KPIS} GROUP BY plant")
    page.fill("form#query-form input[name=purpose]", "energy cost forecast")
    page.click("#run")
    expect(page.locator("#query-error")).to_contain_text("shared on request")
    expect(page.locator("body")).not_to_contain_text("threshold request")
    button = page.locator("#request-access-button")
    expect(button).to_be_visible()
    expect(page.locator("#request-access-form input[name=purpose]")).to_have_value("energy cost forecast")
    button.click()
    expect(page).to_have_url(f"{live_server}/datasets/{KPIS}#request-access")
    expect(page.locator("#request-access .request-line")).to_contain_text("energy cost forecast")
    with org.platform.store.session() as s:
        filed = s.scalars(select(AccessRequest).where(AccessRequest.requester_id == org.ben.id)).all()
        assert [(r.purpose, r.status) for r in filed] == [("energy cost forecast", "pending")]

    # A misspelt dataset on its page: a link to the one meant, and to the catalog.
    page.goto(f"{live_server}/datasets/manufacturing.plant_kpi")
    expect(page.locator("#did-you-mean a.dataset-link")).to_have_attribute("href", f"/datasets/{KPIS}")
    expect(page.locator("a[href='/datasets']").last).to_be_visible()
