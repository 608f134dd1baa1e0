"""Checks from a data contract (ODCS v3): each promise of the contract becomes a check, run like any other."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from threshold.errors import Conflict, InvalidInput
from threshold.products import contracts
from threshold.products.contracts import import_contract
from threshold.quality import dataset_checks
from threshold.quality.check_results import CheckRecord
from threshold.quality.contract_rules import checks_from_odcs, odcs_rules
from threshold.sharing.service import share

from .conftest import BATCHES, Batches

CONTRACT = (Path(__file__).parent / "fixtures" / "batches_contract.yaml").read_text()


def _summary(specs: list) -> list[tuple[str, dict, bool]]:  # type: ignore[type-arg]
    return [(s.kind, s.options, s.blocking) for s in specs]


def test_a_contract_becomes_checks() -> None:
    specs, skipped = odcs_rules(CONTRACT)

    assert _summary(specs) == [
        (
            "schema",
            {
                "columns": [
                    {"name": "batch_id", "type": "integer"},
                    {"name": "plant", "type": "string"},
                    {"name": "weight_kg", "type": "number"},
                    {"name": "code", "type": "string"},
                    {"name": "produced_at", "type": "timestamp"},
                ]
            },
            False,
        ),
        ("not_null", {"columns": ["batch_id"]}, False),
        ("not_null", {"columns": ["plant"]}, False),
        ("accepted_values", {"column": "plant", "values": ["Berlin", "Lyon", "Porto"], "max_failing": 0}, True),
        ("range", {"column": "weight_kg", "min": 0, "max": 100}, False),
        ("regex", {"column": "code", "pattern": "B-\\d{3}"}, False),
        ("unique", {"columns": ["batch_id"]}, False),
        ("row_count", {"min": 4}, False),
        ("sql", {"sql": "SELECT count(*) FROM ${object} WHERE weight_kg > 100", "max": 0.0}, False),
        ("freshness", {"max_age": "24h", "column": "produced_at"}, False),
    ]
    assert all(s.source == "contract" and s.object_name == "batches" for s in specs)
    assert skipped == [
        "contract batches-contract 1.2.0 batches quality described: a text rule "
        "(Every batch is described by the plant manager.) cannot be run by Threshold"
    ]


def test_the_model_and_a_dict_read_the_same_as_the_yaml() -> None:
    model = OpenDataContractStandard.model_validate(yaml.safe_load(CONTRACT))
    assert _summary(checks_from_odcs(model)) == _summary(checks_from_odcs(yaml.safe_load(CONTRACT)))


def _contract_checks(b: Batches) -> list[CheckRecord]:
    return [c for c in dataset_checks.dataset_checks(b.platform, b.anna, BATCHES).checks if c.source == "contract"]


def test_importing_a_contract_makes_its_rules_the_datasets_checks_and_they_run(batches: Batches) -> None:
    """No sync: a contract's rules are checks of the one evaluator from the moment it is published, and a
    newer version replaces them (manual checks stay)."""
    b = batches
    manual = b.add("not_null", column="plant")
    first = import_contract(b.platform, b.anna, CONTRACT).to_json()
    first_ids = [c.id for c in _contract_checks(b)]
    again = import_contract(b.platform, b.anna, CONTRACT.replace("version: 1.2.0", "version: 1.3.0")).to_json()

    assert (first["draft"], first["version"], again["version"]) == (True, "1.2.0", "1.3.0")
    assert len(first_ids) == 10
    assert [r["message"] for r in first["results"] if r["status"] == "error"] == []  # every rule became a check
    listed = dataset_checks.dataset_checks(b.platform, b.anna, BATCHES).checks
    assert len(listed) == 11 and manual.id in [c.id for c in listed]
    assert not set(first_ids) & {c.id for c in listed}
    replaced = [dataset_checks.check_history(b.platform, b.anna, i) for i in first_ids]
    assert [(c.active, len(c.runs)) for c in replaced] == [(False, 1)] * 10  # stopped, history kept
    runs = {r.name: r for r in dataset_checks.run(b.platform, b.anna, BATCHES)}
    assert runs["SELECT count(*) FROM manufacturing.batches WHERE weight_kg > 100"].status == "fail"
    assert runs["plant in (Berlin, Lyon, Porto)"].status == "pass"
    assert runs["batch_id is unique"].failing == 1


def test_a_contract_about_a_table_that_is_not_there_changes_nothing(batches: Batches) -> None:
    doc = yaml.safe_load(CONTRACT)
    doc["schema"].append({"name": "other", "properties": [{"name": "x", "logicalType": "string", "required": True}]})
    with pytest.raises(InvalidInput, match="manufacturing.other is not in the lake"):
        import_contract(batches.platform, batches.anna, yaml.safe_dump(doc))
    assert _contract_checks(batches) == []
    assert contracts.current(batches.platform, _dataset_id(batches)) is None


def _dataset_id(b: Batches) -> int:
    from threshold.quality.reading import published_target

    return published_target(b.platform, BATCHES).dataset_id


_NOT_NULL = """apiVersion: v3.1.0
kind: DataContract
id: batches-plants
version: 1.0.0
status: active
domain: manufacturing
schema:
  - name: batches
    physicalName: manufacturing.batches
    properties:
      - name: plant
        logicalType: string
        quality:
          - {type: library, metric: nullValues, mustBe: 0, description: every batch names its plant}
          - {type: library, metric: nullValues, unit: percent, mustBeLessThan: 10}
"""


def test_the_contract_view_reads_the_runs_of_its_checks(batches: Batches) -> None:
    """One history: a scheduled or manual run of a contract's check is what its contract view shows next."""
    b = batches
    r = import_contract(b.platform, b.anna, _NOT_NULL).to_json()
    assert [(x["rule"], x["status"], x["actual"]) for x in r["results"] if x["kind"] == "quality"] == [
        ("every batch names its plant", "failed", 1),
        ("nullValues", "failed", 20),
    ]
    assert r["results"][1]["message"] == (
        "manufacturing.batches.plant: every batch names its plant — measured 1, expected mustBe 0"
    )
    clean = b.csv(
        "clean.csv", "1,Berlin,ok,10.5,B-001,2020-01-03 08:00:00,", "2,Lyon,ok,12.0,B-002,2020-01-03 09:00:00,"
    )
    share(b.platform, clean, domain="manufacturing", name="batches", mode="replace", user=b.anna)

    runs = dataset_checks.run(b.platform, b.anna, BATCHES)

    assert {x.status for x in runs} == {"pass"}
    view = contracts.contract_dict(b.platform, contracts.current(b.platform, _dataset_id(b)))  # type: ignore[arg-type]
    assert view.status == "passed"
    assert [(x.rule, x.status, x.actual) for x in view.results if x.kind == "quality"] == [
        ("every batch names its plant", "passed", 0),
        ("nullValues", "passed", 0),
    ]
    history = dataset_checks.dataset_checks(b.platform, b.anna, BATCHES).history
    assert [h.trigger for h in history] == ["manual"] * 3 + ["share"] * 3 + ["manual"] * 3  # newest first


def test_a_blocking_contract_rule_guards_every_share(batches: Batches) -> None:
    """`severity: error` makes the rule blocking: the contract's promise is kept at the gate of a share."""
    b = batches
    import_contract(b.platform, b.anna, CONTRACT)
    madrid = b.csv("madrid.csv", "6,Madrid,ok,10.0,B-006,2020-01-06 08:00:00,")

    with pytest.raises(Conflict, match="plant in \\(Berlin, Lyon, Porto\\)"):
        b.append(madrid)
