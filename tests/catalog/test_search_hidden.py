"""A search by someone who may not know a dataset exists answers exactly as if it did not exist: its words
neither find it nor change what else is found, how it is found (typos, parts of words) or why."""

from __future__ import annotations

import dataclasses
from typing import Any

import pyarrow as pa
import pytest

from threshold.catalog.search import search
from threshold.governance.controls import set_visibility
from threshold.sharing.service import share

VISIBLE = {
    # found by a typo of "salary" ("salery"), and by "salary" only as a typo or a part of a word
    "sales.targets": {"salery_plan": [1.0], "region": ["north"]},
    "sales.bonus_rules": {"salarybands": ["A"], "rate": [0.1]},
    "sales.planning": {"quota": [3], "region": ["south"]},
}
HIDDEN = {"finance.payroll": {"salary": [52000.0], "quota": [1], "region": ["x"], "employee": ["e1"]}}
QUERIES = ["salary", "salry", "salarys", "quota region", "salary region", "employee quota region", "payroll"]


def _share(org: Any, tables: dict[str, dict[str, list[Any]]]) -> None:
    for full, columns in tables.items():
        domain, name = full.split(".")
        share(org.platform, pa.table(columns), domain=domain, name=name, user=org.admin)


def _answers(org: Any, who: Any) -> dict[str, Any]:
    return {q: dataclasses.asdict(search(org.platform, q, viewer=who, announce=False)) for q in QUERIES}


@pytest.mark.parametrize("hidden_how", ["restricted", "on a hidden domain"])
def test_an_outsiders_search_is_the_same_with_or_without_a_hidden_dataset(org: Any, hidden_how: str) -> None:
    _share(org, VISIBLE)
    without = _answers(org, org.carla)
    _share(org, HIDDEN)
    target = "finance.payroll" if hidden_how == "restricted" else "finance"
    set_visibility(org.platform, org.ben, target, "restricted")

    assert _answers(org, org.carla) == without
    # ... while the dataset is there for its domain, and its words change what ben finds
    mine = search(org.platform, "salary", viewer=org.ben, announce=False)
    assert "finance.payroll" in [r["name"] for r in mine.results]


def test_a_typo_finds_what_the_reader_may_see_even_when_a_hidden_word_is_closer(org: Any) -> None:
    _share(org, {"sales.targets": {"salery_plan": [1.0]}})
    _share(org, HIDDEN)
    set_visibility(org.platform, org.ben, "finance.payroll", "restricted")

    found = search(org.platform, "salary", viewer=org.carla, announce=False)

    assert [(r["name"], r["match"]) for r in found.results] == [("sales.targets", "column “salery” (for “salary”)")]


def test_an_insight_search_is_the_same_with_or_without_an_insight_the_reader_may_not_view(org: Any) -> None:
    from threshold.insights import service

    sql = "SELECT plant, scrap_rate FROM manufacturing.plant_kpis ORDER BY plant"
    service.save(org.platform, org.anna, title="Salery planning by plant", sql=sql)
    service.save(org.platform, org.anna, title="Kiln salarybands", sql=sql)

    def found(text: str) -> dict[str, str | None]:
        return {c.title: c.matched for c in service.listing(org.platform, org.carla, search=text).items}

    asked = ["salary", "salry", "kiln salary"]
    without = {q: found(q) for q in asked}
    service.save(org.platform, org.anna, title="Salary review", sql=sql, audience="private")

    assert {q: found(q) for q in asked} == without
    assert without["salary"] == {"Salery planning by plant": "title “salery” (for “salary”)"}
