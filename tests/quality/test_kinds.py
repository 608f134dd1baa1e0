"""Every check kind passes and fails on real data with exact counts (cases in fixtures/check_kinds.yaml),
evaluated through the gateway as the owner; checks that cannot be right are refused when added."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from threshold.errors import Denied, InvalidInput, NotFound
from threshold.quality import dataset_checks
from threshold.quality.kinds import KINDS, CheckSpec, kind_of, type_matches

from .conftest import BATCHES, Batches

CASES = yaml.safe_load((Path(__file__).parent / "fixtures" / "check_kinds.yaml").read_text())


def test_every_kind_has_a_failing_and_a_passing_case() -> None:
    for kind in KINDS:
        statuses = {c["status"] for c in CASES if c["kind"] == kind}
        assert statuses == {"pass", "fail"}, kind


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_check_kind(module_batches: Batches, case: dict[str, Any]) -> None:
    added = module_batches.add(case["kind"], **case["options"])

    (run,) = dataset_checks.run(module_batches.platform, module_batches.anna, BATCHES, check_ids=[added.id])

    assert (run.status, run.failing) == (case["status"], case["failing"]), run.message
    if "metric" in case:
        assert run.metric == pytest.approx(case["metric"])


def test_ten_checks_are_evaluated_in_one_scan(module_batches: Batches, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner's point: row rules, unique, row count and freshness share one aggregate query."""
    from threshold.gateway import service

    for kind, options in [
        ("not_null", {"column": "plant", "max_failing": 1}),
        ("unique", {"column": "batch_id", "max_failing": 1}),
        ("accepted_values", {"column": "status", "values": "ok,scrap,weird"}),
        ("range", {"column": "weight_kg", "min": -10, "max": 1000}),
        ("regex", {"column": "code", "pattern": ".+"}),
        ("row_count", {"min": 1}),
        ("freshness", {"column": "produced_at", "max_age": "10000d"}),
        ("not_null", {"column": "batch_id"}),
        ("unique", {"column": "code"}),
        ("freshness", {"max_age": "1h"}),
    ]:
        module_batches.add(kind, **options)
    ids = [c.id for c in dataset_checks.dataset_checks(module_batches.platform, module_batches.anna, BATCHES).checks][
        -10:
    ]
    queries: list[str] = []
    real = service.query
    monkeypatch.setattr(service, "query", lambda p, sql, **kw: queries.append(sql) or real(p, sql, **kw))

    runs = dataset_checks.run(module_batches.platform, module_batches.anna, BATCHES, check_ids=ids)

    assert [r.status for r in runs] == ["pass"] * 10
    assert len(queries) == 1 and queries[0].count("FROM manufacturing.batches") == 1


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("not_null", {"column": "nope"}, "no column 'nope'"),
        ("not_null", {}, "--column"),
        ("accepted_values", {"column": "status"}, "--values"),
        ("accepted_values", {"column": "batch_id", "values": "1,two"}, "'two' is not a number"),
        ("range", {"column": "weight_kg"}, "--min, --max or both"),
        ("range", {"column": "produced_at", "min": "yesterday"}, "do not fit"),
        ("regex", {"column": "code", "pattern": "B-("}, "do not fit"),
        ("row_count", {"min": "many"}, "whole number"),
        ("freshness", {"column": "plant", "max_age": "1d"}, "DATE or TIMESTAMP"),
        ("freshness", {"max_age": "soon"}, "duration"),
        ("schema", {"columns": "plant:NOTATYPE"}, "unknown type"),
        ("sql", {"sql": "SELECT * FROM manufacturing.plant_kpis"}, "reads only manufacturing.batches"),
        ("sql", {"sql": "DELETE FROM manufacturing.batches"}, "read-only"),
        ("sql", {"sql": "SELECT * FROM read_csv('/etc/passwd')"}, "not allowed"),
        ("sql", {"sql": "SELECT * FROM manufacturing.batches FOR VERSION AS OF 1"}, "as it is now"),
        ("sometimes", {}, "unknown check kind"),
    ],
)
def test_a_check_that_cannot_be_right_is_refused(
    module_batches: Batches, kind: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        module_batches.add(kind, **options)


def test_kind_names_have_aliases() -> None:
    assert kind_of("not-null").name == "not_null"
    assert kind_of("Accepted Values").name == "accepted_values"
    assert kind_of("regexp").name == "regex"
    assert kind_of("custom_sql").name == "sql"


@pytest.mark.parametrize(
    ("expected", "actual", "matches"),
    [
        ("string", "VARCHAR", True),
        ("integer", "BIGINT", True),
        ("number", "DECIMAL(15,2)", True),
        ("DECIMAL(15, 2)", "DECIMAL(15,2)", True),
        ("timestamp", "TIMESTAMPTZ", True),
        ("date", "TIMESTAMP", False),
        ("int", "INTEGER", True),
        ("array", "VARCHAR[]", True),
        ("BIGINT", "INTEGER", False),
    ],
)
def test_contract_types_match_lake_types(expected: str, actual: str, matches: bool) -> None:
    assert type_matches(expected, actual) is matches


def test_only_members_of_the_domain_add_or_run_checks(module_batches: Batches) -> None:
    b = module_batches
    with pytest.raises(Denied, match="rule: domain.member"):
        dataset_checks.add(b.platform, b.ben, BATCHES, CheckSpec("not_null", {"column": "plant"}))
    with pytest.raises(Denied, match="threshold report"):
        dataset_checks.run(b.platform, b.ben, BATCHES)
    assert dataset_checks.add(b.platform, b.admin, BATCHES, CheckSpec("not_null", {"column": "plant"})).id


def test_a_restricted_dataset_and_its_checks_do_not_exist_for_outsiders(module_batches: Batches) -> None:
    from threshold.governance import controls

    b = module_batches
    controls.set_visibility(b.platform, b.anna, "manufacturing.plant_kpis", "restricted")
    with pytest.raises(NotFound):
        dataset_checks.dataset_checks(b.platform, b.ben, "manufacturing.plant_kpis")
    controls.set_visibility(b.platform, b.anna, "manufacturing.plant_kpis", "open")


def test_a_removed_check_stops_but_keeps_its_history(module_batches: Batches) -> None:
    b = module_batches
    c = b.add("row_count", min=1)
    dataset_checks.run(b.platform, b.anna, BATCHES, check_ids=[c.id])
    dataset_checks.remove(b.platform, b.anna, c.id)

    listed = dataset_checks.dataset_checks(b.platform, b.anna, BATCHES, history=500)
    assert c.id not in [x.id for x in listed.checks]
    assert c.id in [r.check for r in listed.history]
    assert dataset_checks.check_history(b.platform, b.anna, c.id).runs[0].status == "pass"


def test_a_check_whose_column_was_dropped_errors_alone(batches: Batches) -> None:
    b = batches
    gone = b.add("not_null", column="code")
    kept = b.add("not_null", column="plant")
    from threshold.sharing.service import share

    replacement = b.tmp / "replacement.csv"
    replacement.write_text("batch_id,plant\n1,Berlin\n", encoding="utf-8")
    share(b.platform, replacement, domain="manufacturing", name="batches", mode="replace", user=b.anna)

    runs = {r.check: r for r in dataset_checks.run(b.platform, b.anna, BATCHES)}
    assert runs[gone.id].status == "error" and "code is not a column" in runs[gone.id].message
    assert runs[kept.id].status == "pass"
