"""In a real browser: Carla runs her first query on the query page, and her learning path shows the task
ticked, with when and by which action, and points her to what to try next."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

KPIS = "manufacturing.plant_kpis"


def _sign_in(page, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", f"{name}-pass")
    page.click("form[action='/login'] button[type=submit]")
    expect(page.locator(".person")).to_have_text(name.title())


def test_a_first_query_is_ticked_on_the_learning_page(live_server, chromium_page, org):
    page = chromium_page
    _sign_in(page, live_server, "carla")
    page.click("nav >> text=Learning")
    first = page.locator(".task[data-task=first-query]")
    expect(first.locator(".badge")).to_have_text("to do")
    first.locator("a").click()
    expect(page).to_have_url(f"{live_server}/query")
    page.fill("textarea[name=sql]", f"SELECT plant, avg(scrap_rate) FROM {KPIS} GROUP BY plant")
    page.click("#run")
    expect(page.locator("table").first).to_contain_text("Berlin")
    page.click("nav >> text=Learning")
    expect(first.locator(".badge")).to_have_text("done")
    expect(first).to_contain_text("query done")
    expect(first).to_contain_text(KPIS)
    expect(page.locator("#next-task")).to_contain_text("Find a dataset by a business word")
