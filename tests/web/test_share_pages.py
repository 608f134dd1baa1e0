"""Sharing in the browser, in-process: upload, preview (correct what was found), publish; every step a plain
form that works without JavaScript, each page with its JSON twin. The browser flow itself is in tests/e2e."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from threshold.catalog.service import describe
from threshold.identity.service import get_person
from workbooks import xlsx

TITLE_ROWS_AND_TOTAL = [
    ["Plant KPI report"],
    ["Site", "Berlin, Lyon", "Period", "November 2026"],
    ["Plant", "Day", "Scrap Rate", "Energy kWh"],
    ["Berlin", date(2026, 11, 2), 0.12, 1520.5],
    ["Lyon", date(2026, 11, 2), 0.08, 980.25],
    ["Berlin", date(2026, 11, 3), 0.15, 1610.0],
    ["Total", None, 0.35, 4110.75],
]
"""A report whose second title row is as wide as the table: the finder takes it for the header."""


def _workbook(tmp_path: Path, rows: list[list[object]] = TITLE_ROWS_AND_TOTAL, **sheets: Any) -> bytes:
    return xlsx(tmp_path / "kpi_report.xlsx", {"November": rows, **sheets}).read_bytes()


def _fields(form: Any) -> dict[str, Any]:
    """What a browser sends from the form as it is: repeated names (one per column) as lists."""
    out: dict[str, Any] = {}
    for n in form.iter():
        name = n.attrs.get("name")
        if not name or "disabled" in n.attrs:
            continue
        if n.tag == "input" and n.attrs.get("type") in ("checkbox", "radio"):
            if "checked" not in n.attrs:
                continue
            value = n.attrs.get("value", "on")
        elif n.tag == "input" and n.attrs.get("type") not in ("file", "submit"):
            value = n.attrs.get("value", "")
        elif n.tag == "textarea":
            value = "".join(c for c in n.children if isinstance(c, str)).removeprefix("\n")
        elif n.tag == "select":
            options = n.find_all("option")
            chosen = [o for o in options if "selected" in o.attrs] or options[:1]
            value = chosen[0].attrs.get("value", chosen[0].text()) if chosen else ""
        else:
            continue
        if name in out:
            out[name] = [*out[name], value] if isinstance(out[name], list) else [out[name], value]
        elif name in ("col_key", "col_name", "col_type"):
            out[name] = [value]
        else:
            out[name] = value
    return out


def _upload(browser: Any, content: bytes, name: str = "kpi_report.xlsx", **values: str) -> str:
    form = browser.page("/share").find("form", id="share-form")
    r = browser.post("/share", data=form.form_values() | values, files={"file": (name, content)})
    assert r.status_code == 303, r.text[:500]
    assert r.headers["location"].startswith("/share/preview/")
    return str(r.headers["location"])


def _columns(page: Any) -> list[str]:
    return [i.attrs["value"] for i in page.find_all("input", name="col_name")]


def test_the_upload_form_offers_only_my_domains_and_goes_to_the_preview(anna: Any) -> None:
    form = anna.page("/share").find("form", id="share-form")
    assert [o.attrs["value"] for o in form.find("select", name="domain").find_all("option")] == ["manufacturing"]
    assert form.attrs["data-api"] == "/api/v1/shares/preview"
    assert anna.get("/share.json").json()["domains"] == [{"name": "manufacturing", "title": "Manufacturing"}]


def test_upload_fix_the_header_in_the_preview_and_publish(anna: Any, org: Any, tmp_path: Path) -> None:
    where = _upload(anna, _workbook(tmp_path, Notes=[["free text"]]))
    page = anna.page(where)
    # As found: the wide title row became the header, the real header its "unit" row. Nothing is shared yet.
    assert _columns(page) == ["site_plant", "berlin_lyon_day", "period_scrap_rate", "november_2026_energy_kwh"]
    assert "manufacturing.kpi_report" not in [d["name"] for d in anna.get("/datasets.json").json()["results"]]
    sheet = page.find("select", name="sheet")
    assert [o.attrs["value"] for o in sheet.find_all("option")] == ["November", "Notes", "*"]
    assert "left out row 7, a total: 'Total', the sum of the rows above" in page.text()

    # Correct the header row and look again.
    r = anna.post(where, data=_fields(page.find("form", id="preview-form")) | {"header_row": "3", "action": "preview"})
    assert r.status_code == 200
    page = anna.parse(r.text)
    assert _columns(page) == ["plant", "day", "scrap_rate", "energy_kwh"]
    types = [s.find("option", selected="").attrs["value"] for s in page.find_all("select", name="col_type")]
    assert types == ["", "", "", ""]  # every type as found: text, date, number, number
    table = page.find("table", class_="preview")
    assert table.table_rows()[0] == ["Berlin", "2026-11-02", "0.12", "1520.5"]
    assert len(table.table_rows()) == 3 and page.find("span", class_="row-count").text() == "3"
    skipped = [li.text() for li in page.find("ul", class_="skipped").find_all("li")]
    assert skipped == [
        "left out rows 1–2, above the table (titles)",
        "left out row 7, a total: 'Total', the sum of the rows above",
    ]

    # Publish with a description and a visibility; the upload is gone afterwards.
    fields = _fields(page.find("form", id="preview-form"))
    fields |= {"description": "KPIs per plant and day", "visibility": "on-request", "action": "publish"}
    r = anna.post(where, data=fields)
    assert (r.status_code, r.headers["location"]) == (303, "/datasets/manufacturing.kpi_report")
    d = describe(org.platform, "manufacturing.kpi_report", viewer=org.anna)
    assert [(c.name, c.type) for c in d.schema] == [
        ("plant", "VARCHAR"),
        ("day", "DATE"),
        ("scrap_rate", "DOUBLE"),
        ("energy_kwh", "DOUBLE"),
    ]
    assert d.rows == 3 and d.description == "KPIs per plant and day"
    assert d.visibility == "on-request"
    assert anna.get(where).status_code == 404
    assert list(org.platform.settings.previews_dir.iterdir()) == []


def test_rename_and_retype_columns_in_the_preview(anna: Any, org: Any, tmp_path: Path) -> None:
    rows = [["Plant", "Units", "Code"], ["Berlin", 3, 7], ["Lyon", 4, 12]]
    where = _upload(anna, _workbook(tmp_path, rows))
    page = anna.page(where)
    fields = _fields(page.find("form", id="preview-form"))
    fields |= {"col_name": ["plant", "units_made", "Code Number"], "col_type": ["", "DOUBLE", "VARCHAR"]}
    page = anna.parse(anna.post(where, data=fields | {"action": "preview"}).text)
    assert _columns(page) == ["plant", "units_made", "Code Number"]  # as typed, and stored as a safe name:
    assert page.find("span", id="stored-1-3").text() == "stored as code_number"
    assert page.find("table", class_="preview").table_rows()[0] == ["Berlin", "3", "7"]
    r = anna.post(where, data=_fields(page.find("form", id="preview-form")) | {"action": "publish"})
    assert r.status_code == 303
    d = describe(org.platform, "manufacturing.kpi_report", viewer=org.anna)
    assert [(c.name, c.label, c.type) for c in d.schema] == [
        ("plant", "Plant", "VARCHAR"),
        ("units_made", "Units", "DOUBLE"),
        ("code_number", "Code Number", "VARCHAR"),
    ]


def test_a_type_a_value_does_not_fit_is_said_and_nothing_is_shared(anna: Any, org: Any, tmp_path: Path) -> None:
    rows = [["Plant", "Units"], ["Berlin", 3.5], ["Lyon", 4]]
    where = _upload(anna, _workbook(tmp_path, rows))
    fields = _fields(anna.page(where).find("form", id="preview-form")) | {"col_type": ["", "BIGINT"]}
    r = anna.post(where, data=fields | {"action": "publish"})
    assert r.status_code == 422
    page = anna.parse(r.text)
    assert "column \"Units\": the value '3.5' is not a whole number" in page.find(id="preview-error").text()
    assert page.find("form", id="preview-form")  # the preview stays, to be corrected
    assert "manufacturing.kpi_report" not in [d["name"] for d in anna.get("/datasets.json").json()["results"]]
    assert anna.get(where).status_code == 200


def test_every_sheet_is_shared_when_chosen(anna: Any, org: Any, tmp_path: Path) -> None:
    book = _workbook(tmp_path, [["Plant", "Units"], ["Berlin", 3]], Costs=[["Item", "EUR"], ["Rent", 900]])
    where = _upload(anna, book)
    page = anna.page(where)
    assert "only sheet 'November' was read; the workbook also has 'Costs'" in page.text()
    fields = _fields(page.find("form", id="preview-form")) | {"sheet": "*", "action": "preview"}
    page = anna.parse(anna.post(where, data=fields).text)
    assert [h.text() for h in page.find_all("span", class_="dataset-name")] == [
        "manufacturing.kpi_report_november",
        "manufacturing.kpi_report_costs",
    ]
    assert page.find_all("input", name="col_name") == []  # names and types: one sheet at a time
    r = anna.post(where, data=_fields(page.find("form", id="preview-form")) | {"action": "publish"})
    assert r.status_code == 200
    results = anna.parse(r.text).find(id="share-results").find_all("div", class_="share-result")
    assert len(results) == 2
    assert describe(org.platform, "manufacturing.kpi_report_costs").rows == 1


def test_cancel_removes_the_upload(anna: Any, org: Any, tmp_path: Path) -> None:
    where = _upload(anna, _workbook(tmp_path))
    fields = _fields(anna.page(where).find("form", id="preview-form"))
    r = anna.post(where, data=fields | {"action": "cancel"})
    assert (r.status_code, r.headers["location"]) == (303, "/share")
    assert anna.get(where).status_code == 404
    assert list(org.platform.settings.previews_dir.iterdir()) == []


def test_a_preview_is_its_uploaders_alone(anna: Any, anonymous: Any, org: Any, tmp_path: Path) -> None:
    from threshold.identity.service import join_domain

    where = _upload(anna, _workbook(tmp_path))
    join_domain(org.platform, "carla", "manufacturing", "owner")
    other = anonymous  # another browser on the same app
    assert other.sign_in("carla", "carla-pass").status_code == 303
    for r in (other.get(where), other.get(where + ".json")):
        assert r.status_code == 404
        assert "published, cancelled or expired" in r.text
    token = other.csrf("/share")
    r = other.post(where, data={"csrf": token, "action": "publish", "domain": "manufacturing"})
    assert r.status_code == 404
    r = other.post("/api/v1/shares", data={"preview_id": where.rsplit("/", 1)[1]}, headers={"X-CSRF-Token": token})
    assert r.status_code == 404
    assert anna.get(where).status_code == 200  # untouched by the attempts
    assert get_person(org.platform, "carla").owner_of == ("manufacturing",)


def test_the_preview_json_twin(anna: Any, tmp_path: Path) -> None:
    where = _upload(anna, _workbook(tmp_path))
    data = anna.get(where + ".json").json()
    assert data["preview_id"] == where.rsplit("/", 1)[1]
    assert data["source_name"] == "kpi_report.xlsx" and data["sheets"] == ["November"]
    [table] = data["tables"]
    assert table["header_rows"] == [2, 3]
    assert [s["reason"] for s in table["skipped"]] == ["title", "total"]
    assert data["choices"]["domain"] == "manufacturing" and data["ready"] is True


def test_an_unreadable_upload_shows_the_form_again_and_keeps_nothing(anna: Any, org: Any) -> None:
    form = anna.page("/share").find("form", id="share-form")
    r = anna.post("/share", data=form.form_values(), files={"file": ("kpi.xlsx", b"not a workbook")})
    assert r.status_code == 422
    page = anna.parse(r.text)
    assert page.find(id="share-error").text().startswith("kpi.xlsx is not a readable spreadsheet")
    assert list(org.platform.settings.previews_dir.iterdir()) == []


def test_sharing_into_another_domain_is_refused_on_the_form(anna: Any) -> None:
    values = anna.page("/share").find("form", id="share-form").form_values() | {"domain": "finance"}
    r = anna.post("/share", data=values, files={"file": ("budget.csv", b"a,b\n1,2\n", "text/csv")})
    assert r.status_code == 403
    page = anna.parse(r.text)
    assert "share.member" in page.find(id="share-error").text()
    assert page.find("form", id="share-form")


@pytest.mark.parametrize("path", ["/share", "/share/preview/0123456789abcdef0123456789abcdef"])
def test_share_posts_without_csrf_are_refused(anna: Any, path: str) -> None:
    r = anna.post(path, data={"domain": "manufacturing"}, files={"file": ("x.csv", b"a\n1\n", "text/csv")})
    assert r.status_code == 403


def test_the_api_takes_the_web_session_with_the_csrf_header(anna: Any) -> None:
    """What the upload form's JavaScript does: POST /api/v1/shares/preview with X-CSRF-Token, then open the page."""
    token = anna.csrf("/share")
    upload = {"file": ("shifts.csv", b"shift,people\nearly,5\nlate,4\n", "text/csv")}
    r = anna.post(
        "/api/v1/shares/preview", data={"domain": "manufacturing"}, files=upload, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 200, r.text
    assert anna.get(f"/share/preview/{r.json()['preview_id']}").status_code == 200
    refused = anna.post("/api/v1/shares/preview", data={"domain": "manufacturing"}, files=upload)
    assert refused.status_code == 403
