"""The erasure pages: a request shows the plan, the confirm button erases and shows the certificate, the
subject access report with its downloads, `.json` twins; none of it for people outside the governance group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from erasure.test_erasure import ADA, _build

Browser = Any  # tests/web/conftest.py's Browser


def test_plan_confirm_and_certificate(org: Any, app: Any, anonymous: Browser, anna: Browser, tmp_path: Path) -> None:
    _build(org, tmp_path)
    greta = type(anonymous)(app)
    assert greta.sign_in("greta", "greta-pass").status_code == 303
    try:
        assert anna.get("/erasure").status_code == 403
        assert anna.get("/erasure.json").status_code == 403
        home = greta.page("/erasure")
        form = home.find("form", action="/erasure/plan")
        subject = f"personal.email={ADA}"
        r = greta.post("/erasure/plan", data={"csrf": form.form_values()["csrf"], "subjects": subject, "reason": ""})
        assert r.status_code == 200
        parse_html = type(anonymous).page.__globals__["parse_html"]  # the conftest's parser (not importable)
        plan = parse_html(r.text)
        rows = {n.attrs["data-dataset"] for n in plan.find_all("tr", class_="plan-item") if n.attrs["data-rows"] != "0"}
        assert rows == {"sales.customers", "finance.orders", "sales.big_customers"}
        assert plan.find(id="plan-rows").text() == "21"
        confirm = plan.find("form", action="/erasure/run").form_values()
        assert confirm["subjects"] == subject and confirm["token"]
        r = greta.post("/erasure/run", data=confirm | {"reason": "ticket 5"})
        assert r.status_code == 303 and r.headers["location"].startswith("/erasure/certificates/")
        cert_url = r.headers["location"]
        page = greta.page(cert_url)
        assert page.find(id="certificate-status").text() == "completed"
        assert {n.attrs["data-dataset"] for n in page.find_all("tr", class_="erased")} == rows
        twin = greta.get(cert_url + ".json").json()
        assert twin["status"] == "completed" and ADA not in str(twin)
        assert [c["id"] for c in greta.get("/erasure.json").json()["certificates"]] == [twin["id"]]
        assert anna.get(cert_url).status_code == 403
        report = greta.post("/erasure/access", data={"csrf": form.form_values()["csrf"], "subjects": subject})
        assert report.status_code == 200 and "Nothing is held about this subject." in report.text
    finally:
        greta.close()


def test_the_subject_access_report_page_and_its_downloads(
    org: Any, app: Any, anonymous: Browser, tmp_path: Path
) -> None:
    _build(org, tmp_path)
    greta = type(anonymous)(app)
    assert greta.sign_in("greta", "greta-pass").status_code == 303
    try:
        csrf = greta.csrf("/erasure")
        body = {"csrf": csrf, "subjects": f"personal.email={ADA}"}
        twin = greta.post("/erasure/access.json", data=body).json()
        assert {h["dataset"]: h["rows"] for h in twin["holdings"]} == {
            "sales.customers": 6,
            "finance.orders": 9,
            "sales.big_customers": 6,
        }
        csv = greta.post("/erasure/access", data=body | {"download": "csv"})
        assert csv.headers["content-disposition"].endswith('subject-access.csv"') and ADA in csv.text
    finally:
        greta.close()
