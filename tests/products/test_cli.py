"""The products commands through `threshold`'s entry point (in-process) on a home with the history.

The tests run in order on one home: reading commands first, then nominate, owners, promote, contract,
deprecate and retire, as the README's walk through the demo does.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import inprocess

from .conftest import module_history
from .usage_history import KPIS, SENSORS, History


@pytest.fixture(scope="module")
def home(prepared_homes: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    """The history on SQLite, a copy of the home built once per session, for the module's tests in order."""
    yield from module_history(prepared_homes, "sqlite", tmp_path_factory.mktemp("cli-history"))


def run(h: History, *args: str) -> subprocess.CompletedProcess[str]:
    return inprocess.threshold(*args, home=h.platform.settings.home_dir, columns=120, clock=h.platform.clock)


def ok(h: History, *args: str) -> str:
    r = run(h, *args)
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr}"
    assert "Traceback" not in r.stdout + r.stderr
    return r.stdout


def as_json(h: History, *args: str) -> Any:
    return json.loads(ok(h, *args, "--format", "json"))


def test_consumers(home: History) -> None:
    d = as_json(home, "consumers", KPIS)
    assert (d["queries"], d["people"], d["people_outside"], d["consumer_domains"]) == (33, 8, 6, 4)
    assert [x["domain"] for x in d["domains"]] == ["finance", "manufacturing", "sales", "supply_chain", "strategy"]
    assert {p["purpose"] for p in d["purposes"]} >= {"energy cost forecast", "delivery promise"}
    text = ok(home, "consumers", KPIS)
    assert "33 queries by 8 people, 6 from 4 other domains" in text


def test_patterns(home: History) -> None:
    d = as_json(home, "patterns")
    cells = {(c["consumer"], c["producer"]): c["people"] for c in d["reuse_matrix"]["cells"]}
    assert cells[("finance", "manufacturing")] == 2
    assert d["rising"][0]["dataset"] == KPIS
    assert [x["dataset"] for x in d["long_tail"]["never_used"]] == ["manufacturing.old_report", "sales.secret"]
    assert as_json(home, "patterns", "--domain", "manufacturing")[1] == {
        "dataset": KPIS,
        "stage": "shared",
        "queries": 33,
        "people": 8,
    }
    assert "reuse matrix" in ok(home, "patterns")


def test_candidates_ranked_with_reasons(home: History) -> None:
    found = as_json(home, "candidates")
    assert [(c["rank"], c["dataset"], c["score"]) for c in found] == [(1, KPIS, 74.0)]
    assert found[0]["reasons"][0] == {
        "signal": "domains",
        "value": 4,
        "target": 3,
        "weight": 30.0,
        "points": 30.0,
        "text": "used from 4 other domains: finance, sales, strategy, supply_chain",
    }
    text = ok(home, "candidates")
    assert "1. manufacturing.plant_kpis  score 74" in text and "needs: owner (suggested: anna)" in text


def test_owners_suggest(home: History) -> None:
    found = as_json(home, "owners", "suggest", KPIS)
    assert [(s["rank"], s["user"], s["score"]) for s in found][:2] == [(1, "anna", 82.5), (2, "ben", 25.5)]
    assert found[0]["evidence"][1] == {"kind": "domain_owner", "points": 25, "text": "owner of domain manufacturing"}


def test_nominate(home: History) -> None:
    r = run(home, "nominate", SENSORS, "--reason", "", "--as", "carla")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith("error: a nomination needs")
    ok(home, "nominate", SENSORS, "--reason", "delivery dates depend on machine health", "--as", "carla")
    assert [c["dataset"] for c in as_json(home, "candidates")] == [KPIS, SENSORS]
    ok(home, "candidates", "dismiss", SENSORS, "--reason", "sensors move to the new historian", "--as", "anna")
    assert [c["dataset"] for c in as_json(home, "candidates")] == [KPIS]


def test_owners_propose_decline_accept(home: History) -> None:
    assert "proposed ownership of manufacturing.plant_kpis to anna" in ok(
        home, "owners", "propose", KPIS, "--as", "anna"
    )
    r = ok(home, "owners", "decline", KPIS, "--as", "anna", "--reason", "I run the plant, not its data")
    assert "proposed to ben next" in r
    ok(home, "owners", "accept", KPIS, "--as", "ben", "--reason", "finance lives on it")
    found = as_json(home, "owners", "suggest", KPIS)
    assert {s["user"]: s["status"] for s in found}["anna"] == "declined"


def test_promote_with_a_contract_file_then_publish_a_new_version(home: History, tmp_path: Path) -> None:
    draft = yaml.safe_load(ok(home, "contract", "export", KPIS))
    assert (draft["kind"], draft["schema"][0]["physicalName"]) == ("DataContract", KPIS)
    draft["description"]["usage"] = "Daily KPIs per plant, for forecasts and planning"
    path = tmp_path / "contract.yaml"
    path.write_text(yaml.safe_dump(draft, sort_keys=False), encoding="utf-8")
    p = as_json(home, "promote", KPIS, "--contract", str(path), "--as", "anna")
    assert (p["owner"], p["version"], p["status"], p["contract"]["status"]) == ("ben", "1.0.0", "active", "passed")
    assert p["description"] == "Daily KPIs per plant, for forecasts and planning"
    draft["version"] = "1.1.0"
    draft["schema"][0]["properties"][0]["description"] = "the plant's city"
    path.write_text(yaml.safe_dump(draft, sort_keys=False), encoding="utf-8")
    r = as_json(home, "contract", "import", str(path), "--as", "ben")
    assert (r["version"], r["draft"], r["changes"]) == ("1.1.0", False, [])
    assert as_json(home, "products")[0]["version"] == "1.1.0"
    checked = as_json(home, "contract", "check", KPIS, "--as", "ben")
    assert checked["status"] == "passed"


def test_producer_view(home: History) -> None:
    d = as_json(home, "producer", "manufacturing", "--as", "anna")
    assert d["totals"]["products"] == 1 and d["datasets"][0]["product"]["owner"] == "ben"
    assert "1 products" in ok(home, "producer", "manufacturing", "--as", "anna")


def test_deprecate_and_retire(home: History) -> None:
    d = as_json(home, "deprecate", KPIS, "--replacement", SENSORS, "--reason", "moved", "--as", "ben")
    assert (d["status"], d["replacement"], d["notified"]["people"]) == ("deprecated", SENSORS, 8)
    r = as_json(home, "retire", KPIS, "--as", "ben")
    assert r["status"] == "retired"
    r = run(home, "retire", KPIS, "--as", "ben")
    assert r.returncode == 5 and "is retired already" not in r.stdout
    assert run(home, "consumers", "nope.nothing").returncode == 3
