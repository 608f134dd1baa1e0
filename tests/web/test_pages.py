"""The web UI, in-process: pages and their JSON twins, forms, downloads, sign-in and CSRF."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from threshold.gateway.service import query as gateway_query
from threshold.store.models import AuditEntry, UsageEvent
from threshold.usage.service import dataset_usage

PLANT = "manufacturing.plant_kpis"


# --- signing in ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/datasets?q=scrap", f"/datasets/{PLANT}", "/share", "/query", "/me"])
def test_pages_without_session_redirect_to_login(anonymous, path):
    r = anonymous.get(path)
    assert r.status_code == 303
    target = urlsplit(r.headers["location"])
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == [path]


@pytest.mark.parametrize("path", ["/index.json", f"/datasets/{PLANT}.json", "/me.json"])
def test_json_twins_without_session_answer_401(anonymous, path):
    r = anonymous.get(path)
    assert r.status_code == 401
    assert "sign in" in r.json()["detail"]


def test_sign_in_returns_to_the_page_asked_for(anonymous):
    r = anonymous.sign_in("anna", "anna-pass", next="/me")
    assert (r.status_code, r.headers["location"]) == (303, "/me")
    assert anonymous.page("/me").find("span", class_="person").text() == "Anna"


def test_wrong_password_shows_the_form_again_with_401(anonymous):
    r = anonymous.sign_in("anna", "not-her-password")
    assert r.status_code == 401
    page = anonymous.parse(r.text)
    assert page.find(class_="alert").text() == "wrong user name or password"
    assert page.find("form", action="/login").find("input", name="username").attrs["value"] == "anna"
    assert anonymous.get("/").status_code == 303  # still signed out


@pytest.mark.parametrize("evil", ["//evil.com", "//evil.com/me", "https://evil.com", "/\\evil.com", "evil.com"])
def test_sign_in_never_follows_next_off_site(anonymous, evil):
    form = anonymous.page("/login").find("form", action="/login").form_values()
    r = anonymous.post("/login", data=form | {"username": "anna", "password": "anna-pass", "next": evil})
    assert (r.status_code, r.headers["location"]) == (303, "/")


def test_login_form_carries_the_next_page_only_when_local(anonymous):
    form = anonymous.page("/login?next=//evil.com").find("form", action="/login")
    assert form.find("input", name="next").attrs["value"] == "/"


def test_sign_out_needs_the_csrf_token_and_ends_the_session(anna):
    assert anna.post("/logout", data={}).status_code == 403
    assert anna.get("/").status_code == 200
    form = anna.page("/").find("form", action="/logout").form_values()
    r = anna.post("/logout", data=form)
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    assert anna.get("/").status_code == 303


def test_login_post_without_csrf_is_refused(anonymous):
    r = anonymous.post("/login", data={"username": "anna", "password": "anna-pass"})
    assert r.status_code == 403
    assert "web.csrf" in anonymous.parse(r.text).find(class_="alert").text()


# --- finding data --------------------------------------------------------------------------------


def test_home_lists_the_shared_dataset(anna):
    page = anna.page("/")
    recent = page.find("section", id="recently-shared")
    assert f"/datasets/{PLANT}" in [a.attrs["href"] for a in recent.find_all("a")]
    assert page.find("span", class_="person").text() == "Anna"
    twin = anna.get("/index.json").json()
    assert [d["name"] for d in twin["recently_shared"]] == [PLANT]
    assert twin["datasets"] == 1 and twin["never_used"] == 1
    assert page.find(id="never-used").text() == "1"


def test_home_shows_the_most_used_datasets(anna, org):
    anna.page(f"/datasets/{PLANT}")  # the preview is a governed read, but browsing, not use
    assert anna.get("/index.json").json()["most_used"] == []
    gateway_query(org.platform, f"SELECT plant FROM {PLANT}", user=org.anna, purpose="plant review")
    most_used = anna.page("/").find("section", id="most-used").find("table")
    assert most_used.table_rows()[0][:3] == [PLANT, "1", "1"]
    assert anna.get("/index.json").json()["most_used"][0]["dataset"] == PLANT


def test_search_finds_the_dataset_and_says_why(anna):
    page = anna.page("/datasets?q=scrap")
    result = page.find("li", class_="result")
    assert result.find("a", class_="dataset-link").attrs["href"] == f"/datasets/{PLANT}"
    why = result.find("p", class_="why").text()
    assert "column “scrap”" in why and "scrap_rate" in why
    twin = anna.get("/datasets.json?q=scrap").json()
    assert twin["total"] == 1
    assert twin["results"][0]["match"] == "column “scrap”"
    assert twin["results"][0]["matched_columns"] == ["scrap_rate"]


def test_search_without_match_says_so(anna):
    page = anna.page("/datasets?q=zebra")
    assert page.find(id="result-count").text() == "0 datasets"
    assert "No dataset matches" in page.find("ul", class_="results").text()


def test_search_results_are_paginated(anna, org, monkeypatch, tmp_path):
    from threshold.sharing.service import share
    from threshold.web.views import browse

    monkeypatch.setattr(browse, "PER_PAGE", 1)
    other = tmp_path / "plant_costs.csv"
    other.write_text("plant,cost\nBerlin,10\n", encoding="utf-8")
    share(org.platform, other, domain="manufacturing", user=org.anna)
    first = anna.page("/datasets?q=plant")
    assert first.find(id="result-count").text() == "2 datasets · page 1 of 2"
    next_link = first.find("a", rel="next").attrs["href"]
    second = anna.page(next_link)
    names = [a.attrs["href"] for a in second.find_all("a", class_="dataset-link")]
    assert names == ["/datasets/manufacturing.plant_kpis"]
    assert second.find("a", rel="prev")
    assert anna.get("/datasets.json?q=plant&page=2").json()["results"][0]["name"] == PLANT


# --- a dataset's page ----------------------------------------------------------------------------


def test_dataset_page_shows_schema_tags_and_preview(anna):
    page = anna.page(f"/datasets/{PLANT}")
    email = page.find("tr", id="col-e_mail")
    assert [b.text() for b in email.find_all(class_="badge")] == ["personal.email"]
    assert email.find("code", class_="col-name").text() == "e_mail"
    assert "E-Mail" in email.text()
    scrap = page.find("tr", id="col-scrap_rate").find_all("td")
    assert scrap[1].text() == "number"
    assert "0.05" in scrap[5].text() and "0.15" in scrap[5].text()
    preview = page.find("section", id="preview").find("table")
    headers = [th.text() for th in preview.find_all("th")]
    assert headers[:2] == ["plant", "operator_name"]
    assert [row[0] for row in preview.table_rows()] == ["Berlin", "Lyon", "Berlin", "Porto", "Lyon"]
    history = page.find("section", id="history").find("table").table_rows()
    assert history[0][1:4] == ["anna", "create", "5"]
    assert "plant performance reporting" in page.find("dl", class_="facts").text()


def test_dataset_preview_is_read_through_the_gateway_as_browsing(anna, org):
    anna.page(f"/datasets/{PLANT}")
    with org.platform.store.session() as s:
        events = s.execute(select(UsageEvent.kind, UsageEvent.purpose, UsageEvent.status)).all()
        audited = s.scalars(select(AuditEntry.action).where(AuditEntry.action.like("query.%"))).all()
    assert events == [("browse", "preview", "ok")]  # recorded and audited like every read...
    assert audited == ["query.allowed"]
    used = dataset_usage(org.platform, PLANT)  # ... but looking at a page is not use
    assert (used.queries, used.users, used.purposes) == (0, 0, [])
    org.platform.settings.products.include_browsing = True
    assert dataset_usage(org.platform, PLANT).top_users == [{"user": "anna", "queries": 1}]


def test_dataset_page_shows_its_usage(anna, org):
    anna.page(f"/datasets/{PLANT}")
    gateway_query(org.platform, f"SELECT plant FROM {PLANT}", user=org.anna, purpose="plant review")
    gateway_query(org.platform, f"SELECT day FROM {PLANT}", user=org.anna, purpose="plant review")
    page = anna.page(f"/datasets/{PLANT}")
    assert page.find(id="usage-queries").text() == "2"
    assert page.find(id="usage-people").text() == "1"
    people = page.find("ul", id="usage-users").find_all("li")
    assert [[s.text() for s in li.find_all("span")] for li in people] == [["anna", "2"]]
    bars = page.find("section", id="usage").find("svg").find_all("rect", class_="chart-bar")
    assert len(bars) == 12 and float(bars[-1].attrs["height"]) > 0


def test_dataset_json_twin_returns_the_page_data(anna):
    twin = anna.get(f"/datasets/{PLANT}.json")
    assert twin.status_code == 200 and twin.headers["content-type"] == "application/json"
    data = twin.json()
    assert data["name"] == PLANT
    email = next(c for c in data["schema"] if c["name"] == "e_mail")
    assert [t["tag"] for t in email["tags"]] == ["personal.email"]
    assert [r["plant"] for r in data["preview"]["rows"]] == ["Berlin", "Lyon", "Berlin", "Porto", "Lyon"]
    assert data["usage"]["queries"] == 0  # the preview is browsing
    assert data["history"][0]["by"] == "anna"
    assert data["example_queries"][0]["sql"].startswith("SELECT")


def test_example_queries_link_to_the_query_page_prefilled(anna):
    page = anna.page(f"/datasets/{PLANT}")
    run = page.find("section", id="examples").find("a", class_="button")
    assert run.text() == "Run"
    prefilled = anna.page(run.attrs["href"]).find("textarea", name="sql")
    assert prefilled.text() == f"SELECT * FROM {PLANT} LIMIT 20"


def test_unknown_dataset_is_a_404_page_with_the_message(anna):
    r = anna.get("/datasets/manufacturing.nope")
    assert r.status_code == 404
    page = anna.parse(r.text)
    assert "no dataset 'manufacturing.nope'" in page.find(class_="alert").text()
    twin = anna.get("/datasets/manufacturing.nope.json")
    assert twin.status_code == 404 and "no dataset" in twin.json()["detail"]


def test_unknown_page_is_a_404_page(anna):
    r = anna.get("/no/such/page")
    assert r.status_code == 404
    assert anna.parse(r.text).find("h1").text() == "Not found"


def test_data_from_shares_is_escaped_never_rendered_as_html(anna, org, tmp_path):
    from threshold.sharing.service import share

    evil = tmp_path / "notes.csv"
    evil.write_text('title,body\n"<b>bold</b>","<script>alert(1)</script>"\n', encoding="utf-8")
    share(org.platform, evil, domain="manufacturing", user=org.anna, description="<img src=x onerror=alert(2)>")
    r = anna.get("/datasets/manufacturing.notes")
    page = anna.parse(r.text)
    assert [s.attrs.get("src") for s in page.find_all("script")] == ["/static/threshold.js"]
    assert not page.find_all("img") and not page.find_all("b")
    assert page.find("p", class_="lead").text() == "<img src=x onerror=alert(2)>"
    assert "<script>alert(1)</script>" in page.find("section", id="preview").text()


def test_pages_send_a_content_security_policy(anna):
    policy = anna.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy


# --- querying ------------------------------------------------------------------------------------

QUESTION = f"SELECT plant, scrap_rate FROM {PLANT} ORDER BY scrap_rate DESC"


def _query_form(browser, sql: str, purpose: str = "scrap review") -> dict[str, str]:
    form = browser.page("/query").find("form", id="query-form").form_values()
    return form | {"sql": sql, "purpose": purpose}


def test_query_page_runs_a_query_and_shows_the_values(anna, org):
    r = anna.post("/query", data=_query_form(anna, QUESTION))
    assert r.status_code == 200
    page = anna.parse(r.text)
    result = page.find("section", id="result")
    assert result.find("table").table_rows()[:2] == [["Berlin", "0.15"], ["Berlin", "0.12"]]
    summary = result.find(id="result-summary").text()
    assert summary.startswith("5 rows in") and "ms" in summary and PLANT in summary
    assert page.find("textarea", name="sql").text() == QUESTION
    recent = anna.get("/me.json").json()["recent"][0]
    assert (recent["interface"], recent["purpose"], recent["rows"]) == ("web", "scrap review", 5)


def test_query_json_twin(anna):
    form = _query_form(anna, QUESTION)
    data = anna.post("/query.json", data=form).json()
    assert data["result"]["rows"][0] == {"plant": "Berlin", "scrap_rate": 0.15}
    assert data["result"]["row_count"] == 5 and data["result"]["datasets"] == [PLANT]


def test_query_error_is_shown_as_its_one_line_message(anna):
    r = anna.post("/query", data=_query_form(anna, "SELECT * FROM manufacturing.nowhere"))
    assert r.status_code in (404, 422)
    box = anna.parse(r.text).find(id="query-error")
    assert "nowhere" in box.text()
    assert anna.parse(r.text).find("textarea", name="sql").text() == "SELECT * FROM manufacturing.nowhere"


def test_query_page_is_prefilled_from_the_url(anna):
    page = anna.page("/query?sql=SELECT+1+AS+one")
    assert page.find("textarea", name="sql").text() == "SELECT 1 AS one"
    assert not page.find_all(id="result")


def test_query_without_csrf_is_refused(anna, org):
    r = anna.post("/query", data={"sql": QUESTION})
    assert r.status_code == 403
    assert "web.csrf" in anna.parse(r.text).find(class_="alert").text()
    assert dataset_usage(org.platform, PLANT).queries == 0  # nothing ran


def _download_form(browser, fmt: str) -> tuple[str, dict[str, str]]:
    page = browser.parse(browser.post("/query", data=_query_form(browser, QUESTION)).text)
    form = page.find("form", action=f"/query/download?format={fmt}")
    return form.attrs["action"], form.form_values()


def test_csv_download_holds_every_row(anna):
    action, values = _download_form(anna, "csv")
    r = anna.post(action, data=values)
    assert r.status_code == 200
    assert r.headers["content-disposition"] == 'attachment; filename="manufacturing-plant_kpis.csv"'
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["plant", "scrap_rate"]
    assert rows[1:3] == [["Berlin", "0.15"], ["Berlin", "0.12"]] and len(rows) == 6


def test_xlsx_download_holds_every_row(anna):
    action, values = _download_form(anna, "xlsx")
    r = anna.post(action, data=values)
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith("attachment;")
    sheet = load_workbook(io.BytesIO(r.content), read_only=True).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["plant", "scrap_rate"]
    assert rows[1] == ["Berlin", 0.15] and len(rows) == 6


def test_download_without_csrf_is_refused(anna):
    r = anna.post("/query/download?format=csv", data={"sql": QUESTION})
    assert r.status_code == 403


# --- sharing: tests/web/test_share_pages.py -----------------------------------------------------


# --- my activity ---------------------------------------------------------------------------------


def test_my_activity_lists_what_i_used(anna):
    anna.post("/query", data=_query_form(anna, QUESTION))
    page = anna.page("/me")
    mine = page.find("section", id="my-datasets").find("table").table_rows()
    assert mine[0][:2] == [PLANT, "1"]
    recent = page.find("section", id="my-queries").find("table").table_rows()
    assert recent[0][2:6] == ["scrap review", "web", "5", recent[0][5]]
    twin = anna.get("/me.json").json()
    assert twin["user"] == "anna" and twin["datasets"][0]["dataset"] == PLANT
