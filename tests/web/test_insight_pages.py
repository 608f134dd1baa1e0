"""Explore, insight and board pages in-process (HTML parsed, JSON twins read): a question built from form
fields, saved with a parameter, seen by another domain masked, exported, forked; bad input and a reader
who may not see the dataset.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from openpyxl import load_workbook

from threshold.governance.controls import set_visibility

KPIS = "manufacturing.plant_kpis"
CLICKS = [("dataset", KPIS), ("run", "1"), ("group", "plant"), ("group", "e_mail"), ("agg", "sum:energy_kwh"),
          ("f.plant", "Berlin"), ("sort", "e_mail")]  # fmt: skip


@pytest.fixture
def ben(anna: Any, app: Any) -> Iterator[Any]:
    """Owner of finance: an outsider to manufacturing (a browser of the same kind as `anna`)."""
    browser = type(anna)(app)
    assert browser.sign_in("ben", "ben-pass").status_code == 303
    yield browser
    browser.close()


def _save(anna: Any, title: str = "Energy by operator") -> str:
    """Explore by form fields, then save the result with the plant filter as a parameter; the insight's URL."""
    page = anna.page("/explore?" + urlencode(CLICKS))
    form = page.find("form", id="save-form").form_values()
    r = anna.post("/insights", data=form | {"title": title, "narrative": "Who uses the energy.", "param": "plant"})
    assert r.status_code == 303, r.text[:300]
    return str(r.headers["location"])


def test_explore_builds_sql_from_fields_and_draws_a_chart(anna: Any) -> None:
    page = anna.page("/explore?" + urlencode(CLICKS))
    sql = page.find("textarea", id="generated-sql").text()
    assert "SUM(t.energy_kwh)" in sql and "t.plant = 'Berlin'" in sql
    assert page.find("figure", id="chart").find("svg").attrs["role"] == "img"
    cells = [[td.text() for td in tr.find_all("td")] for tr in page.find("table", id="result-table").find_all("tr")[1:]]
    assert cells == [["Berlin", "anna.schmidt@example.com", "1,520.5"], ["Berlin", "max.mueller@example.de", "1,610"]]
    browser = page.find("ul", id="column-browser").text()
    assert "energy_kwh" in browser and "day" in browser
    ranged = anna.get(
        "/explore.json?"
        + urlencode(
            [
                *CLICKS[:2],
                ("from.day", "2026-01-04"),
                ("to.day", "2026-01-05"),
                ("from.energy_kwh", "1000"),
                ("has.e_mail", "MAX"),
            ]
        )
    ).json()
    assert [r[0] for r in ranged["result"]["table"]["raw"]] == ["Berlin"]
    assert "BETWEEN CAST('2026-01-04' AS DATE)" in ranged["sql"] and ">= 1000" in ranged["sql"]
    twin = anna.get("/explore.json?" + urlencode(CLICKS)).json()
    assert twin["result"]["row_count"] == 2 and twin["spec"]["filters"][0]["values"] == ["Berlin"]


def test_saved_insight_is_masked_for_another_domain_and_takes_its_parameter(anna: Any, ben: Any) -> None:
    link = _save(anna)
    mine = anna.get(link + ".json").json()
    assert mine["insight"]["parameters"][0]["name"] == "plant"
    assert {r[1] for r in mine["result"]["rows"]} == {"anna.schmidt@example.com", "max.mueller@example.de"}
    theirs = ben.page(link + "?p.plant=Lyon")
    rows = [
        [td.text() for td in tr.find_all("td")] for tr in theirs.find("table", id="result-table").find_all("tr")[1:]
    ]
    assert rows and all(r[0] == "Lyon" and r[1] == "***" for r in rows)
    assert "guardrail.personal-data" in theirs.find("ul", class_="notes").text()
    xlsx = ben.get(link.split("?")[0] + "/export/xlsx?p.plant=Lyon")
    assert xlsx.status_code == 200 and xlsx.headers["x-threshold-masks"] == "1"
    sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[1]
    assert {row[1] for row in list(sheet.values)[1:]} == {"***"}
    fork = ben.post(link + "/fork", data={"csrf": ben.csrf(link)})
    assert fork.status_code == 303 and fork.headers["location"] != link
    forked = ben.get(fork.headers["location"].split("?")[0] + ".json").json()
    assert forked["insight"]["owner"] == "ben" and forked["insight"]["forked_from"] == int(link.rsplit("/", 1)[1])


