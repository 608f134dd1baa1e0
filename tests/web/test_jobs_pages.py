"""The jobs page and its API: admins see every scheduled job and its runs, and run one now; others are refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from threshold.identity.service import add_user
from threshold.lineage.derive import derive


@pytest.fixture
def olga(anonymous: Any, org: Any) -> Iterator[Any]:
    """A browser signed in as olga, an admin (the anonymous fixture's browser, signed in)."""
    add_user(org.platform, "olga", password="olga-pass", admin=True)
    assert anonymous.sign_in("olga", "olga-pass").status_code == 303
    yield anonymous


def test_admins_see_and_run_jobs_on_the_page_and_its_json_twin(olga: Any, anna: Any, org: Any) -> None:
    derive(
        org.platform,
        "kpi_count",
        domain="manufacturing",
        sql="SELECT count(*) AS n FROM manufacturing.plant_kpis",
        user=org.anna,
        schedule_text="daily",
    )

    page = olga.page("/jobs")
    (row,) = page.find_all("tr", class_="job")
    assert (row.attrs["data-kind"], row.attrs["data-key"]) == ("derivation.refresh", "manufacturing.kpi_count")
    assert "daily" in row.text()
    assert page.find("strong", id="scheduler-state").text() == "on"
    form = row.find("form")
    r = olga.post(form.attrs["action"], data=form.form_values())
    assert r.status_code == 303 and r.headers["location"] == "/jobs"

    data = olga.get("/jobs.json").json()
    assert [(j["kind"], j["key"], j["last_status"]) for j in data["jobs"]] == [
        ("derivation.refresh", "manufacturing.kpi_count", "ok")
    ]
    assert [(h["trigger"], h["status"]) for h in data["history"]] == [("manual", "ok")]
    assert olga.get("/api/v1/jobs/history?kind=derivation.refresh").json()[0]["key"] == "manufacturing.kpi_count"
    headers = {"x-csrf-token": olga.csrf()}
    assert olga.post("/api/v1/jobs/derivation.refresh/manufacturing.kpi_count/run").status_code == 403  # no CSRF
    run = olga.post("/api/v1/jobs/derivation.refresh/manufacturing.kpi_count/run", headers=headers).json()
    assert (run["status"], run["trigger"]) == ("ok", "manual")
    assert olga.post("/api/v1/jobs/derivation.refresh/nothing.here/run", headers=headers).status_code == 404

    assert anna.get("/jobs").status_code == 403
    assert anna.get("/jobs.json").status_code == 403
    assert anna.get("/api/v1/jobs").status_code == 403
    assert "/jobs" not in [a.attrs.get("href") for a in anna.page("/").find_all("a")]


def test_the_page_twin_the_api_and_the_cli_send_one_json_form(olga: Any, org: Any) -> None:
    import json

    from threshold.interface.rendering import json_text
    from threshold.jobs import service

    derive(
        org.platform,
        "kpi_total",
        domain="manufacturing",
        sql="SELECT count(*) AS n FROM manufacturing.plant_kpis",
        user=org.anna,
        schedule_text="weekly",
    )
    twin, api = olga.get("/jobs.json").json(), olga.get("/api/v1/jobs").json()
    cli = json.loads(json_text(service.overview(org.platform)))  # what `threshold jobs … --format json` prints
    assert twin == api == cli
    assert list(api) == ["scheduler", "interval_seconds", "kinds", "jobs", "history"]
    (job,) = [j for j in api["jobs"] if j["key"] == "manufacturing.kpi_total"]
    assert list(job) == [
        "kind",
        "key",
        "label",
        "schedule",
        "next_run_at",
        "running_on",
        "attempts",
        "last_run_at",
        "last_status",
        "last_error",
    ]
    assert job["schedule"] == "weekly" and job["last_status"] is None
