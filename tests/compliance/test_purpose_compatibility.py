"""Purpose compatibility: a guardrail the governance group configures compares a query's or an access
request's purpose with the purpose the data was collected for (the register); compatible ones pass, the others
are refused or routed to review, and explain names the rule that decided. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from threshold.compliance import register as reg
from threshold.errors import Denied, InvalidInput
from threshold.gateway.service import query
from threshold.governance.controls import explain
from threshold.governance.policies import apply
from threshold.governance.requests import request_access

RULE = """scope: global
guardrails:
  - id: purpose-compatibility
    kind: compatible_purposes
    on_incompatible: {mode}
    categories:
      operations: [plant performance reporting, maintenance planning]
      analytics: [reporting, statistics]
      marketing: [newsletter, advertising]
    compatible:
      operations: [analytics]
"""
DATASET = "manufacturing.plant_kpis"


def _setup(org: Any, mode: str) -> None:
    p = org.platform
    reg.set_record(p, org.anna, DATASET, legal_basis="legitimate_interests")  # purpose: the share's
    apply(p, org.admin, RULE.format(mode=mode), reason="purposes follow collection")


def test_a_compatible_purpose_passes_and_an_incompatible_one_is_refused(any_org: Any) -> None:
    p = any_org.platform
    _setup(any_org, "refuse")
    assert query(p, f"SELECT plant FROM {DATASET}", user=any_org.ben, purpose="statistics").table.num_rows == 5
    assert query(p, f"SELECT plant FROM {DATASET}", user=any_org.ben, purpose="maintenance planning").table.num_rows
    with pytest.raises(Denied) as refused:
        query(p, f"SELECT plant FROM {DATASET}", user=any_org.ben, purpose="advertising")
    assert "guardrail.purpose-compatibility" in str(refused.value)
    assert "collected for 'plant performance reporting' (operations); 'advertising' (marketing)" in str(refused.value)
    # Members of the dataset's domain read their own data whatever the purpose (readers: outside the domain).
    assert query(p, f"SELECT plant FROM {DATASET}", user=any_org.anna, purpose="advertising").table.num_rows == 5
    told = explain(p, any_org.ben, DATASET, purpose="advertising")
    assert told.rule == "guardrail.purpose-compatibility" and told.allowed is False
    with pytest.raises(Denied, match="not a compatible purpose: refused"):
        request_access(p, any_org.ben, DATASET, purpose="newsletter")


def test_review_mode_routes_the_request_to_its_owners(any_org: Any) -> None:
    p = any_org.platform
    _setup(any_org, "review")
    apply(
        p,
        any_org.anna,
        "scope: domain\ndomain: manufacturing\npolicies:\n  - {id: auto, kind: auto_approve, purposes: [newsletter]}\n",
    )
    with pytest.raises(Denied, match="it goes to review"):
        query(p, f"SELECT plant FROM {DATASET}", user=any_org.ben, purpose="newsletter")
    req = request_access(p, any_org.ben, DATASET, purpose="newsletter")
    assert req.status == "pending"  # the auto-approval rule does not grant an incompatible purpose


def test_a_rule_without_a_table_is_refused(any_org: Any) -> None:
    bad = "scope: global\nguardrails:\n  - {id: compat, kind: compatible_purposes}\n"
    with pytest.raises(InvalidInput, match="a compatible_purposes rule needs compatible"):
        apply(any_org.platform, any_org.admin, bad)
