"""What can I see, and why? Per column, the mask and every rule that asked for it; the row filters;
who may ask about whom; the same answer from the service and from `threshold explain --format json`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

import inprocess
from threshold.errors import Denied, NotFound
from threshold.governance import requests as access
from threshold.governance.controls import explain, set_visibility
from threshold.governance.policies import PERSONAL_GUARDRAIL
from threshold.governance.results import Explanation
from threshold.identity.service import add_user

DATASET = "manufacturing.plant_kpis"

# What ben (finance) sees of manufacturing.plant_kpis under MANUFACTURING_POLICY: column -> (mask, rules).
BEN_SEES = {
    "plant": (None, []),
    "operator_name": ("redact", [PERSONAL_GUARDRAIL]),
    "e_mail": ("redact", [PERSONAL_GUARDRAIL, "manufacturing.email-hashed"]),
    "scrap_rate": (None, []),
    "energy_kwh": ("hash", ["manufacturing.energy-hashed"]),
    "day": (None, []),
}


def _columns(e: Explanation | dict[str, Any]) -> dict[str, tuple[str | None, list[str]]]:
    """Each column's (mask, rules), of the service's explanation or of its JSON form (the CLI's)."""
    explained = e.to_json() if isinstance(e, Explanation) else e
    return {c["column"]: (c["mask"], c["rules"]) for c in explained["columns"]}


def test_explain_names_the_rule_behind_every_mask_and_filter(governed: Any) -> None:
    e = explain(governed.platform, governed.ben, DATASET)
    assert (e.reader, e.reader_domains, e.allowed, e.rule) == ("ben", ["finance"], True, "visibility.open")
    assert _columns(e) == BEN_SEES
    why = {c.column: c.why for c in e.columns}
    assert why["e_mail"].startswith(f"shown as *** by {PERSONAL_GUARDRAIL}")
    assert (
        why["energy_kwh"].startswith("replaced by a keyed hash") and "manufacturing.energy-hashed" in why["energy_kwh"]
    )
    assert all(c.visible == (c.mask is None) for c in e.columns)
    assert e.to_json()["row_filters"] == [{"rule": "manufacturing.finance-sees-berlin", "where": "plant = 'Berlin'"}]
    assert "threshold request manufacturing.plant_kpis" in (e.how_to_see_more or "")


def test_members_see_everything_and_others_only_what_rules_name(governed: Any) -> None:
    p = governed.platform
    mine = explain(p, governed.anna, DATASET)
    assert (mine.rule, mine.row_filters, "how_to_see_more" in mine.to_json()) == ("visibility.member", [], False)
    assert {c.mask for c in mine.columns} == {None}
    carla = explain(p, governed.carla, DATASET)  # sales: masked, but the row filter names finance only
    assert carla.row_filters == []
    assert _columns(carla) == BEN_SEES


def test_who_may_explain_whose_access(governed: Any) -> None:
    p = governed.platform
    assert _columns(explain(p, governed.anna, DATASET, reader="ben")) == BEN_SEES, "owners ask about anyone"
    assert explain(p, governed.admin, DATASET, reader="ben").reader == "ben"
    gabi = add_user(p, "gabi", governance=True)
    assert explain(p, gabi, DATASET, reader="ben").reader == "ben"
    with pytest.raises(Denied, match=r"explain\.self"):
        explain(p, governed.carla, DATASET, reader="ben")


def test_another_domains_restricted_dataset_cannot_be_explained(any_governed: Any) -> None:
    """As in the catalog: for people outside its domain, a restricted dataset does not exist."""
    org, p = any_governed, any_governed.platform
    set_visibility(p, org.anna, DATASET, "restricted")
    with pytest.raises(NotFound):
        explain(p, org.ben, DATASET)
    assert explain(p, org.anna, DATASET, reader="ben").rule == "visibility.restricted"
    assert explain(p, org.admin, DATASET).allowed is True


def test_explain_for_a_purpose(any_governed: Any) -> None:
    org, p = any_governed, any_governed.platform
    set_visibility(p, org.anna, DATASET, "on-request")
    no_grant = explain(p, org.ben, DATASET, purpose="payroll audit")
    assert (no_grant.allowed, no_grant.rule) == (False, "visibility.on-request")
    assert "ask its owners for access" in no_grant.reason
    req = access.request_access(p, org.ben, DATASET, purpose="payroll audit")
    grant = access.approve(p, org.anna, req.id, allow_personal=True).grant
    e = explain(p, org.ben, DATASET, purpose="Payroll Audit")
    assert (e.allowed, e.rule, e.purpose, e.grant) == (True, "grant", "payroll audit", grant)
    assert _columns(e)["operator_name"] == (None, []), "the grant lifts the guardrail for its purpose"
    assert _columns(e)["e_mail"] == ("hash", ["manufacturing.email-hashed"]), "the domain's own mask stays"
    assert explain(p, org.ben, DATASET).purpose == "payroll audit", "the only granted purpose applies"


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return inprocess.threshold(*args, home=home, columns=200)


def test_the_cli_explains_in_json_what_the_service_explains(governed: Any) -> None:
    home = governed.platform.settings.home_dir
    done = _cli(home, "explain", DATASET, "--as", "ben", "--format", "json")
    assert done.returncode == 0, done.stderr
    e = json.loads(done.stdout)
    assert e == json.loads(json.dumps(explain(governed.platform, governed.ben, DATASET).to_json()))
    assert _columns(e) == BEN_SEES

    table = _cli(home, "explain", DATASET, "--as", "ben", "--purpose", "energy cost forecast")
    assert table.returncode == 0, table.stderr
    assert "ben may read manufacturing.plant_kpis" in table.stdout
    assert "purpose: energy cost forecast" in table.stdout
    assert "masked (hash)" in table.stdout and "masked (redact)" in table.stdout
    assert "rows filtered by manufacturing.finance-sees-berlin: plant = 'Berlin'" in table.stdout
    assert not governed.protected.found_in(table.stdout + done.stdout, allowed=["Berlin"])
