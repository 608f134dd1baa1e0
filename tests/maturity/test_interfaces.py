"""The maturity model from the command line (its entry point, in-process), the REST API (the ASGI app) and the Python
client: the same services, the same refusals, JSON everywhere."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import httpx

import inprocess
from threshold.api.app import create_app
from threshold.client import LocalClient
from threshold.identity.service import create_token
from threshold.maturity.picture import default_document

from .conftest import Measured


def threshold(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return inprocess.threshold(*args, home=home, columns=160)


def test_the_maturity_model_from_the_command_line(measured: Measured, tmp_path: Path) -> None:
    home = measured.platform.settings.home_dir
    denied = threshold(home, "maturity", "snapshot", "--as", "carla")
    assert denied.returncode == 4 and denied.stderr.strip() == (
        "error: carla is not in the governance group (rule: governance)"
    )
    taken = json.loads(threshold(home, "maturity", "snapshot", "--as", "gov", "--format", "json").stdout)
    assert (taken["domains"], taken["trigger"], taken["picture_version"]) == (3, "demand", 1)
    board = threshold(home, "maturity", "show", "--as", "carla")
    assert board.returncode == 0 and "manufacturing" in board.stdout and "level/target" in board.stdout
    page = json.loads(threshold(home, "maturity", "show", "manufacturing", "--as", "anna", "--format", "json").stdout)
    dims = {d["dimension"]: d for d in page["dimensions"]}
    assert list(dims) == ["sharing", "ownership", "documentation", "quality", "reuse", "access_speed", "literacy"]
    assert {s["name"] for s in dims["documentation"]["signals"]} == {"described", "contract"}
    text = threshold(home, "maturity", "show", "manufacturing", "--as", "anna").stdout
    assert "Datasets with a description: 3 of 4" in text  # `future` exists by now (the real clock)
    assert "add quality checks to 2 datasets: manufacturing.future, manufacturing.scrap" in text

    picture = tmp_path / "target.yaml"
    picture.write_text(default_document().replace("default: [20, 40, 60, 80]", "default: [25, 45, 65, 85]"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("levels: {names: [A]}\n")
    refused = threshold(home, "maturity", "target", "set", str(bad), "--reason", "x", "--as", "gov")
    assert refused.returncode != 0 and refused.stderr.strip().startswith("error: levels.names: expected a list")
    ok = threshold(home, "maturity", "target", "set", str(picture), "--reason", "year two", "--as", "gov")
    assert ok.returncode == 0 and ok.stdout.strip() == "Target picture version 2 in force"
    versions = json.loads(threshold(home, "maturity", "target", "history", "--format", "json").stdout)
    assert [(v["version"], v["author"], v["reason"]) for v in versions][:1] == [(2, "gov", "year two")]
    assert "[25, 45, 65, 85]" in threshold(home, "maturity", "target", "show").stdout

    proposed = json.loads(
        threshold(home, "maturity", "target", "propose", "manufacturing", "--level", "reuse=4",
                  "--reason", "read by all", "--as", "anna", "--format", "json").stdout
    )  # fmt: skip
    approved = threshold(home, "maturity", "target", "approve", str(proposed["id"]), "--as", "gina")
    assert approved.stdout.strip() == f"Target proposal #{proposed['id']} approved"

    answers = tmp_path / "answers.yaml"
    answers.write_text("owners_known: 3\ndecisions_with_data: 2\n")
    said = threshold(home, "maturity", "assess", "manufacturing", "--file", str(answers), "--as", "dora")
    assert said.stdout.strip() == "manufacturing: self-assessment version 1 recorded"
    answers.write_text("owners_known: 9\n")
    wrong = threshold(home, "maturity", "assess", "manufacturing", "--file", str(answers), "--as", "dora")
    assert wrong.stderr.strip() == "error: owners_known: answer 9 is not between 0 and 4"
    hist = json.loads(threshold(home, "maturity", "history", "--format", "json").stdout)
    assert [h["trigger"] for h in hist] == ["demand"]


def test_the_rest_api_and_the_python_client(measured: Measured) -> None:
    m = measured
    app = create_app(m.platform)
    tokens = {n: create_token(m.platform, n)[1] for n in ("anna", "carla", "gov", "gina")}

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:

            def h(who: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {tokens[who]}"}

            r = await c.post("/api/v1/maturity/snapshots", headers=h("carla"))
            assert r.status_code == 403
            r = await c.post("/api/v1/maturity/snapshots", headers=h("gov"))
            assert r.status_code == 201 and r.json()["domains"] == 3
            board = (await c.get("/api/v1/maturity?against=now", headers=h("carla"))).json()
            assert [row["domain"] for row in board["rows"]] == ["finance", "manufacturing", "sales"]
            assert (await c.get("/api/v1/maturity?against=later", headers=h("carla"))).status_code == 422
            page = (await c.get("/api/v1/maturity/domains/manufacturing", headers=h("anna"))).json()
            assert page["dimensions"][0]["signals"][0] == {
                "name": "datasets", "label": "Datasets shared", "value": 3.0, "of": None, "ratio": 0.3,
                "formula": "published datasets (10 or more count in full)", "source": "measured",
            }  # fmt: skip
            assert (await c.get("/api/v1/maturity/domains/nowhere", headers=h("anna"))).status_code == 404
            r = await c.put("/api/v1/maturity/target", headers=h("anna"), json={"document": "x", "reason": "y"})
            assert r.status_code == 403
            r = await c.put("/api/v1/maturity/target", headers=h("gov"), json={"document": "- x", "reason": "y"})
            assert r.status_code == 422 and "expected a mapping" in r.json()["detail"]
            body = {"domain": "manufacturing", "levels": {"literacy": 4}, "reason": "we teach"}
            prop = (await c.post("/api/v1/maturity/target/proposals", headers=h("anna"), json=body)).json()
            r = await c.post(f"/api/v1/maturity/target/proposals/{prop['id']}/decision", headers=h("carla"),
                             json={"approve": True})  # fmt: skip
            assert r.status_code == 403
            r = await c.post(f"/api/v1/maturity/target/proposals/{prop['id']}/decision", headers=h("gina"),
                             json={"approve": True})  # fmt: skip
            assert r.json()["status"] == "approved"
            versions = (await c.get("/api/v1/maturity/target", headers=h("carla"))).json()
            assert [v["version"] for v in versions] == [2, 1]
            r = await c.post("/api/v1/maturity/domains/manufacturing/assessments", headers=h("carla"),
                             json={"answers": {"owners_known": 1}})  # fmt: skip
            assert r.status_code == 403

    asyncio.run(go())
    client = LocalClient(m.platform.settings.home_dir, "anna")
    try:
        client.platform.clock = m.clock
        shown = client.assess("manufacturing", {"owners_known": 4}, note="all named now")
        assert (shown["number"], shown["answered_by"]) == (1, "anna")
        assert client.maturity("manufacturing")["domain"] == "manufacturing"
        assert [v["version"] for v in client.target_pictures()] == [2, 1]
    finally:
        client.close()
