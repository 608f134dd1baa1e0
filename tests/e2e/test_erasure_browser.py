"""In a real browser: Greta (the governance group) asks for a person's erasure, reads the plan, confirms it
and reads the certificate; the request page fits a 390 px screen and is reachable from the menu."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from erasure.test_erasure import ADA, _build

pytestmark = pytest.mark.browser


def test_request_plan_confirm_and_read_the_certificate(live_server, chromium_page, org, tmp_path):
    _build(org, tmp_path)
    page = chromium_page
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", "greta")
    page.fill("input[name=password]", "greta-pass")
    page.click("form[action='/login'] button[type=submit]")
    page.click("nav >> text=Erasure")
    expect(page).to_have_url(f"{live_server}/erasure")
    page.fill("#erasure-subjects", f"personal.email={ADA}")
    page.fill("#erasure-reason", "DSR-2026-117")
    page.click("form[action='/erasure/plan'] button[type=submit]")
    expect(page.locator("#plan-rows")).to_have_text("21")
    expect(page.locator("tr.plan-item[data-dataset='finance.orders'] td").nth(3)).to_have_text("9")
    page.click("#confirm-erasure")
    expect(page.locator("#certificate-status")).to_have_text("completed")
    expect(page.locator("tr.erased")).to_have_count(3)
    expect(page.locator("#verification li").first).to_contain_text("data files")

    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{live_server}/erasure")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.locator("tr.certificate")).to_have_count(1)
