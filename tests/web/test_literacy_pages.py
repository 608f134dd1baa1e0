"""Learning and my data use on the web: /learn shows my path (ticked by what I did) and, for organisers, the
cohorts and the form to start one; /me/report and its PDF are mine alone; the team page exists only when the
team view is on and for the domain's owners. Every page has its `.json` twin."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from pypdf import PdfReader

from threshold.gateway.service import query

KPIS = "manufacturing.plant_kpis"
Browser = Any


@pytest.fixture
def carla(app: Any, anonymous: Browser) -> Iterator[Browser]:
    b = type(anonymous)(app)
    assert b.sign_in("carla", "carla-pass").status_code == 303
    yield b
    b.close()


@pytest.fixture
def admin_browser(app: Any, anonymous: Browser, org: Any) -> Iterator[Browser]:
    from threshold.identity.service import set_password

    set_password(org.platform, "admin", "admin-pass-123")
    b = type(anonymous)(app)
    assert b.sign_in("admin", "admin-pass-123").status_code == 303
    yield b
    b.close()


def test_my_path_shows_what_i_did_and_what_to_try_next(org: Any, carla: Browser) -> None:
    page = carla.page("/learn")
    assert page.find(class_="task", **{"data-task": "first-query"}).find(class_="badge").text() == "to do"
    query(org.platform, f"SELECT plant FROM {KPIS}", user=org.carla)
    page = carla.page("/learn")
    done = page.find(class_="task", **{"data-task": "first-query"})
    assert "done" in done.text() and "query done" in done.text() and KPIS in done.text()
    assert "Find a dataset by a business word" in page.find(id="next-task").text()
    assert page.find_all(id="cohorts") == []  # not an organiser
    twin = carla.get("/learn.json").json()
    assert twin["organiser"] is False and twin["learning"]["paths"][0]["done"] == 1


def test_organisers_start_a_cohort_and_see_its_totals(org: Any, admin_browser: Browser) -> None:
    b = admin_browser
    r = b.post(
        "/learn/cohorts",
        data={"csrf": b.csrf("/learn"), "name": "Pilot", "track": "ten-weeks", "starts_on": "2026-01-05",
              "members": "anna, ben carla"},
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/learn/cohorts/Pilot"
    page = b.page("/learn/cohorts/Pilot")
    assert "3 people" in page.find("p", class_="lead").text()
    twin = b.get("/learn/cohorts/Pilot.json").json()
    assert (twin["members"], twin["weeks"][6]["tasks"][0]["done"]) == (3, 1)  # anna shared a described file
    assert "Pilot" in b.page("/learn").find(id="cohorts").text()
    bad = b.post("/learn/cohorts", data={"csrf": b.csrf("/learn"), "name": "X", "track": "ten-weeks",
                                         "starts_on": "soon", "members": "anna"})  # fmt: skip
    assert bad.status_code == 422


def test_my_report_is_mine_and_the_team_page_is_hidden_while_off(org: Any, carla: Browser, anna: Browser) -> None:
    query(org.platform, f"SELECT plant FROM {KPIS}", user=org.carla)
    page = carla.page("/me/report")
    assert KPIS in page.find(id="used").text()
    twin = carla.get("/me/report.json").json()
    assert twin["person"] == "carla" and twin["teams"] == []
    pdf = carla.get("/me/report.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "Data use of Carla" in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert anna.get("/teams/manufacturing/report").status_code == 404
    assert anna.get("/teams/manufacturing/report.json").status_code == 404
    org.platform.settings.literacy.team_view = True
    org.platform.settings.literacy.team_min_people = 2
    from threshold.identity.service import join_domain

    join_domain(org.platform, "carla", "manufacturing")
    totals = anna.get("/teams/manufacturing/report.json").json()
    assert (totals["people"], totals["queries"]) == (2, 1) and "carla" not in str(totals)
    assert carla.get("/teams/manufacturing/report").status_code == 404  # a member, not its owner
