"""A person in a real browser: sign in, share a CSV with the upload form, query it, see the usage."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# Sent as `progress` events of the upload; recorded so the test can see the bar moved.
RECORD_PROGRESS = """
window.__progress = [];
document.addEventListener("DOMContentLoaded", () => {
  const text = document.getElementById("share-progress-text");
  if (!text) return;
  new MutationObserver(() => window.__progress.push(text.textContent)).observe(text, {childList: true});
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

    # Share through the form: the file chooser, the progress bar, then the result.
    with page.expect_file_chooser() as chooser:
        page.click("#share-file")
    chooser.value.set_files(str(upload))
    page.fill("textarea[name=description]", "Machine hours per day")
    page.fill("input[name=purpose]", "maintenance planning")
    page.click("#share-submit")
    expect(page.locator("#share-progress")).to_be_visible()
    result = page.locator("#share-results .share-result")
    expect(result).to_have_count(1)
    expect(page.locator("#share-progress-text")).to_have_text("Shared.")
    expect(result.locator("a.dataset-link")).to_have_attribute("href", "/datasets/manufacturing.machine_hours")
    expect(result).to_contain_text("40,000 rows added")
    expect(result.locator(".badge-sensitive")).to_have_text("personal.email")
    assert page.locator("#share-progress-bar").evaluate("bar => bar.value") == 100
    progress = page.evaluate("window.__progress")
    assert any(t.startswith("Uploading") for t in progress), progress
    expect(page.locator("#share-error")).to_be_hidden()

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
