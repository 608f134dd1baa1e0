"""Every interface of lineage: the CLI (its entry point, in-process), the REST API, the web page and its JSON
twin, and the Python client (embedded, and remote against a running server)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

import inprocess
from threshold.api.app import create_app
from threshold.client import LocalClient, RemoteClient
from threshold.identity.service import create_token

KPIS = "manufacturing.plant_kpis"
KPIS_CSV = """Plant,Operator Name,E-Mail,Scrap Rate,Day
Berlin,Anna Schmidt,anna.schmidt@example.com,0.12,2026-01-03
Lyon,Jean Dupont,jean.dupont@example.fr,0.08,2026-01-04
Berlin,Max Müller,max.mueller@example.de,0.15,2026-01-05
"""


def threshold(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return inprocess.threshold(*args, home=home, columns=200)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home set up in-process (the commands under test run through the CLI entry point)."""
    from threshold.identity.service import add_domain, add_user, ensure_admin, get_person, join_domain
    from threshold.lineage.sources import add_source
    from threshold.platform import Platform
    from threshold.sharing.service import share

    tmp = tmp_path_factory.mktemp("lineage_cli")
    data = tmp / "plant_kpis.csv"
    data.write_text(KPIS_CSV, encoding="utf-8")
    platform = Platform.open(tmp / "home", must_exist=False)
    platform.init()
    ensure_admin(platform)
    add_domain(platform, "manufacturing")
    add_domain(platform, "sales")
    add_user(platform, "anna", domains=("manufacturing",))
    add_user(platform, "carla", domains=("sales",))
    join_domain(platform, "anna", "manufacturing", "owner")
    add_source(platform, "mes", owner="anna", kind="application")
    share(platform, data, domain="manufacturing", user=get_person(platform, "anna"))
    platform.close()
    return tmp / "home"


@pytest.mark.slow
def test_cli_derive_lineage_impact_refresh(home: Path) -> None:
    derived = json.loads(
        ok(
            threshold(
                home,
                "derive",
                "plant_scrap",
                "--domain",
                "manufacturing",
                "--as",
                "anna",
                "--schedule",
                "daily",
                "--format",
                "json",
                f"SELECT plant, avg(scrap_rate) AS avg_scrap FROM {KPIS} GROUP BY plant",
            )
        )
    )
    assert (derived["dataset"], derived["rows"], derived["columns"]) == (
        "manufacturing.plant_scrap",
        2,
        ["plant", "avg_scrap"],
    )
    assert derived["schedule"] == "daily" and derived["next_run_at"].endswith("T00:00:00+00:00")

    up = json.loads(
        ok(threshold(home, "lineage", "manufacturing.plant_scrap.avg_scrap", "--upstream", "--format", "json"))
    )
    assert (up["dataset"], up["column"], up["direction"]) == ("manufacturing.plant_scrap", "avg_scrap", "upstream")
    names = {n["id"]: n["name"] for n in up["nodes"]}
    assert [(names[e["from"]], e["from_column"], e["kind"]) for e in up["column_edges"]] == [
        (KPIS, "scrap_rate", "aggregate")
    ]
    down = json.loads(ok(threshold(home, "lineage", KPIS, "--downstream", "--format", "json")))
    assert [(n["name"], n["level"], n["owners"]) for n in down["nodes"]] == [
        (KPIS, 0, ["anna"]),
        ("manufacturing.plant_scrap", 1, ["anna"]),
    ]
    table = ok(threshold(home, "lineage", KPIS))
    assert "plant_kpis.csv" in table and "manufacturing.plant_scrap" in table

    impact = json.loads(ok(threshold(home, "impact", f"{KPIS}.scrap_rate", "--format", "json")))
    assert [(d["name"], d["column"], d["effect"]) for d in impact["dependents"]] == [
        ("manufacturing.plant_scrap", "avg_scrap", "breaks")
    ]
    assert [p["user"] for p in impact["notify"]] == ["anna"]

    refreshed = json.loads(
        ok(threshold(home, "refresh", "manufacturing.plant_scrap", "--as", "anna", "--format", "json"))
    )
    assert refreshed["trigger"] == "manual" and refreshed["snapshot_id"] != derived["snapshot_id"]
    assert "0 refreshed, 0 failed" in ok(threshold(home, "refresh", "--due"))
    listed = json.loads(ok(threshold(home, "derivations", "--format", "json")))
    assert [(d["dataset"], d["owner"], d["schedule"], d["status"]) for d in listed] == [
        ("manufacturing.plant_scrap", "anna", "daily", "ok")
    ]
    overview = json.loads(ok(threshold(home, "lineage", "--format", "json")))
    assert overview["gaps"]["columns"] == 0 and overview["nodes"]["dataset"] == 2
    sources = json.loads(ok(threshold(home, "source", "list", "--format", "json")))
    assert [(s["name"], s["owner"]) for s in sources] == [("mes", "anna")]


