"""Governance without YAML: a form's change made into the domain's policy file, planned in words without
changing anything, then applied with the same words."""

from __future__ import annotations

from typing import Any

import pytest

from threshold.catalog.service import describe
from threshold.errors import Denied, InvalidInput
from threshold.governance import editing, policies
from threshold.governance.editing import Change

PLANT = "manufacturing.plant_kpis"


def _visibility(org: Any) -> str:
    return str(describe(org.platform, PLANT).visibility)


def test_a_visibility_change_is_planned_then_applied_in_words(org: Any) -> None:
    change = Change("dataset", dataset="plant_kpis", visibility="on-request", purposes=["reporting", " Audit "])
    text = editing.edited_file(org.platform, org.anna, "manufacturing", change)
    plan = policies.plan(org.platform, org.anna, text)
    assert not plan.applied and _visibility(org) == "open"  # nothing written by a plan
    assert plan.changes == [
        "manufacturing.plant_kpis would be made on-request (it was open (the domain's default)).",
        "manufacturing.plant_kpis would be readable for the purposes audit, reporting (it was any purpose).",
    ]
    done = policies.apply(org.platform, org.anna, text, reason="customers' data")
    assert done.in_words() == (
        "manufacturing.plant_kpis was made on-request (it was open (the domain's default)). "
        "manufacturing.plant_kpis is readable for the purposes audit, reporting (it was any purpose)."
    )
    assert _visibility(org) == "on-request"
    assert policies.plan(org.platform, org.anna, text).in_words() == "Nothing would change."


def test_mask_row_filter_and_auto_approval_rules_from_forms(org: Any) -> None:
    p, anna = org.platform, org.anna
    mask = Change("mask", dataset="plant_kpis", columns=["energy_kwh"], mask="hash", description="sensitive")
    policies.apply(p, anna, editing.edited_file(p, anna, "manufacturing", mask))
    rows = Change("row_filter", dataset="plant_kpis", where="plant = 'Lyon'", readers="finance, sales")
    plan = policies.plan(p, anna, editing.edited_file(p, anna, "manufacturing", rows))
    assert plan.changes == [
        "Rule manufacturing.row-filter-plant-kpis would be added: show members of finance, sales only the rows "
        "where plant = 'Lyon' on plant_kpis."
    ]
    auto = Change("auto_approve", purposes=["budgeting"], readers="everyone")
    done = policies.apply(p, anna, editing.edited_file(p, anna, "manufacturing", auto))
    assert done.changes == [
        "Rule manufacturing.auto-approve-all was added: approve requests for budgeting at once (without personal "
        "columns) on every dataset."
    ]
    words = [r["words"] for r in editing.rules_of(p, anna, "manufacturing").rules]
    assert words == [
        "approve requests for budgeting at once (without personal columns) on every dataset",
        "mask columns energy_kwh with hash for readers outside manufacturing on plant_kpis",
    ]
    removed = policies.apply(
        p, anna, editing.edited_file(p, anna, "manufacturing", Change("remove", rule_id="mask-plant-kpis"))
    )
    assert removed.in_words() == (
        "Rule manufacturing.mask-plant-kpis was removed (mask columns energy_kwh with hash for readers outside "
        "manufacturing on plant_kpis)."
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (Change("mask", dataset="plant_kpis"), "a mask rule needs columns or tags"),
        (Change("mask", dataset="plant_kpis", columns=["nope"]), "plant_kpis has no column nope"),
        (Change("row_filter", dataset="plant_kpis", where="plant = "), "is not a valid SQL condition"),
        (Change("dataset", dataset="nothing_here", visibility="open"), "manufacturing has no dataset 'nothing_here'"),
        (Change("remove", rule_id="ghost"), "manufacturing has no rule 'ghost'"),
        (Change("dataset", dataset="plant_kpis", visibility="secret"), "visibility"),
    ],
)
def test_bad_form_input_says_what_is_wrong_and_changes_nothing(org: Any, change: Change, message: str) -> None:
    before = policies.list_policies(org.platform)
    with pytest.raises(InvalidInput, match=None) as e:
        policies.plan(org.platform, org.anna, editing.edited_file(org.platform, org.anna, "manufacturing", change))
    assert message in str(e.value) and "\n" not in str(e.value)
    assert policies.list_policies(org.platform) == before and _visibility(org) == "open"


def test_only_owners_edit_a_domain_with_forms(org: Any) -> None:
    with pytest.raises(Denied):
        editing.rules_of(org.platform, org.ben, "manufacturing")
