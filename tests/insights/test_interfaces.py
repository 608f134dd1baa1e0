"""Insights and boards from every interface: the REST API (over a real uvicorn server, through the remote
Python client), the embedded Python client, and the `threshold` command (its entry point, in-process). The same
calls give the same answers; bad input and other people's data give one-line errors.
"""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pptx import Presentation

import inprocess
import plainhttp
import threshold
from threshold.api.app import create_app
from threshold.errors import ThresholdError
from threshold.identity.service import create_token

KPIS = "manufacturing.plant_kpis"
SPEC = {"dataset": KPIS, "group_by": ["plant"], "aggregates": [{"fn": "avg", "column": "scrap_rate"}]}
MAILS_SQL = "SELECT plant, e_mail FROM manufacturing.plant_kpis WHERE plant = $plant ORDER BY e_mail"
PLANT = [{"name": "plant", "type": "text", "default": "Berlin"}]


@pytest.fixture(scope="module")
def server(module_org: Any, serve: Any) -> Iterator[str]:
    with serve(create_app(module_org.platform), lifespan="off", ws="none") as url:
        yield url


@pytest.fixture(scope="module", params=["local", "remote"])
def clients(request: pytest.FixtureRequest, module_org: Any) -> Iterator[dict[str, Any]]:
    """anna and ben as Python clients: embedded, or against the server with their tokens."""
    home = module_org.platform.settings.home_dir
    if request.param == "local":
        made = {name: threshold.connect(home, user=name) for name in ("anna", "ben")}
    else:
        url = request.getfixturevalue("server")
        tokens = {name: create_token(module_org.platform, name)[1] for name in ("anna", "ben")}
        made = {name: threshold.connect(url=url, token=token) for name, token in tokens.items()}
    yield made
    for c in made.values():
        c.close()


def test_explore_save_view_export_fork_and_board(clients: dict[str, Any], tmp_path: Path) -> None:
    anna, ben = clients["anna"], clients["ben"]
    explored = ben.explore(SPEC)
    assert "AVG(t.scrap_rate)" in explored["sql"] and explored["row_count"] == 3
    assert explored["chart"]["kind"] == "bar" and explored["svg"].startswith("<svg")
    saved = anna.save_insight("Who runs the plant", sql=MAILS_SQL, parameters=PLANT, narrative="Operators.")
    page = ben.insight(saved["id"], {"plant": "Lyon"})
    assert [r[0] for r in page["result"]["rows"]] == ["Lyon", "Lyon"]
    assert {r[1] for r in page["result"]["rows"]} == {"***"}
    assert saved["id"] in [i["id"] for i in ben.insights("runs the plant")]
    assert saved["id"] in [i["id"] for i in ben.insights(dataset=KPIS)]
    book = load_workbook(io.BytesIO(ben.export_insight(saved["id"], "xlsx", tmp_path / "x.xlsx", {"plant": "Lyon"})))
    assert {r[1] for r in list(book["Who runs the plant"].values)[1:]} == {"***"}
    assert (tmp_path / "x.xlsx").stat().st_size > 0
    fork = ben.fork_insight(saved["id"])
    assert fork["owner"] == "ben" and fork["forked_from"] == saved["id"]
    assert ben.run_insight(fork["id"])["status"] == "ok"
    ben.comment_insight(saved["id"], "Lyon has two operators")
    board = anna.save_board("Plant review", insights=[saved["id"]], parameter={"name": "plant", "default": "Porto"})
    shown = ben.board(board["id"], "Berlin")
    assert [r[0] for r in shown["items"][0]["result"]["rows"]] == ["Berlin", "Berlin"]
    deck = Presentation(io.BytesIO(ben.export_board(board["id"], "pptx", value="Berlin")))
    assert len(deck.slides) == 1 and "guardrail.personal-data" in deck.slides[0].notes_slide.notes_text_frame.text


