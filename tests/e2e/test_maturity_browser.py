"""In a real browser: Anna opens the maturity dashboard from the menu, drills into her domain and sees its
next step, the actions that would move it (naming its datasets) and the signals behind a score; then she
answers the self-assessment by keyboard-free clicks and sees the version recorded."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from threshold.maturity import snapshots

pytestmark = pytest.mark.browser


def _sign_in(page, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", f"{name}-pass")
    page.click("form[action='/login'] button[type=submit]")
    expect(page.locator(".person")).to_have_text(name.title())


def test_open_the_dashboard_drill_into_a_domain_and_see_its_next_step(live_server, chromium_page, org):
    snapshots.take(org.platform, org.admin)
    page = chromium_page
    _sign_in(page, live_server, "anna")
    page.click("nav >> text=Maturity")
    expect(page).to_have_url(f"{live_server}/maturity")
    expect(page.locator("#maturity-grid tr.domain")).to_have_count(3)
    expect(page.locator("tr.domain[data-domain=manufacturing] td[data-dimension=sharing]")).to_contain_text("/3")
    page.click("#maturity-grid >> text=manufacturing")
    expect(page).to_have_url(f"{live_server}/maturity/manufacturing")
    expect(page.locator("#next-step li.step").first).to_contain_text("→")
    expect(page.locator("#moves li.move[data-dimension=ownership]")).to_contain_text("manufacturing.plant_kpis")
    page.click("details.dimension[data-dimension=documentation] summary")
    expect(page.locator("details[data-dimension=documentation] tr.signal[data-signal=described]")).to_contain_text(
        "1 / 1"
    )
    page.select_option("select[name=q_owners_known]", "3")
    page.click("#assessment button[type=submit]")
    expect(page.locator("#assessment p.muted")).to_contain_text("1 · anna")