@pytest.mark.slow
def test_cli_errors_are_one_line(home: Path) -> None:
    for args, code, words in (
        (("impact", KPIS), 2, "DOMAIN.DATASET.COLUMN"),
        (("derive", "x", "--domain", "manufacturing", "--as", "carla", f"SELECT * FROM {KPIS}"), 4, "share.member"),
        (("refresh", KPIS, "--as", "anna"), 3, "not a derived dataset"),
    ):
        r = threshold(home, *args)
        assert r.returncode == code, (args, r.returncode, r.stderr)
        assert r.stderr.count("\n") == 1 and words in r.stderr and "Traceback" not in r.stderr


class Api:
    def __init__(self, org: Any) -> None:
        self.app = create_app(org.platform)
        self.tokens = {n: create_token(org.platform, n)[1] for n in ("anna", "ben", "carla")}

    def call(self, method: str, url: str, as_: str = "anna", **kw: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://t") as c:
                return await c.request(method, url, headers={"Authorization": f"Bearer {self.tokens[as_]}"}, **kw)

        return asyncio.run(go())


def test_api(org: Any) -> None:
    api = Api(org)
    sql = f"SELECT plant, e_mail FROM {KPIS}"

    made = api.call(
        "POST",
        "/api/v1/derive",
        as_="carla",
        json={"name": "contacts", "domain": "sales", "sql": sql, "schedule": "every 30 minutes"},
    )
    assert made.status_code == 201, made.text
    assert made.json()["tags"] == [["e_mail", "personal.email"]]
    view = api.call("GET", f"/api/v1/lineage/{KPIS}", params={"direction": "downstream", "depth": 2}).json()
    assert [(n["name"], n["level"]) for n in view["nodes"]] == [(KPIS, 0), ("sales.contacts", 1)]
    col = api.call("GET", "/api/v1/lineage/sales.contacts", params={"column": "e_mail", "direction": "upstream"}).json()
    assert [(e["from_column"], e["to_column"], e["kind"]) for e in col["column_edges"]] == [
        ("e_mail", "e_mail", "identity")
    ]
    impact = api.call("GET", f"/api/v1/impact/{KPIS}/e_mail", params={"change": "rename"}).json()
    assert [(d["name"], d["effect"]) for d in impact["dependents"]] == [("sales.contacts", "breaks")]
    refreshed = api.call("POST", "/api/v1/datasets/sales.contacts/refresh", as_="carla")
    assert refreshed.status_code == 200 and refreshed.json()["trigger"] == "manual"
    assert api.call("POST", "/api/v1/datasets/sales.contacts/refresh", as_="ben").status_code == 403
    schedule = api.call("PUT", "/api/v1/datasets/sales.contacts/schedule", as_="carla", json={"schedule": "hourly"})
    assert schedule.json()["schedule"] == "hourly"
    detail = api.call("GET", "/api/v1/derivations/sales.contacts").json()
    assert (detail["owner"], detail["sql"], [r["trigger"] for r in detail["runs"]]) == (
        "carla",
        sql,
        ["manual", "create"],
    )
    assert api.call("POST", "/api/v1/sources", as_="anna", json={"name": "mes", "owner": "anna"}).status_code == 201
    assert [s["name"] for s in api.call("GET", "/api/v1/sources").json()] == ["mes"]
    assert api.call("GET", "/api/v1/lineage").json()["derivations"] == {"ok": 1}
    assert api.call("GET", "/api/v1/lineage/manufacturing.nope").status_code == 404
    assert api.call("GET", f"/api/v1/lineage/{KPIS}", params={"depth": 99}).status_code == 422


def test_web_page_draws_the_graph_and_has_a_json_twin(org: Any, browser: Any) -> None:
    from threshold.lineage.derive import derive

    derive(
        org.platform,
        "operators",
        domain="manufacturing",
        user=org.anna,
        sql=f"SELECT plant, upper(e_mail) AS mail FROM {KPIS}",
    )
    anna = browser(org.platform, "anna")

    dataset_page = anna.page(f"/datasets/{KPIS}")
    assert dataset_page.find("a", id="lineage-link").attrs["href"] == f"/lineage/{KPIS}"
    page = anna.page(f"/lineage/{KPIS}")
    svg = page.find("svg", id="lineage-graph")
    boxes = {g.find("text").text() for g in svg.find_all("g") if "node" in g.attrs.get("class", "")}
    assert boxes == {"plant_kpis.csv", KPIS, "manufacturing.operators"}
    assert len(svg.find_all("path", **{"class": "edge"})) == 2
    links = {a.attrs["href"] for a in svg.find_all("a")}
    assert "/lineage/manufacturing.operators" in links
    assert [o.attrs["value"] for o in page.find("select", name="column").find_all("option")][1:] == [
        "plant",
        "operator_name",
        "e_mail",
        "scrap_rate",
        "energy_kwh",
        "day",
    ]

    column_page = anna.page(f"/lineage/{KPIS}?column=e_mail")
    rows = column_page.find("table", id="impact-dependents").find_all("tr")
    assert [td.text() for td in rows[1].find_all("td")][:4] == ["1", "manufacturing.operators", "mail", "breaks"]
    column_rows = {t.text() for t in column_page.find("svg", id="lineage-graph").find_all("text")}
    assert {"e_mail", "mail"} <= column_rows

    twin = anna.get(f"/lineage/{KPIS}.json?column=e_mail").json()
    assert twin["dataset"] == KPIS and twin["column"] == "e_mail"
    assert [(d["name"], d["effect"]) for d in twin["impact"]["dependents"]] == [("manufacturing.operators", "breaks")]
    derived_page = anna.page("/lineage/manufacturing.operators")
    assert derived_page.find("section", id="derivation").find("pre").text().startswith("SELECT plant, upper(e_mail)")
    index = anna.page("/lineage")
    assert index.find("span", id="gap-count").text() == "0"
    assert anna.get("/lineage.json").json()["derivations"] == {"ok": 1}


def test_web_refresh_button(org: Any, browser: Any) -> None:
    from threshold.lineage.derive import derive

    derive(org.platform, "operators", domain="manufacturing", user=org.anna, sql=f"SELECT plant FROM {KPIS}")
    anna = browser(org.platform, "anna")
    form = anna.page("/lineage/manufacturing.operators").find("form", action="/lineage/manufacturing.operators/refresh")
    csrf = form.find("input", name="csrf").attrs["value"]

    r = anna.post("/lineage/manufacturing.operators/refresh", data={"csrf": csrf})
    forged = anna.post("/lineage/manufacturing.operators/refresh", data={"csrf": "forged"})

    assert r.status_code == 303 and r.headers["location"] == "/lineage/manufacturing.operators"
    assert forged.status_code == 403
    runs = anna.get("/lineage/manufacturing.operators.json").json()["derivation"]["runs"]
    assert [x["trigger"] for x in runs] == ["manual", "create"]


def test_python_client_embedded_and_remote(org: Any, server: Any) -> None:
    local = LocalClient(org.platform.settings.home_dir, "anna")
    made = local.derive("plant_list", f"SELECT DISTINCT plant FROM {KPIS}", domain="manufacturing")
    assert made["dataset"] == "manufacturing.plant_list" and made["rows"] == 3
    assert [n["name"] for n in local.lineage("manufacturing.plant_list", direction="upstream")["nodes"]] == [
        "plant_kpis.csv",
        KPIS,
        "manufacturing.plant_list",
    ]
    local.close()

    srv = server(org.platform)
    remote = RemoteClient(srv.url, create_token(org.platform, "carla")[1])
    made = remote.derive("plants", "SELECT plant FROM manufacturing.plant_list", domain="sales", schedule="daily")
    assert (made["dataset"], made["schedule"]) == ("sales.plants", "daily")
    view = remote.lineage(KPIS, direction="downstream")
    assert [(n["name"], n["level"]) for n in view["nodes"]] == [
        (KPIS, 0),
        ("manufacturing.plant_list", 1),
        ("sales.plants", 2),
    ]
    assert remote.impact(KPIS, "plant")["breaks"] == 1
    assert remote.refresh("sales.plants")["trigger"] == "manual"
    remote.close()
