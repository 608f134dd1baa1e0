"""In real Chromium: build a question by clicking (no SQL typed), see the chart, save it as an insight
with a parameter, open it as a person from another domain and see masked values, fork it, export PPTX
and XLSX and check them with python-pptx and openpyxl (chart there, masked values still masked).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from pptx import Presentation

pytestmark = pytest.mark.browser
KPIS = "manufacturing.plant_kpis"
RAW_MAILS = ("anna.schmidt@example.com", "max.mueller@example.de")


def _sign_in(page: Any, server: str, user: str) -> None:
    page.goto(f"{server}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", f"{user}-pass")
    page.click("form[action='/login'] button[type=submit]")
    expect(page.locator(".person")).to_have_text(user.title())


def test_explore_save_share_fork_and_export_in_the_browser(
    live_server: str, chromium_page: Any, tmp_path: Path
) -> None:
    page = chromium_page
    _sign_in(page, live_server, "anna")

    # From the dataset page to Explore; the column browser lists the columns.
    page.goto(f"{live_server}/datasets/{KPIS}")
    page.click("#explore-link")
    expect(page.locator("#column-browser")).to_contain_text("energy_kwh")

    # Clicks only: group by plant and operator mail, total energy, plant is Berlin.
    page.check("input[data-group=plant]")
    page.check("input[data-group=e_mail]")
    page.select_option("#agg-1", "sum:energy_kwh")
    page.click("#filters summary")
    page.select_option("#filter-plant", "Berlin")
    page.click("#explore-run")
    expect(page.locator("#chart svg")).to_be_visible()
    expect(page.locator("#generated-sql")).to_contain_text("SUM(t.energy_kwh)")
    expect(page.locator("#result-table tbody tr")).to_have_count(2)
    expect(page.locator("#result-table")).to_contain_text("anna.schmidt@example.com")

    # Save it as an insight; readers may choose the plant.
    page.fill("#insight-title", "Energy by operator")
    page.fill("#insight-narrative", "Berlin's two operators use **most** of the energy.")
    page.check("input[data-param=plant]")
    page.click("#insight-save")
    expect(page.locator("#insight-title")).to_have_text("Energy by operator")
    expect(page.locator("#narrative strong")).to_have_text("most")
    link = page.locator("#share-link").get_attribute("href")
    assert link and link.startswith("/insights/")

    # Ben (finance) opens the shared link: the operators' mails are masked for him; he picks Lyon.
    page.context.clear_cookies()
    _sign_in(page, live_server, "ben")
    page.goto(f"{live_server}{link}")
    expect(page.locator("#result-table")).to_contain_text("***")
    for mail in RAW_MAILS:
        expect(page.locator("body")).not_to_contain_text(mail)
    expect(page.locator("#chart svg")).to_be_visible()
    page.select_option("#param-plant", "Lyon")
    page.click("#param-apply")
    expect(page.locator("#result-table tbody tr").first).to_contain_text("Lyon")

    # Exports, computed as Ben: the chart is there, the mails stay masked.
    with page.expect_download() as got:
        page.click("#export-pptx")
    deck_path = tmp_path / "insight.pptx"
    got.value.save_as(deck_path)
    slide = Presentation(str(deck_path)).slides[0]
    assert any(shape.shape_type == 13 for shape in slide.shapes)  # the chart, as a picture
    notes = slide.notes_slide.notes_text_frame.text
    assert "guardrail.personal-data" in notes and "Lyon" in notes
    with page.expect_download() as got:
        page.click("#export-xlsx")
    book_path = tmp_path / "insight.xlsx"
    got.value.save_as(book_path)
    sheet = load_workbook(book_path)["Energy by operator"]
    assert {row[1] for row in list(sheet.values)[1:]} == {"***"}
    assert len(sheet._charts) == 1
    for path in (deck_path, book_path):
        assert not any(m.encode() in path.read_bytes() for m in RAW_MAILS)

    # Fork: Ben's own copy, which says where it came from.
    page.click("#action-fork")
    expect(page.locator("#insight-meta")).to_contain_text("forked from")
    expect(page.locator("#insight-meta")).to_contain_text("owner ben")
