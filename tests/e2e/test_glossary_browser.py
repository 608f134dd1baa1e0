"""In a real browser: Carla proposes a term, Anna (an owner of its domain) reviews it with the change shown
word by word and approves it, and the term appears on the dataset it names; Carla cannot review her own."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from threshold.glossary import service

pytestmark = pytest.mark.browser

SCRAP = "Share of produced units discarded per plant and day."


def _sign_in(page, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", f"{name}-pass")
    page.click("form[action='/login'] button[type=submit]")
    expect(page.locator(".person")).to_have_text(name.title())


def test_propose_review_approve_and_see_it_on_the_dataset(live_server, chromium_page, org):
    page = chromium_page
    _sign_in(page, live_server, "carla")
    page.click("nav >> text=Glossary")
    page.fill("#propose input[name=term]", "Scrap rate")
    page.fill("#propose input[name=domain]", "manufacturing")
    page.fill("#propose textarea[name=definition]", SCRAP)
    page.fill("#propose input[name=synonyms]", "Ausschussquote")
    page.click("#propose button[type=submit]")
    expect(page).to_have_url(f"{live_server}/glossary/scrap%20rate")
    expect(page.locator("#pending h2")).to_contain_text("in review")
    expect(page.locator("#review-form")).to_have_count(0)  # not her own

    page.click("form[action='/logout'] button")
    _sign_in(page, live_server, "anna")
    page.goto(f"{live_server}/glossary")
    page.click("#review-queue >> text=Scrap rate")
    expect(page.locator(".change[data-field=definition] ins")).to_have_text(SCRAP)
    page.fill("#review-form input[name=note]", "matches the plant handbook")
    page.click("#review-form button[value=approve]")
    expect(page.locator("h1 .badge")).to_have_text("approved")
    expect(page.locator("#definition")).to_have_text(SCRAP)

    service.link(org.platform, org.anna, "scrap rate", "column:manufacturing.plant_kpis.scrap_rate")
    page.goto(f"{live_server}/datasets/manufacturing.plant_kpis")
    page.click("#terms >> text=Scrap rate")
    expect(page).to_have_url(f"{live_server}/glossary/scrap%20rate")
