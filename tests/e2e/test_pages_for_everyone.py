"""Pages for everyone, in Chromium: the home's badge, a governance form with its preview and words report, a
phone's 390 px screen, keyboard only, and axe-core on the main pages (no serious or critical violation).

The phone, keyboard and axe tests only sign in and look: they share one served home (`module_live_server`);
the tests that change the home (a request, a policy, a language) each get a copy of their own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from threshold.governance import controls
from threshold.governance import requests as access

pytestmark = pytest.mark.browser

PLANT = "manufacturing.plant_kpis"
MAIN_PAGES = (
    "/",
    "/datasets",
    f"/datasets/{PLANT}",
    "/query",
    "/share",
    "/insights",
    "/me",
    "/inbox",
    "/governance",
    "/governance/domains/manufacturing",
    "/learn",
    "/me/report",
)


def _page(browser: Any, width: int = 1280, height: int = 800, init_script: str = "", **options: Any) -> Any:
    """A page in a new context; `init_script` runs in every document the context opens, before the page's own."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def _sign_in(page: Any, base: str, user: str = "anna") -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", f"{user}-pass")
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")


def test_home_badge_counts_what_waits_and_links_to_it(live_server: str, browser: Any, org: Any) -> None:
    controls.set_visibility(org.platform, org.anna, PLANT, "on-request")
    access.request_access(org.platform, org.carla, PLANT, purpose="sales forecast")
    page = _page(browser)
    _sign_in(page, live_server)
    page.goto(f"{live_server}/datasets")  # the badge is on every page
    expect(page.locator("#waiting-badge")).to_have_attribute("title", "1 waiting for you")
    page.click("nav a[href='/']")
    expect(page.locator("#waiting li.waiting-request a")).to_have_text(f"carla asks for {PLANT}")
    page.click("#waiting li.waiting-request a")
    expect(page.locator("article.request .request-purpose")).to_have_text("sales forecast")


def test_a_governance_form_previews_the_change_then_reports_it_in_words(live_server: str, browser: Any) -> None:
    page = _page(browser)
    _sign_in(page, live_server)
    page.goto(f"{live_server}/governance/domains/manufacturing")
    form = page.locator("#form-dataset form")
    form.get_by_label("Visibility").select_option("on-request")
    form.get_by_label("Allowed purposes").fill("reporting")
    with page.expect_navigation():
        form.get_by_role("button", name="Preview the change").click()
    expect(page.locator("#change li").first).to_have_text(
        f"{PLANT} would be made on-request (it was open (the domain's default))."
    )
    page.get_by_label("Why").fill("customers ask first")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply the change").click()
    expect(page.locator("#policy-message")).to_have_text(
        f"Applied policies of manufacturing. {PLANT} was made on-request (it was open (the domain's default)). "
        f"{PLANT} is readable for the purposes reporting (it was any purpose)."
    )


