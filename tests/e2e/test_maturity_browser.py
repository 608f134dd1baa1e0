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


# Every element that may be wider than a phone, with the scrolling box it sits in (null: the page itself).
_WIDE = """() => {
  const w = document.documentElement.clientWidth, out = [];
  for (const el of document.querySelectorAll('table, pre, textarea, svg, img, input, select')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= w + 1) continue;
    let box = el.parentElement;
    while (box && !['auto', 'scroll'].includes(getComputedStyle(box).overflowX)) box = box.parentElement;
    out.push({what: el.tagName.toLowerCase() + (el.id ? '#' + el.id : ''), scrolls: box !== null});
  }
  return out;
}"""


def test_maturity_glossary_learning_and_report_pages_fit_a_390_px_phone(live_server, chromium_page, org):
    """No page scrolls sideways on a phone: wide tables (the domains x dimensions grid) scroll in their own box,
    and nothing is cut off. Checked with the content that makes them wide: a snapshot, a changed target
    picture with its history, glossary terms in review and a draft, a cohort, every <details> opened."""
    from datetime import date, timedelta

    from threshold.glossary import service as glossary
    from threshold.identity.service import add_user, get_person
    from threshold.literacy import service as literacy
    from threshold.maturity import target
    from threshold.maturity.picture import default_document

    p = org.platform
    add_user(p, "gov", display_name="Gov", governance=True, password="gov-pass")
    gov = get_person(p, "gov")
    snapshots.take(p, gov)
    changed = default_document().replace("    default: [20, 40, 60, 80]\n", "    default: [15, 35, 55, 75]\n")
    target.set_picture(p, gov, changed, reason="the data council's first review: every level a little easier")
    long = "Share of produced units scrapped at the line, before any rework, " * 6
    glossary.propose(p, org.anna, "scrap rate", definition=long, domain="manufacturing", synonyms=["Ausschussquote"])
    glossary.propose(p, org.anna, "overall equipment effectiveness", definition=long, submit=False)
    literacy.create_cohort(p, org.admin, "Data in ten weeks, autumn", track="ten-weeks",
                           starts_on=date.today() - timedelta(days=24), members=["anna", "ben", "carla"])  # fmt: skip
    snapshots.take(p, gov)
    pages = (
        "/maturity",
        "/maturity/manufacturing",
        "/maturity/finance",
        "/target-picture",
        "/glossary",
        "/glossary/scrap%20rate",
        "/glossary/overall%20equipment%20effectiveness",
        "/learn",
        "/learn/cohorts/Data%20in%20ten%20weeks%2C%20autumn",
        "/me/report",
    )
    page = chromium_page
    page.set_viewport_size({"width": 390, "height": 844})
    wide, cut, scrolled = {}, {}, set()
    for who in ("gov", "anna"):
        page.context.clear_cookies()
        _sign_in(page, live_server, who)
        for path in pages:
            if who != "gov" and path.startswith("/learn/cohorts/"):
                continue  # organisers only
            response = page.goto(f"{live_server}{path}")
            assert response is not None and response.status == 200, (who, path)
            page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 390:
                wide[(who, path)] = width
            for el in page.evaluate(_WIDE):
                if el["scrolls"]:
                    scrolled.add((path, el["what"]))
                else:
                    cut[(who, path)] = el["what"]
    assert wide == {}, "pages wider than the phone (px)"
    assert cut == {}, "wide elements outside a scrolling box"
    assert ("/maturity", "table#maturity-grid") in scrolled  # the grid is wider than a phone: it scrolls in its box
