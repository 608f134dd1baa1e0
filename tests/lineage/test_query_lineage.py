"""Column lineage of SQL, checked against hand-written expectations (tests/fixtures/lineage/*.yaml).

TPC-H: the 22 queries of benchmarks/tpch/queries. Cases: one per SQL feature, each also run on
DuckDB over empty tables so that the analysis must see exactly the columns the engine returns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from threshold.lineage.query_lineage import QueryLineage, analyze

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "lineage"
QUERIES = ROOT / "benchmarks" / "tpch" / "queries"

TPCH = yaml.load((FIXTURES / "tpch.yaml").read_text(), Loader=yaml.CSafeLoader)  # libyaml: collected by every worker
CASES = yaml.load((FIXTURES / "cases.yaml").read_text(), Loader=yaml.CSafeLoader)


def _direct(lineage: QueryLineage, prefix: str = "") -> dict[str, set[str]]:
    return {c.name: {f"{o.dataset}.{o.column}".removeprefix(prefix) for o in c.sources} for c in lineage.columns}


def _decided_by(lineage: QueryLineage, prefix: str = "") -> dict[str, set[str]]:
    return {
        c.name: {f"{o.dataset}.{o.column}".removeprefix(prefix) for o in c.indirect}
        for c in lineage.columns
        if c.indirect
    }


def _kinds(lineage: QueryLineage, prefix: str = "") -> dict[str, dict[str, str]]:
    return {
        c.name: {
            f"{o.dataset}.{o.column}".removeprefix(prefix): o.kind + (" masking" if o.masking else "")
            for o in c.sources
        }
        for c in lineage.columns
    }


def _check(lineage: QueryLineage, expected: dict[str, Any], prefix: str = "") -> None:
    columns = expected.get("columns")
    if columns is not None:
        got = _direct(lineage, prefix)
        want = {name: set(sources) for name, sources in columns.items()}
        assert {n: got.get(n) for n in want} == want
        if not expected.get("unresolved"):
            assert [c.name for c in lineage.columns] == list(want), "every output column, in order"
    assert _decided_by(lineage, prefix) == {n: set(s) for n, s in (expected.get("decided_by") or {}).items()}
    if "indirect" in expected:
        assert {f"{o.dataset}.{o.column}".removeprefix(prefix) for o in lineage.indirect} == set(expected["indirect"])
    kinds = _kinds(lineage, prefix)
    for name, want_kinds in (expected.get("kinds") or {}).items():
        assert kinds[name] == want_kinds, name
    unresolved = expected.get("unresolved") or {}
    for c in lineage.columns:
        if c.name in unresolved:
            assert c.unresolved and any(unresolved[c.name] in r for r in c.unresolved), (c.name, c.unresolved)
        else:
            assert c.unresolved == [], (c.name, c.unresolved)
    if expected.get("query_unresolved"):
        assert any(expected["query_unresolved"] in r for r in lineage.unresolved), lineage.unresolved
    else:
        assert lineage.unresolved == []


def test_every_tpch_query_has_expected_lineage() -> None:
    assert sorted(TPCH["queries"]) == [f"q{i:02d}" for i in range(1, 23)]


@pytest.mark.parametrize("name", sorted(TPCH["queries"]))
def test_tpch_column_lineage_matches_the_hand_written_fixture(name: str) -> None:
    domain = TPCH["domain"]
    schemas = {f"{domain}.{table}": cols for table, cols in TPCH["schema"].items()}
    lineage = analyze((QUERIES / f"{name}.sql").read_text(), schemas)

    _check(lineage, TPCH["queries"][name], prefix=f"{domain}.")
    assert set(lineage.datasets) <= set(schemas)
    assert lineage.gaps == 0


def _case_id(case: dict[str, Any]) -> str:
    return str(case["name"]).replace(" ", "-")


@pytest.mark.parametrize("case", CASES["cases"], ids=_case_id)
def test_case_column_lineage(case: dict[str, Any]) -> None:
    schemas = {name: list(cols) for name, cols in CASES["schema"].items()}
    lineage = analyze(case["sql"], schemas)

    _check(lineage, case)


@pytest.fixture(scope="module")
def case_engine() -> duckdb.DuckDBPyConnection:
    """DuckDB with empty tables of the cases' schema (domain = schema, dataset = table)."""
    con = duckdb.connect()
    for full, cols in CASES["schema"].items():
        domain, name = full.split(".")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {domain}")
        con.execute(f"CREATE TABLE {full} ({', '.join(f'{c} {t}' for c, t in cols.items())})")
    return con


@pytest.mark.parametrize("case", [c for c in CASES["cases"] if c.get("runs", True)], ids=_case_id)
def test_case_output_columns_are_what_duckdb_returns(case: dict[str, Any], case_engine: Any) -> None:
    """The analysis sees the engine's columns, in the engine's order (lineage is stored by position)."""
    schemas = {name: list(cols) for name, cols in CASES["schema"].items()}
    returned = case_engine.sql(case["sql"]).columns

    lineage = analyze(case["sql"], schemas)

    assert len(lineage.columns) == len(returned)
    assert [c.name for c in lineage.columns] == [c.lower() for c in returned]


def test_unresolved_columns_are_counted_as_gaps() -> None:
    schemas = {"hr.people": ["id", "name"]}

    lineage = analyze("SELECT id, nickname, coalesce(nickname, name) AS n, 1 AS one FROM hr.people", schemas)

    assert [c.status for c in lineage.columns] == ["resolved", "unresolved", "partial", "constant"]
    assert lineage.gaps == 2


def test_a_gap_in_a_filter_is_a_query_level_gap() -> None:
    lineage = analyze("SELECT id FROM hr.people WHERE nickname = 'x'", {"hr.people": ["id", "name"]})

    assert lineage.columns[0].status == "resolved"
    assert lineage.unresolved and "nickname" in lineage.unresolved[0]
    assert lineage.gaps == 1
