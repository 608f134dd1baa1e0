"""Learning and the report from every interface: the REST API over a real uvicorn server through the remote
Python client, the embedded client, and the `threshold` command (its entry point, in-process). Someone else's report is
refused everywhere with the wording of something that does not exist; the team view is hidden while off."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

import inprocess
import plainhttp
import threshold
from threshold.api.app import create_app
from threshold.errors import ThresholdError
from threshold.identity.service import create_token

KPIS = "manufacturing.plant_kpis"


@pytest.fixture(scope="module")
def server(module_org: Any, serve: Any) -> Iterator[str]:
    with serve(create_app(module_org.platform), lifespan="off", ws="none") as url:
        yield url


@pytest.fixture(scope="module", params=["local", "remote"])
def clients(request: pytest.FixtureRequest, module_org: Any) -> Iterator[dict[str, Any]]:
    home = module_org.platform.settings.home_dir
    names = ("anna", "carla", "admin")
    if request.param == "local":
        made = {name: threshold.connect(home, user=name) for name in names}
    else:
        url = request.getfixturevalue("server")
        made = {n: threshold.connect(url=url, token=create_token(module_org.platform, n)[1]) for n in names}
    yield made
    for c in made.values():
        c.close()


def test_a_query_ticks_the_path_and_my_report_and_pdf_say_so(clients: dict[str, Any]) -> None:
    carla = clients["carla"]
    carla.sql(f"SELECT plant FROM {KPIS}")
    path = carla.learning()["paths"][0]
    first = next(t for w in path["weeks"] for t in w["tasks"] if t["key"] == "first-query")
    assert (first["done_by"], first["ref"]) == ("query_done", KPIS)
    assert [t["key"] for t in carla.tracks()] == ["ten-weeks"]
    mine = carla.report()
    assert mine["person"] == "carla" and KPIS in [u["dataset"] for u in mine["datasets_used"]]
    text = PdfReader(io.BytesIO(carla.report_pdf())).pages[0].extract_text()
    assert "Data use of Carla" in text and KPIS in text


def test_someone_elses_report_and_a_team_view_that_is_off_do_not_exist(clients: dict[str, Any]) -> None:
    for who in ("anna", "admin"):
        with pytest.raises(ThresholdError, match="no report of 'carla'"):
            clients[who].report(person="carla")
    with pytest.raises(ThresholdError, match="no team report of 'manufacturing'"):
        clients["anna"].team_report("manufacturing")
    with pytest.raises(Exception, match="governance group"):
        clients["carla"].cohorts()


def test_organisers_create_and_follow_a_cohort(clients: dict[str, Any]) -> None:
    admin = clients["admin"]
    name = f"Pilot {id(admin)}"
    made = admin.create_cohort(name, track="ten-weeks", starts_on="2026-01-05", members=["anna", "carla"])
    assert (made["members"], made["current_week"] >= 1) == (2, True)
    assert name in [c["name"] for c in admin.cohorts()]
    assert admin.cohort(name)["weeks"][0]["title"] == "Find what exists"


def test_api_refusals_and_bad_input(module_org: Any, server: str) -> None:
    token = create_token(module_org.platform, "anna")[1]
    with plainhttp.client(base_url=server + "/api/v1", headers={"Authorization": f"Bearer {token}"}) as http:
        r = http.get("/report", params={"person": "carla"})
        assert (r.status_code, r.json()["detail"]) == (404, "no report of 'carla'")
        assert http.get("/report.pdf", params={"person": "carla"}).status_code == 404
        assert http.get("/report/teams/manufacturing").status_code == 404
        assert http.get("/report", params={"period": "2026-13"}).status_code == 422
        assert http.get("/report.pdf").headers["content-type"] == "application/pdf"
        bad = http.post(
            "/learning/cohorts", json={"name": "x", "track": "ten-weeks", "starts_on": "soon", "members": ["a"]}
        )
        assert bad.status_code == 422
    assert plainhttp.get(server + "/api/v1/report").status_code == 401


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return inprocess.threshold(*args, home=home, columns=200)


def test_the_command_shows_my_path_my_report_and_refuses_others(module_org: Any, tmp_path: Path) -> None:
    home = module_org.platform.settings.home_dir
    status = cli(home, "learn", "status", "--as", "carla", "--format", "json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["paths"][0]["total"] == 10
    out = tmp_path / "review.pdf"
    r = cli(home, "my-report", "--period", "2026-Q4", "--pdf", str(out), "--as", "carla", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["period"] == "2026-Q4" and out.read_bytes().startswith(b"%PDF")
    table = cli(home, "learn", "status", "--as", "carla")
    assert table.returncode == 0 and "Next:" in table.stdout
    other = cli(home, "my-report", "--person", "carla", "--as", "anna")
    assert other.returncode != 0 and other.stderr.strip() == "error: no report of 'carla'"
    team = cli(home, "my-report", "--team", "manufacturing", "--as", "anna")
    assert team.returncode != 0 and team.stderr.strip() == "error: no team report of 'manufacturing'"
    made = cli(home, "learn", "cohort", "create", "CLI pilot", "--track", "ten-weeks", "--starts", "2026-01-05",
               "--member", "anna", "--member", "ben", "--format", "json")  # fmt: skip
    assert made.returncode == 0, made.stderr
    shown = cli(home, "learn", "cohort", "show", "CLI pilot")
    assert shown.returncode == 0 and "CLI pilot: Data in ten weeks" in shown.stdout
    bad = cli(home, "learn", "cohort", "create", "X", "--track", "ten-weeks", "--starts", "soon", "--member", "anna")
    assert bad.returncode != 0 and "--starts is a date YYYY-MM-DD" in bad.stderr