def test_bad_input_is_refused_in_one_line(clients: dict[str, Any]) -> None:
    ben = clients["ben"]
    for call, words in (
        (lambda: ben.save_insight("x", sql="SELECT * FROM read_csv('/etc/passwd')"), ""),
        (lambda: ben.save_insight("x", sql=MAILS_SQL, parameters=[{"name": "1 bad"}]), "parameter name"),
        (lambda: ben.explore({"dataset": KPIS, "aggregates": [{"fn": "explode", "column": "plant"}]}), "explode"),
        (lambda: ben.insight(987654), "no insight 987654"),
        (lambda: ben.export_insight(987654, "xlsx"), "no insight"),
        (lambda: ben.schedule_insight(987654, "daily"), "no insight"),
    ):
        with pytest.raises(ThresholdError) as e:
            call()
        assert words in str(e.value) and "\n" not in str(e.value) and "Traceback" not in str(e.value)


def test_api_json_shapes_and_errors(module_org: Any, server: str) -> None:

    token = create_token(module_org.platform, "carla")[1]
    with plainhttp.client(base_url=server + "/api/v1", headers={"Authorization": f"Bearer {token}"}) as http:
        opts = http.get(f"/datasets/{KPIS}/explore").json()
        by_name = {c["name"]: c for c in opts["columns"]}
        assert by_name["plant"]["kind"] == "text" and by_name["day"]["kind"] == "date"
        assert set(by_name["plant"]["values"]) == {"Berlin", "Lyon", "Porto"}
        assert by_name["e_mail"]["masked"] is True and by_name["e_mail"]["values"] == []
        assert http.get("/insights/1/export/docx").status_code in (404, 422)
        bad = http.post("/insights", json={"title": "", "sql": "SELECT 1"})
        assert bad.status_code == 422 and "title" in bad.json()["detail"]
        assert http.get("/insights", params={"per_page": 0}).status_code == 422
        assert http.get("/insights").json()["items"] is not None
    assert plainhttp.get(server + "/api/v1/insights").status_code == 401


# --- the `threshold` command ----------------------------------------------------------------------------


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return inprocess.threshold(*args, home=home, columns=200)


def ok(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr}"
    return r.stdout


def test_cli_saves_shows_exports_and_boards(module_org: Any, tmp_path: Path) -> None:
    home = module_org.platform.settings.home_dir
    made = json.loads(ok(cli(home, "insight", "save", "--title", "Scrap by plant", "--dataset", KPIS,
                             "--group-by", "plant", "--agg", "avg:scrap_rate", "--sort", "-avg_scrap_rate",
                             "--as", "anna", "--format", "json")))  # fmt: skip
    assert "AVG(t.scrap_rate)" in made["sql"]
    shown = json.loads(ok(cli(home, "insight", "show", str(made["id"]), "--as", "ben", "--format", "json")))
    assert [r[0] for r in shown["result"]["rows"]] == ["Berlin", "Lyon", "Porto"]
    listed = json.loads(ok(cli(home, "insight", "list", "Scrap", "--as", "ben", "--format", "json")))
    assert made["id"] in [i["id"] for i in listed["items"]]
    ok(cli(home, "insight", "export", str(made["id"]), "--to", str(tmp_path / "s.pptx"), "--as", "ben"))
    assert len(Presentation(str(tmp_path / "s.pptx")).slides) == 1
    board = ok(cli(home, "board", "create", "--title", "Weekly", "--insight", str(made["id"]), "--as", "anna"))
    assert "with 1 insights" in board
    ok(cli(home, "board", "export", board.split()[1], "--to", str(tmp_path / "b.xlsx"), "--as", "ben"))
    assert "Scrap by plant" in load_workbook(tmp_path / "b.xlsx").sheetnames
    wrong = cli(home, "insight", "export", str(made["id"]), "--to", str(tmp_path / "s.docx"), "--as", "ben")
    assert wrong.returncode != 0 and wrong.stderr.count("\n") == 1 and "exports as" in wrong.stderr
    fork = ok(cli(home, "insight", "fork", str(made["id"]), "--as", "ben"))
    assert "Insight" in fork and "(fork)" in fork
    refused = cli(home, "insight", "schedule", str(made["id"]), "daily", "--as", "ben")
    assert refused.returncode != 0 and "only the owner schedules it" in refused.stderr
