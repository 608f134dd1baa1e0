"""A person in a real browser: sign in, share a CSV with the upload form and its preview, query it, see the usage."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# Sent as `progress` events of the upload; kept in sessionStorage (the page moves on to the preview) so the
# test can see the bar moved.
RECORD_PROGRESS = """
document.addEventListener("DOMContentLoaded", () => {
  const text = document.getElementById("share-progress-text");
  if (!text) return;
  new MutationObserver(() => {
    const seen = JSON.parse(sessionStorage.getItem("progress") || "[]");
    seen.push(text.textContent);
    sessionStorage.setItem("progress", JSON.stringify(seen));
  }).observe(text, {childList: true});
});
"""


def _machine_hours_csv(path, rows: int = 40_000):
    lines = ["Machine,Operator E-Mail,Hours,Day"]
    for i in range(rows):
        lines.append(f"M{i % 7},op{i % 5}@example.com,{(i % 13) + 0.5},2026-02-{(i % 28) + 1:02d}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_share_query_and_see_usage_in_the_browser(live_server, chromium_page, tmp_path):
    page = chromium_page
    page.add_init_script(RECORD_PROGRESS)
    upload = _machine_hours_csv(tmp_path / "machine_hours.csv")

    # Sign in; the login page sends us back to the page we asked for.
    page.goto(f"{live_server}/share")
    expect(page).to_have_url(f"{live_server}/login?next=/share")
    page.fill("input[name=username]", "anna")
    page.fill("input[name=password]", "anna-pass")
    page.click("form[action='/login'] button[type=submit]")
    expect(page).to_have_url(f"{live_server}/share")
    expect(page.locator(".person")).to_have_text("Anna")

    # Upload through the form: the file chooser and the progress bar, then the preview of what it becomes.
    with page.expect_file_chooser() as chooser:
        page.click("#share-file")
    chooser.value.set_files(str(upload))
    with page.expect_navigation():
        page.click("#share-submit")
    progress = page.evaluate("JSON.parse(sessionStorage.getItem('progress') || '[]')")
    assert any(t.startswith("Uploading") for t in progress), progress
    expect(page).to_have_url(re.compile(f"{live_server}/share/preview/[0-9a-f]{{32}}$"))
    expect(page.locator("table.preview thead .badge-sensitive")).to_have_text("personal.email")
    expect(page.locator("section.preview-table .meta")).to_contain_text("rows are counted when shared")  # over 1 MB

    # Describe it and publish: the dataset page follows.
    page.fill("textarea[name=description]", "Machine hours per day")
    page.fill("input[name=purpose]", "maintenance planning")
    page.click("#publish")
    expect(page).to_have_url(f"{live_server}/datasets/manufacturing.machine_hours")

    # Ask a question on the page's query form and read the answer in the table.
    page.click("nav a[href='/query']")
    page.fill(
        "textarea[name=sql]",
        "SELECT machine, count(*) AS days\nFROM manufacturing.machine_hours\nGROUP BY machine ORDER BY machine LIMIT 3",
    )
    page.fill("input[name=purpose]", "maintenance planning")
    page.click("#run")
    table = page.locator("#result table")
    expect(table).to_be_visible()
    expect(page.locator("#result-summary")).to_contain_text("3 rows")
    cells = table.locator("tbody tr").first.locator("td")
    expect(cells).to_have_text(["M0", "5715"])

    # The dataset page shows the query and who ran it.
    page.click("#result-summary a.dataset-link")
    expect(page).to_have_url(f"{live_server}/datasets/manufacturing.machine_hours")
    assert int(page.locator("#usage-queries").inner_text()) >= 1
    expect(page.locator("#usage-users li").first).to_contain_text("anna")
    expect(page.locator("#col-operator_e_mail .badge")).to_have_text("personal.email")


def test_share_error_is_shown_as_one_line(live_server, chromium_page, tmp_path):
    page = chromium_page
    bad = tmp_path / "empty.csv"
    bad.write_bytes(b"")
    page.goto(f"{live_server}/login?next=/share")
    page.fill("input[name=username]", "anna")
    page.fill("input[name=password]", "anna-pass")
    page.click("form[action='/login'] button[type=submit]")
    page.set_input_files("#share-file", str(bad))
    page.click("#share-submit")
    error = page.locator("#share-error")
    expect(error).to_be_visible()
    assert error.inner_text().strip() and "\n" not in error.inner_text().strip()
    expect(page.locator("#share-progress")).to_be_hidden()
