"""Checks from a data contract (ODCS v3): each promise of the contract becomes a check, run like any other."""

from __future__ import annotations

from pathlib import Path

import pytest
from open_data_contract_standard.model import OpenDataContractStandard

from threshold.quality import dataset_checks
from threshold.quality.contract_rules import checks_from_odcs, odcs_rules, sync_contract

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
    import yaml

    model = OpenDataContractStandard.model_validate(yaml.safe_load(CONTRACT))
    assert _summary(checks_from_odcs(model)) == _summary(checks_from_odcs(yaml.safe_load(CONTRACT)))


def test_syncing_a_contract_replaces_only_contract_checks_and_they_run(batches: Batches) -> None:
    b = batches
    manual = b.add("not_null", column="plant")
    first = sync_contract(b.platform, b.anna, BATCHES, CONTRACT)
    again = sync_contract(b.platform, b.anna, BATCHES, CONTRACT)

    assert len(first["added"]) == 10 and first["removed"] == [] and first["invalid"] == []
    assert sorted(again["removed"]) == sorted(first["added"])
    listed = dataset_checks.dataset_checks(b.platform, b.anna, BATCHES)["checks"]
    assert len(listed) == 11 and manual["id"] in [c["id"] for c in listed]
    runs = {r["name"]: r for r in dataset_checks.run(b.platform, b.anna, BATCHES)}
    assert runs["SELECT count(*) FROM manufacturing.batches WHERE weight_kg > 100"]["status"] == "fail"
    assert runs["plant in (Berlin, Lyon, Porto)"]["status"] == "pass"
    assert runs["batch_id is unique"]["failing"] == 1


def test_a_contract_about_another_table_is_refused(batches: Batches) -> None:
    from threshold.errors import InvalidInput

    two = CONTRACT.replace("schema:\n", "schema:\n  - name: other\n    properties: [{name: x, required: true}]\n")
    with pytest.raises(InvalidInput, match="say which one"):
        sync_contract(batches.platform, batches.anna, "manufacturing.plant_kpis", two)
