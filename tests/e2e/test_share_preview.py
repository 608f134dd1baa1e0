"""Sharing a report as people make it, in Chromium on a phone-sized screen, with the keyboard: upload a
workbook with two title rows and a totals row, fix the header in the preview, publish, and check what
was stored."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from threshold.catalog.service import describe
from workbooks import xlsx

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
REPORT = [
    ["Plant KPI report"],
    ["Site", "Berlin, Lyon", "Period", "November 2026"],  # as wide as the table: taken for the header
    ["Plant", "Day", "Scrap Rate", "Energy kWh"],
    ["Berlin", date(2026, 11, 2), 0.12, 1520.5],
    ["Lyon", date(2026, 11, 2), 0.08, 980.25],
    ["Berlin", date(2026, 11, 3), 0.15, 1610.0],
    ["Lyon", date(2026, 11, 3), 0.11, 1010.0],
    ["Total", None, 0.46, 5120.75],
]


def _names(page) -> list[str]:
    return page.locator("input[name=col_name]").evaluate_all("inputs => inputs.map(i => i.value)")


def _fits_the_screen(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px screen"


def test_fix_the_header_in_the_preview_and_publish(live_server, chromium_page, tmp_path, org):
    page = chromium_page
    page.set_viewport_size(PHONE)
    book = xlsx(tmp_path / "kpi_report.xlsx", {"November": REPORT})

    page.goto(f"{live_server}/login?next=/share")
    page.fill("input[name=username]", "anna")
    page.fill("input[name=password]", "anna-pass")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/share")
    _fits_the_screen(page)

    page.set_input_files("#share-file", str(book))
    page.focus("#share-submit")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"{live_server}/share/preview/[0-9a-f]{{32}}$"))
    assert _names(page) == ["site_plant", "berlin_lyon_day", "period_scrap_rate", "november_2026_energy_kwh"]
    expect(page.locator("ul.skipped")).to_contain_text("a total: 'Total', the sum of the rows above")
    _fits_the_screen(page)

    # The header is row 3: type it and press Enter (the form's first button updates the preview).
    page.focus("#header-row")
    page.keyboard.type("3")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert _names(page) == ["plant", "day", "scrap_rate", "energy_kwh"]
    expect(page.locator("span.row-count")).to_have_text("4")
    expect(page.locator("ul.skipped li")).to_have_text(
        ["left out rows 1–2, above the table (titles)", "left out row 8, a total: 'Total', the sum of the rows above"]
    )
    expect(page.locator("table.preview tbody tr").first.locator("td")).to_have_text(
        ["Berlin", "2026-11-02", "0.12", "1520.5"]
    )
    _fits_the_screen(page)

    # Rename one column, describe the data, publish with the keyboard.
    page.fill("input[name=col_name] >> nth=3", "energy_kwh_day")
    page.fill("textarea[name=description]", "Scrap and energy per plant and day")
    page.select_option("select[name=visibility]", "on-request")
    page.focus("#publish")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/datasets/manufacturing.kpi_report")

    d = describe(org.platform, "manufacturing.kpi_report", viewer=org.anna)
    assert [(c.name, c.type) for c in d.schema] == [
        ("plant", "VARCHAR"),
        ("day", "DATE"),
        ("scrap_rate", "DOUBLE"),
        ("energy_kwh_day", "DOUBLE"),
    ]
    assert (d.rows, d.description, d.visibility) == (4, "Scrap and energy per plant and day", "on-request")
    assert list(org.platform.settings.previews_dir.iterdir()) == []


def test_cancel_a_preview(live_server, chromium_page, tmp_path, org):
    page = chromium_page
    book = xlsx(tmp_path / "kpi_report.xlsx", {"November": REPORT})
    page.goto(f"{live_server}/login?next=/share")
    page.fill("input[name=username]", "anna")
    page.fill("input[name=password]", "anna-pass")
    page.keyboard.press("Enter")
    page.set_input_files("#share-file", str(book))
    with page.expect_navigation():
        page.click("#share-submit")
    with page.expect_navigation():
        page.click("#preview-cancel")
    expect(page).to_have_url(f"{live_server}/share")
    assert list(org.platform.settings.previews_dir.iterdir()) == []
