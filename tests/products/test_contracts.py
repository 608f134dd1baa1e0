"""ODCS v3 contracts: export and import round trip, checks against the real table, semantic versions."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard
from sqlalchemy import update

from threshold.errors import Conflict, Denied, InvalidInput
from threshold.notifications.service import inbox
from threshold.products.contracts import export, import_contract, recheck
from threshold.products.lifecycle import product_view, promote
from threshold.products.results import ContractChange
from threshold.sharing.service import share
from threshold.store.models import Dataset, Share

from .usage_history import INVOICES, KPIS, SENSORS, History


def _doc(text: str) -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(text)


def _text(doc: dict) -> str:  # type: ignore[type-arg]
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def _promoted(h: History) -> str:
    """sensors promoted (owner gus) with its generated contract 1.0.0; returns that contract."""
    promote(h.platform, h.people["anna"], SENSORS, owner="gus")
    return export(h.platform, SENSORS)


def test_export_writes_odcs_v3_from_the_table(fresh: History) -> None:
    text = export(fresh.platform, SENSORS, viewer=fresh.people["carla"])
    contract = OpenDataContractStandard.from_string(text)
    assert (contract.apiVersion, contract.kind, contract.version, contract.status) == (
        "v3.1.0",
        "DataContract",
        "1.0.0",
        "draft",
    )
    assert (contract.id, contract.domain, contract.dataProduct) == (f"threshold:{SENSORS}", "manufacturing", SENSORS)
    obj = contract.schema_[0]  # type: ignore[index]
    assert (obj.name, obj.physicalName, obj.physicalType) == ("sensors", SENSORS, "table")
    assert [(p.name, p.logicalType, p.physicalType) for p in obj.properties] == [  # type: ignore[union-attr]
        ("machine", "string", "VARCHAR"),
        ("temp", "number", "DOUBLE"),
        ("day", "date", "DATE"),
    ]
    assert [(q.metric, q.mustBeGreaterThan) for q in obj.quality] == [("rowCount", 0)]  # type: ignore[union-attr]


def test_export_import_round_trip(fresh: History) -> None:
    text = export(fresh.platform, SENSORS)
    r = import_contract(fresh.platform, fresh.people["anna"], text).to_json()
    assert (r["draft"], r["version"], r["status"]) == (True, "1.0.0", "passed")
    assert export(fresh.platform, SENSORS) == text
    product = promote(fresh.platform, fresh.people["anna"], SENSORS, owner="gus")  # takes the imported draft
    assert product.contract is not None and product.contract["document"] == text
    assert _doc(export(fresh.platform, SENSORS)) == _doc(text) | {"status": "active"}
    again = import_contract(fresh.platform, fresh.people["gus"], export(fresh.platform, SENSORS)).to_json()
    assert (again["version"], again["unchanged"]) == ("1.0.0", True)


def test_a_breaking_change_needs_a_new_major_version(fresh: History) -> None:
    doc = _doc(_promoted(fresh))
    doc["schema"][0]["properties"] = [p for p in doc["schema"][0]["properties"] if p["name"] != "temp"]
    doc["version"] = "1.1.0"
    with pytest.raises(Conflict) as e:
        import_contract(fresh.platform, fresh.people["gus"], _text(doc))
    assert str(e.value) == (f"a breaking change needs a new major version (2.0.0, not 1.1.0): {SENSORS}.temp removed")
    doc["version"] = "1.0.0"
    with pytest.raises(Conflict, match="must be higher than the current 1.0.0"):
        import_contract(fresh.platform, fresh.people["gus"], _text(doc))
    doc["version"] = "2.0.0"
    r = import_contract(fresh.platform, fresh.people["gus"], _text(doc)).to_json()
    assert r["changes"] == [{"breaking": True, "change": f"{SENSORS}.temp removed"}]
    assert product_view(fresh.platform, SENSORS).version == "2.0.0"
    doc["version"] = "2.1.0"
    doc["schema"][0]["properties"][0]["required"] = True  # a stronger promise: compatible
    assert import_contract(fresh.platform, fresh.people["gus"], _text(doc)).changes == [
        ContractChange(breaking=False, change=f"{SENSORS}.machine is now required")
    ]
    doc["version"] = "2.2.0"
    doc["schema"][0]["properties"][1]["logicalType"] = "string"  # day: date -> string
    doc["schema"][0]["properties"][1]["physicalType"] = "VARCHAR"
    with pytest.raises((Conflict, InvalidInput)):
        import_contract(fresh.platform, fresh.people["gus"], _text(doc))


def test_quality_rules_fail_on_the_real_table(fresh: History) -> None:
    doc = _doc(_promoted(fresh))
    temp = doc["schema"][0]["properties"][1]
    temp["quality"] = [
        {"type": "library", "metric": "nullValues", "mustBe": 0, "description": "every reading has a temperature"},
        {"type": "library", "metric": "nullValues", "unit": "percent", "mustBeLessThan": 10},
        {
            "type": "sql",
            "query": "SELECT count(*) FROM ${object} WHERE temp > 100",
            "mustBe": 0,
            "description": "no overheating",
        },
        {"type": "sql", "query": "SELECT count(*) FROM finance.invoices", "mustBe": 0, "description": "sneaky"},
        {"type": "text", "description": "temperatures are in Celsius"},
    ]
    doc["schema"][0]["properties"][0]["quality"] = [
        {"type": "library", "metric": "invalidValues", "arguments": {"validValues": ["M1", "M2"]}, "mustBe": 0}
    ]
    doc["version"] = "1.1.0"
    r = import_contract(fresh.platform, fresh.people["gus"], _text(doc)).to_json()
    assert r["status"] == "failed"
    quality = [(x["property"], x["status"], x["actual"]) for x in r["results"] if x["kind"] == "quality"]
    assert quality == [
        ("machine", "failed", 1),  # M3 is not a valid machine
        ("temp", "failed", 1),  # one reading has no temperature
        ("temp", "failed", 33.3333),  # ... one in three
        ("temp", "passed", 0),
        ("temp", "error", None),  # may not read another dataset
        ("temp", "skipped", None),
        ("day", "passed", 0),  # the generated contract's rules
        (None, "passed", 3),
    ]
    sneaky = next(x for x in r["results"] if x["rule"] == "sneaky")
    assert sneaky["message"] == f"a contract's sql rule may only read its own datasets, not {INVOICES}"
    assert [m.kind for m in inbox(fresh.platform, fresh.people["gus"])][0] == "contract.failed"
    assert asdict(product_view(fresh.platform, SENSORS).badges[2]) == {
        "kind": "contract",
        "label": "contract failed",
        "tone": "bad",
    }


def test_a_contract_must_describe_the_real_table(fresh: History) -> None:
    doc = _doc(export(fresh.platform, SENSORS))
    doc["schema"][0]["properties"].append({"name": "pressure", "logicalType": "number"})
    with pytest.raises(InvalidInput, match="pressure is in the contract but not in the table"):
        import_contract(fresh.platform, fresh.people["anna"], _text(doc))
    doc = _doc(export(fresh.platform, SENSORS))
    doc["schema"][0]["properties"][1]["logicalType"] = "string"
    doc["schema"][0]["properties"][1]["physicalType"] = "VARCHAR"
    with pytest.raises(InvalidInput, match=f"{SENSORS}.temp is DOUBLE \\(number\\), the contract says string"):
        import_contract(fresh.platform, fresh.people["anna"], _text(doc))
    doc = _doc(export(fresh.platform, SENSORS))
    doc["schema"][0]["properties"][1]["required"] = True
    r = import_contract(fresh.platform, fresh.people["anna"], _text(doc)).to_json()  # temp has an empty value
    assert [(x["rule"], x["status"], x["actual"]) for x in r["results"] if x["property"] == "temp"] == [
        ("type", "passed", "DOUBLE"),
        ("required", "failed", 1),
    ]


def test_when_the_table_changes_under_its_contract_the_check_says_what_broke(fresh: History, tmp_path: Path) -> None:
    _promoted(fresh)
    path = tmp_path / "sensors.csv"
    path.write_text("Machine,Day\nM1,2026-01-03\n", encoding="utf-8")
    share(fresh.platform, path, domain="manufacturing", name="sensors", mode="replace", user=fresh.person("gus"))
    r = recheck(fresh.platform, fresh.people["gus"], SENSORS)
    failed = [x.message for x in r.results if x.status == "failed"]
    assert failed == [
        f"{SENSORS}.temp is in the contract but not in the table (restore it, or publish a new major "
        "version without it)"
    ]
    with pytest.raises(Denied):
        recheck(fresh.platform, fresh.people["carla"], SENSORS)


def test_freshness_slo_against_the_newest_share(fresh: History) -> None:
    doc = _doc(export(fresh.platform, SENSORS))
    doc["slaProperties"] = [{"property": "latency", "value": 2, "unit": "d"}]
    promote(fresh.platform, fresh.people["anna"], SENSORS, owner="gus", contract=_text(doc))
    assert product_view(fresh.platform, SENSORS).freshness_hours == 48
    with fresh.platform.store.session() as s:
        ds = s.query(Dataset).filter(Dataset.full_name == SENSORS).one()
        s.execute(update(Share).where(Share.dataset_id == ds.id).values(at=fresh.platform.clock() - timedelta(days=3)))
    r = recheck(fresh.platform, fresh.people["gus"], SENSORS)
    sla = next(x for x in r.results if x.kind == "sla")
    assert (sla.status, sla.expected, round(sla.actual)) == ("failed", "<= 48 h", 72)
    assert product_view(fresh.platform, SENSORS).freshness["met"] is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [b", "the contract is not valid YAML"),
        ("- 1\n- 2\n", "the contract must be a YAML mapping"),
        ("apiVersion: v2.2.0\nkind: DataContract\n", "only ODCS v3 contracts are read"),
        (
            "apiVersion: v3.1.0\nkind: DataContract\nid: x\nversion: 1.0.0\nstatus: draft\nschema:\n"
            "  - name: sensors\n    physicalName: manufacturing.sensors\n    properties:\n"
            "      - name: temp\n        logicalType: text\n",
            "the contract does not follow ODCS v3 at schema/0/properties/0/logicalType",
        ),
        (
            "apiVersion: v3.1.0\nkind: DataContract\nid: x\nversion: one\nstatus: draft\nschema:\n"
            "  - name: sensors\n    physicalName: manufacturing.sensors\n",
            "contract version 'one' is not a semantic version",
        ),
        (
            "apiVersion: v3.1.0\nkind: DataContract\nid: x\nversion: 1.0.0\nstatus: draft\n",
            "the contract has no schema",
        ),
    ],
)
def test_bad_contracts_are_refused_with_the_first_problem(fresh: History, text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        import_contract(fresh.platform, fresh.people["anna"], text)


def test_only_owners_publish_contracts(fresh: History) -> None:
    with pytest.raises(Denied):
        import_contract(fresh.platform, fresh.people["ben"], export(fresh.platform, KPIS))
