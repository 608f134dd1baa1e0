"""Quality in the web UI: the quality tab, "report a problem" on the dataset and query pages, incidents per
domain with quality and time to fix, one incident and its flow; JSON twins, CSRF on every form."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from threshold.api.app import create_app
from threshold.quality import dataset_checks

from .conftest import BATCHES, RAW_EMAILS, Batches

WEB_CONFTEST = Path(__file__).parent.parent / "web" / "conftest.py"


def _browser_class() -> Any:
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("quality_web_helpers", WEB_CONFTEST)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["quality_web_helpers"] = module
    spec.loader.exec_module(module)
    return module.Browser


Browser = _browser_class()


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher, profiles

    from threshold.identity import service as identity

    monkeypatch.setattr(identity, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))


@pytest.fixture
def site(batches: Batches) -> Batches:
    batches.add("range", column="weight_kg", min=0, max=100)
    batches.add("not_null", column="plant", blocking=True)
    dataset_checks.run(batches.platform, batches.anna, BATCHES)
    return batches


def _signed_in(app: Any, user: str) -> Iterator[Any]:
    browser = Browser(app)
    assert browser.sign_in(user, f"{user}-pass").status_code == 303
    yield browser
    browser.close()


@pytest.fixture
def anna(site: Batches) -> Iterator[Any]:
    yield from _signed_in(create_app(site.platform), "anna")


@pytest.fixture
def ben(site: Batches) -> Iterator[Any]:
    yield from _signed_in(create_app(site.platform), "ben")


def test_the_dataset_page_links_its_quality_tab_and_report_a_problem(anna: Any) -> None:
    page = anna.page(f"/datasets/{BATCHES}")
    assert page.find("a", id="quality-tab").attrs["href"] == f"/datasets/{BATCHES}/quality"
    assert page.find("a", id="report-problem").attrs["href"] == f"/datasets/{BATCHES}/report"


def test_the_quality_tab_shows_checks_score_history_and_its_json_twin(anna: Any) -> None:
    page = anna.page(f"/datasets/{BATCHES}/quality")
    assert page.find(id="quality-score").text() == "0.0"
    rows = page.find("table", class_="checks").find_all("tr")
    names = [tr.find_all("td")[0].text() for tr in rows if tr.attrs.get("id", "").startswith("check-")]
    assert names == ["weight_kg between 0 and 100", "plant is not null"]
    assert page.find("form", id="add-check-form")
    data = anna.get(f"/datasets/{BATCHES}/quality.json").json()
    assert data["score"] == 0.0 and [c["last_status"] for c in data["checks"]] == ["fail", "fail"]
    assert len(data["history"]) == 2 and data["can_manage"] is True


def test_an_outsider_sees_the_quality_tab_with_masked_samples_and_no_forms(ben: Any) -> None:
    html = ben.get(f"/datasets/{BATCHES}/quality").text
    page = ben.page(f"/datasets/{BATCHES}/quality")
    assert not page.find_all("form", id="add-check-form") and not page.find_all("button", id="run-checks")
    data = ben.get(f"/datasets/{BATCHES}/quality.json").json()
    assert not [e for e in RAW_EMAILS if e in html + json.dumps(data)]
    assert "***" in html


def test_adding_a_check_from_the_form_needs_the_token_and_membership(anna: Any, ben: Any) -> None:
    form = anna.page(f"/datasets/{BATCHES}/quality").find("form", id="add-check-form")
    values = form.form_values() | {"kind": "regex", "column": "code", "pattern": r"B-\d{3}"}
    assert anna.post(f"/datasets/{BATCHES}/quality/checks", data=values | {"csrf": "forged"}).status_code == 403
    r = anna.post(f"/datasets/{BATCHES}/quality/checks", data=values)
    assert r.status_code == 303 and "#check-" in r.headers["location"]
    assert ben.post(f"/datasets/{BATCHES}/quality/checks", data=values | {"csrf": ben.csrf()}).status_code == 403
    run = anna.post(f"/datasets/{BATCHES}/quality/run", data={"csrf": anna.csrf()})
    assert run.status_code == 303
    assert "code matches" in anna.get(f"/datasets/{BATCHES}/quality").text


def test_report_a_problem_from_the_query_page_and_follow_it(anna: Any, ben: Any) -> None:
    sql = f"SELECT * FROM {BATCHES} WHERE weight_kg > 100"
    result = ben.post("/query", data={"sql": sql, "purpose": "budget", "csrf": ben.csrf("/query")})
    report = Browser.parse(result.text).find("form", id="report-from-query")
    assert report.attrs["action"] == f"/datasets/{BATCHES}/report" and report.form_values()["sql"] == sql

    form_page = ben.page(f"/datasets/{BATCHES}/report?sql={sql.replace(' ', '+')}&column=weight_kg")
    form = form_page.find("form", id="report-form")
    values = form.form_values() | {"description": "Impossible weights"}
    assert values["column"] == "weight_kg" and values["query"] == sql
    r = ben.post("/report", data=values)
    assert r.status_code == 303
    incident_url = r.headers["location"]

    page = ben.page(incident_url)
    assert page.find(id="routed-to").text().startswith("manufacturing")
    assert not page.find_all("form", id="action-ack")  # ben may not acknowledge
    owner_view = anna.page(incident_url)
    ack = owner_view.find("form", id="action-ack")
    assert anna.post(ack.attrs["action"], data=ack.form_values()).status_code == 303
    fix = anna.page(incident_url).find("form", id="action-fix")
    anna.post(fix.attrs["action"], data=fix.form_values() | {"note": "scales recalibrated"})
    verify = ben.page(incident_url).find("form", id="action-verify")
    ben.post(verify.attrs["action"], data=verify.form_values())
    data = ben.get(incident_url + ".json").json()
    assert data["status"] == "verified" and data["query"] == sql


def test_incidents_per_domain_show_quality_and_time_to_fix(anna: Any) -> None:
    page = anna.page("/domains/manufacturing/incidents")
    assert page.find(id="domain-score").text() == "0.0"
    assert page.find(id="ttf-median").text() == "—"
    rows = page.find("table", class_="incidents").find_all("tr")
    assert len([r for r in rows if r.attrs.get("id", "").startswith("incident-")]) == 2
    data = anna.get("/domains/manufacturing/incidents.json").json()
    assert data["quality"]["domain"] == "manufacturing" and {i["domain"] for i in data["incidents"]} == {
        "manufacturing"
    }
    assert anna.get("/incidents.json?domain=finance").json()["incidents"] == []
    assert anna.get("/incidents/999").status_code == 404