def test_the_dataset_page_counts_insights_built_on_it(anna: Any, ben: Any) -> None:
    _save(anna)
    assert "1 insight built on this" in ben.page(f"/datasets/{KPIS}").find("a", id="insights-link").text()
    found = ben.page("/datasets?q=operator").find("section", id="insight-matches").text()
    assert "Energy by operator" in found
    listed = ben.get(f"/insights.json?dataset={KPIS}").json()
    assert [i["title"] for i in listed["insights"]["items"]] == ["Energy by operator"]


def test_a_board_shows_its_insights_with_the_shared_value(anna: Any, ben: Any) -> None:
    link = _save(anna)
    r = anna.post("/boards", data={"csrf": anna.csrf("/boards"), "title": "Weekly plant review", "parameter": "plant",
                                   "default": "Berlin"})  # fmt: skip
    board = r.headers["location"]
    insight_id = link.rsplit("/", 1)[1]
    pinned = anna.post(f"/insights/{insight_id}/pin", data={"csrf": anna.csrf(link), "board": board.rsplit("/", 1)[1]})
    assert pinned.headers["location"] == board
    shown = ben.get(board + ".json?value=Porto").json()
    assert shown["value"] == "Porto" and [r[0] for r in shown["items"][0]["result"]["rows"]] == ["Porto"]
    assert ben.page(board).find("h1", id="board-title").text() == "Weekly plant review"
    assert ben.get(board + "/export/pptx").headers["content-type"].startswith("application/vnd.openxmlformats")


def test_bad_input_on_the_pages_is_one_line(anna: Any) -> None:
    page = anna.page("/explore?" + urlencode([("dataset", KPIS), ("run", "1"), ("agg", "sum:plant")]))
    assert "\n" not in page.find("div", id="explore-error").text()
    r = anna.post("/insights", data={"csrf": anna.csrf(), "title": "x", "spec": "{not json"})
    assert r.status_code == 422 and "explore it again" in r.text
    assert anna.get("/insights/99999").status_code == 404
    assert anna.get("/insights/1/export/docx").status_code in (404, 422)
    assert anna.post("/insights/1/launch", data={"csrf": anna.csrf()}).status_code in (404, 422)
    no_csrf = anna.post("/insights", data={"title": "x", "sql": f"SELECT plant FROM {KPIS}"})
    assert no_csrf.status_code == 403


def test_an_insight_on_a_restricted_dataset_is_not_found_for_an_outsider(org: Any, anna: Any, ben: Any) -> None:
    link = _save(anna, title="Secret energy")
    set_visibility(org.platform, org.anna, KPIS, "restricted")
    for url in (link, link + ".json", link + "/export/pptx", "/insights.json", "/explore?dataset=" + KPIS):
        r = ben.get(url)
        assert "Secret energy" not in r.text and "anna.schmidt" not in r.text, url
        assert KPIS not in r.text or r.status_code == 404, url
    assert ben.get(link).status_code == 404
    assert ben.get("/insights.json").json()["insights"]["total"] == 0


def test_search_finds_an_insight_by_a_misspelt_narrative_word_and_says_why(anna: Any, ben: Any) -> None:
    _save(anna, title="Energy by operator")  # narrative: "Who uses the energy."
    page = ben.page("/datasets?q=enrgy")
    found = page.find("section", id="insight-matches")
    assert "Energy by operator" in found.text()
    assert "Matched on title “energy” (for “enrgy”)" in found.text()
    listed = ben.get("/insights.json?q=enrgy").json()["insights"]["items"]
    assert [(i["title"], i["matched"]) for i in listed] == [("Energy by operator", "title “energy” (for “enrgy”)")]