def test_main_pages_fit_a_390_px_phone_and_the_menu_collapses(module_live_server: str, browser: Any) -> None:
    live_server = module_live_server
    page = _page(browser, 390, 844)
    page.goto(f"{live_server}/login")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _sign_in(page, live_server)
    wide = {}
    for path in MAIN_PAGES:
        page.goto(f"{live_server}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            wide[path] = width
    assert wide == {}, "pages wider than the phone (px)"
    page.goto(f"{live_server}/")
    expect(page.locator("nav.nav")).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(page.locator("nav.nav a[href='/query']")).to_be_visible()
    expect(page.get_by_role("button", name="Menu")).to_have_attribute("aria-expanded", "true")


def test_keyboard_only_skip_link_visible_focus_and_labelled_forms(module_live_server: str, browser: Any) -> None:
    live_server = module_live_server
    page = _page(browser)
    _sign_in(page, live_server)
    page.goto(f"{live_server}/governance/domains/manufacturing")
    page.keyboard.press("Tab")
    focused = page.evaluate("[document.activeElement.className, document.activeElement.textContent]")
    assert focused == ["skip-link", "Skip to content"]
    assert page.evaluate("document.activeElement.getBoundingClientRect().top") > 0  # shown when focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # Tab on through the page: every focused control shows an outline.
    for _ in range(6):
        page.keyboard.press("Tab")
        style = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert style != "none", page.evaluate("document.activeElement.outerHTML")
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('main input:not([type=hidden]), main select, main textarea')]
             .filter(e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.name)"""
    )
    assert unlabelled == []


def _axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


# axe.run with only the rules that can report a serious or critical violation. axe gives a violation its
# rule's impact when the rule declares one, else the highest impact of its failing checks (axe's own
# metadata, `axe._audit`): a rule whose possible impacts are all minor or moderate cannot fail the test, so
# it is switched off (half of axe's time on these pages); a rule whose impact is unknown still runs.
# Returns the violations and the rules switched off.
AXE_SERIOUS = """async () => {
  const checks = axe._audit.data.checks || {};
  const impacts = rule => rule.impact ? [rule.impact]
    : [...rule.any, ...rule.all, ...rule.none].map(c => (checks[typeof c === 'string' ? c : c.id] || {}).impact);
  const off = {};
  for (const rule of axe._audit.rules)
    if (impacts(rule).every(i => i === 'minor' || i === 'moderate')) off[rule.id] = {enabled: false};
  const result = await axe.run(document, {resultTypes: ['violations'], rules: off});
  return {violations: result.violations, off: Object.keys(off)};
}"""


# A page that breaks many rules of every impact: where the rules left out by `AXE_SERIOUS` are shown to hide
# no serious or critical violation that axe's full run finds.
BROKEN = """<html><head><title></title><meta name="viewport" content="user-scalable=no, maximum-scale=1"></head><body>
<p style="color:#aaa;background:#bbb">low contrast</p><input type="text"><button></button><img src="x.png">
<a href="/x"></a><div role="button"></div><select><option>a</option></select><div aria-hidden="true"><a href="/y">
focus</a></div><table><tr><th></th><td>1</td></tr></table><h3>skipped levels</h3><ul><div>not an item</div></ul>
<div role="listbox"><span>x</span></div><iframe src="about:blank"></iframe><span aria-foo="1">z</span>
<div role="nonsense">r</div><label for="a">A</label><input id="a"><input id="a"><svg role="img"></svg>
<object data="x"></object><marquee>m</marquee><blink>b</blink><dl><span>t</span></dl><input type="image" src="i.png">
<div tabindex="5">t</div><p lang="xx">lang</p></body></html>"""


def _serious(violations: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((v["id"], v["impact"]) for v in violations if v["impact"] in ("serious", "critical"))


def test_no_serious_or_critical_accessibility_violation_on_main_pages(module_live_server: str, browser: Any) -> None:
    live_server = module_live_server
    # The pages allow only their own scripts: axe is injected by the test, sent once for every page.
    page = _page(browser, init_script=_axe_source(), bypass_csp=True)
    page.set_content(BROKEN)
    every_rule = page.evaluate("axe.run(document, {resultTypes: ['violations']})")["violations"]
    serious_rules = page.evaluate(AXE_SERIOUS)
    assert len(_serious(every_rule)) >= 20
    assert _serious(serious_rules["violations"]) == _serious(every_rule), "a rule left out hides a violation"
    found: dict[str, list[str]] = {}

    def check(path: str) -> None:
        page.goto(f"{live_server}{path}")
        result = page.evaluate(AXE_SERIOUS)
        bad = [
            f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        if bad:
            found[path] = bad

    check("/login")
    _sign_in(page, live_server)
    for path in MAIN_PAGES:
        check(path)
    assert found == {}


# Each main page's heading (or, on a dataset's page, a section heading) once the person chose German.
GERMAN_HEADINGS = {
    "/": "Hallo, Anna",
    "/datasets": "Alle Datensätze",
    f"/datasets/{PLANT}": "Spalten",
    "/query": "Abfrage",
    "/explore": "Erkunden",
    "/share": "Daten teilen",
    "/insights": "Erkenntnisse",
    "/glossary": "Glossar",
    "/consumption": "Nutzung",
    "/candidates": "Kandidaten für Datenprodukte",
    "/products": "Datenprodukte",
    "/me": "Meine Aktivität",
    "/inbox": "Eingang",
    "/governance": "Governance",
    "/governance/domains/manufacturing": "Richtlinien von manufacturing",
    "/lineage": "Herkunft",
}


def test_a_person_who_chooses_german_reads_every_main_page_in_german(live_server: str, browser: Any) -> None:
    page = _page(browser)
    _sign_in(page, live_server)
    page.goto(f"{live_server}/me")
    page.select_option("#language", "de")
    with page.expect_navigation():
        page.click("#language-form button[type=submit]")
    assert page.locator("html").get_attribute("lang") == "de"
    expect(page.locator("nav.nav a[href='/']")).to_contain_text("Start")
    wrong = {}
    for path, heading in GERMAN_HEADINGS.items():
        page.goto(f"{live_server}{path}")
        shown = page.locator("h1, h2").all_inner_texts()
        if not any(heading in h for h in shown):
            wrong[path] = shown[:3]
    assert wrong == {}, "pages without their German heading"
    # English text left on the pages shows up as common English words in the main text.
    page.goto(f"{live_server}/datasets")
    meta = page.locator(".result .meta").first.inner_text()
    assert "Zeilen" in meta and "Spalten" in meta and "rows" not in meta
    page.goto(f"{live_server}/share")
    assert page.get_by_role("button", name="Hochladen und Vorschau").count() == 1
    # Back to English: the person's choice, not the browser's, decides.
    page.goto(f"{live_server}/me")
    page.select_option("#language", "en")
    with page.expect_navigation():
        page.click("#language-form button[type=submit]")
    page.goto(f"{live_server}/datasets")
    expect(page.locator("h1")).to_have_text("All datasets")
