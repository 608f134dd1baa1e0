"""Policy files: what is refused and how it says so, versions with who and why, who may write what,
precedence (guardrails first, the strictest mask wins), and reader placeholders that stay literals.

Refusals are data: `tests/fixtures/governance/refused_policies.yaml` (format in its header).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa
import yaml

import inprocess
from threshold.access.reading import decide
from threshold.errors import Denied, InvalidInput, NotFound
from threshold.gateway.service import query
from threshold.governance import requests as access
from threshold.governance.audit import search
from threshold.governance.policies import PERSONAL_GUARDRAIL, active_rules, apply, list_policies
from threshold.identity.service import add_user, get_person
from threshold.sharing.service import share

REFUSED = yaml.safe_load(
    (Path(__file__).parent.parent / "fixtures" / "governance" / "refused_policies.yaml").read_text(encoding="utf-8")
)["cases"]
ERRORS = {"invalid": InvalidInput, "denied": Denied, "not found": NotFound}
DATASET = "manufacturing.plant_kpis"


def _counts(platform: Any) -> tuple[int, int]:
    with platform.store.engine.connect() as c:
        policies = c.execute(sa.text("SELECT count(*) FROM policies")).scalar_one()
        audit = c.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one()
    return int(policies), int(audit)


def test_the_refusal_fixture_is_well_formed() -> None:
    names = [c["name"] for c in REFUSED]
    assert len(names) == len(set(names))
    for c in REFUSED:
        assert c["error"] in ERRORS and c["says"] and isinstance(c["file"], str), c["name"]


@pytest.fixture(scope="module")
def refusing_org(module_any_org: Any) -> Any:
    """module_any_org plus finance.budget (cost_centre, amount), shared by ben; refusals change nothing."""
    budget = pa.table({"cost_centre": ["CC-1"], "amount": [1.0]})
    share(module_any_org.platform, budget, domain="finance", name="budget", user=module_any_org.ben)
    return module_any_org


@pytest.mark.parametrize("case", REFUSED, ids=[c["name"] for c in REFUSED])
def test_a_refused_policy_file_says_why_in_one_line_and_changes_nothing(
    case: dict[str, Any], refusing_org: Any
) -> None:
    org = refusing_org
    before = _counts(org.platform)
    with pytest.raises((InvalidInput, Denied, NotFound)) as raised:
        apply(org.platform, get_person(org.platform, case.get("as", "anna")), case["file"], reason="test")
    error = raised.value
    assert isinstance(error, ERRORS[case["error"]]), f"{type(error).__name__}: {error}"
    message = str(error)
    assert message and "\n" not in message, f"not one line: {message!r}"
    for fragment in case["says"]:
        assert fragment.lower() in message.lower(), f"{message!r} lacks {fragment!r}"
    assert _counts(org.platform) == before, "a refused file changed policies or the audit log"


# --- versions, who and why --------------------------------------------------------------------------------

V1 = """\
domain: manufacturing
policies:
  - {id: energy, kind: mask, datasets: [plant_kpis], columns: [energy_kwh], mask: hash}
  - {id: berlin, kind: row_filter, datasets: [plant_kpis], where: "plant = 'Berlin'", readers: {domains: [finance]}}
"""
V2 = """\
domain: manufacturing
policies:
  - {id: energy, kind: mask, datasets: [plant_kpis], columns: [energy_kwh], mask: redact}
  - {id: scrap, kind: mask, datasets: [plant_kpis], columns: [scrap_rate], mask: "null"}
"""


def _rows(platform: Any, person: Any, sql: str = f"SELECT * FROM {DATASET}", **kw: Any) -> list[dict[str, Any]]:
    return query(platform, sql, user=person, **kw).table.to_pylist()


def test_apply_creates_updates_and_retires_rules_with_versions_who_and_why(any_org: Any) -> None:
    p = any_org.platform
    first = apply(p, any_org.anna, V1, reason="finance budgets Berlin")
    assert sorted(first.created) == ["manufacturing.berlin", "manufacturing.energy"]
    assert first.updated == first.retired == []
    assert {r["plant"] for r in _rows(p, any_org.ben)} == {"Berlin"}
    assert {r["plant"] for r in _rows(p, any_org.carla)} == {"Berlin", "Lyon", "Porto"}  # the filter names finance

    again = apply(p, any_org.anna, V1, reason="no change")
    assert sorted(again.unchanged) == ["manufacturing.berlin", "manufacturing.energy"]
    assert again.created == again.updated == again.retired == []

    second = apply(p, any_org.admin, V2, reason="energy is secret now")
    assert second.updated == ["manufacturing.energy"]
    assert second.retired == ["manufacturing.berlin"]
    assert second.created == ["manufacturing.scrap"]

    history = [(r.rule, r.version, r.active, r.author, r.reason) for r in list_policies(p, history=True)]
    assert history[0] == (PERSONAL_GUARDRAIL, 1, True, None, "built in")
    assert sorted(history[1:]) == [
        ("manufacturing.berlin", 1, False, "anna", "finance budgets Berlin"),
        ("manufacturing.berlin", 2, False, "admin", "energy is secret now"),
        ("manufacturing.energy", 1, False, "anna", "finance budgets Berlin"),
        ("manufacturing.energy", 2, True, "admin", "energy is secret now"),
        ("manufacturing.scrap", 1, True, "admin", "energy is secret now"),
    ]
    active = {r.rule: r for r in list_policies(p)}
    assert set(active) == {PERSONAL_GUARDRAIL, "manufacturing.energy", "manufacturing.scrap"}
    assert active["manufacturing.energy"].spec["mask"] == "redact"
    assert {(r.rule_id, r.version) for r in active_rules(p)} == {
        ("manufacturing.energy", 2),
        ("manufacturing.scrap", 1),
    }

    rows = _rows(p, any_org.ben)
    assert len(rows) == 5, "the retired row filter no longer applies"
    assert {(r["energy_kwh"], r["scrap_rate"]) for r in rows} == {(None, None)}  # redact on a number: NULL

    applied = search(p, any_org.admin, action="policy.applied")
    assert [(e.actor, sorted(e.rules), e.detail["reason"]) for e in applied] == [
        ("admin", ["manufacturing.berlin", "manufacturing.energy", "manufacturing.scrap"], "energy is secret now"),
        ("anna", ["manufacturing.berlin", "manufacturing.energy"], "finance budgets Berlin"),
    ], "an unchanged file leaves no audit entry"


def test_dataset_settings_in_a_policy_file(any_org: Any) -> None:
    p = any_org.platform
    apply(
        p,
        any_org.anna,
        "domain: manufacturing\ndefault_visibility: on-request\n"
        "datasets:\n  plant_kpis: {visibility: open, allowed_purposes: [Energy Cost Forecast]}\n",
    )
    d = decide(p, any_org.ben, [DATASET], "energy cost forecast")[0]
    assert (d.allowed, d.visibility, d.rule) == (True, "open", "visibility.open")
    denied = decide(p, any_org.ben, [DATASET], "marketing")[0]
    assert (denied.allowed, denied.rule) == (False, "dataset.allowed-purposes")


# --- who may write what --------------------------------------------------------------------------------------


def test_a_global_file_needs_the_governance_group(any_org: Any) -> None:
    p = any_org.platform
    guard = "scope: global\nguardrails:\n  - {id: no-marketing, kind: deny_purpose, purposes: [marketing]}\n"
    with pytest.raises(Denied, match="policy.global-author"):
        apply(p, any_org.anna, guard)
    gina = add_user(p, "gina", governance=True)
    assert apply(p, gina, guard, reason="no marketing on plant data").created == ["guardrail.no-marketing"]
    assert apply(p, any_org.admin, guard).unchanged == ["guardrail.no-marketing"]
    with pytest.raises(Denied, match=r"guardrail\.no-marketing"):
        query(p, f"SELECT plant FROM {DATASET}", user=any_org.ben, purpose="Marketing")
    assert _rows(p, any_org.ben, f"SELECT plant FROM {DATASET}", purpose="reporting")


def test_the_built_in_guardrail_stays_on_whatever_a_global_file_says(any_org: Any) -> None:
    p = any_org.platform
    apply(p, any_org.admin, "scope: global\nguardrails:\n  - {id: no-ads, kind: deny_purpose, purposes: [ads]}\n")
    result = apply(p, any_org.admin, "scope: global\nguardrails: []\n", reason="start over")
    assert result.retired == ["guardrail.no-ads"]
    assert list_policies(p)[0].rule == PERSONAL_GUARDRAIL
    assert {r["e_mail"] for r in _rows(p, any_org.ben)} == {"***"}


# --- precedence: guardrails first, the strictest mask wins ----------------------------------------------------


def _column(decision: Any, name: str) -> Any:
    return next(c for c in decision.columns if c.name == name)


def test_a_domain_mask_cannot_weaken_the_personal_data_guardrail(any_org: Any) -> None:
    p = any_org.platform
    apply(
        p, any_org.anna, "domain: manufacturing\npolicies:\n  - {id: mail, kind: mask, columns: [e_mail], mask: hash}\n"
    )
    e_mail = _column(decide(p, any_org.ben, [DATASET], None)[0], "e_mail")
    assert (e_mail.mask, e_mail.rules) == ("redact", [PERSONAL_GUARDRAIL, "manufacturing.mail"])
    assert e_mail.why.startswith(f"shown as *** by {PERSONAL_GUARDRAIL}")
    assert {r["e_mail"] for r in _rows(p, any_org.ben)} == {"***"}
    assert "anna.schmidt@example.com" in {r["e_mail"] for r in _rows(p, any_org.anna)}, "members read their own data"


def test_a_domain_rule_that_names_its_members_applies_to_them(any_org: Any) -> None:
    p = any_org.platform
    apply(
        p,
        any_org.anna,
        "domain: manufacturing\npolicies:\n"
        "  - {id: mail, kind: mask, columns: [e_mail], mask: partial, readers: everyone}\n",
    )
    assert "a***@example.com" in {r["e_mail"] for r in _rows(p, any_org.anna)}
    assert {r["e_mail"] for r in _rows(p, any_org.ben)} == {"***"}, "partial is weaker than the guardrail's redact"


def test_a_stricter_global_guardrail_wins(any_org: Any) -> None:
    p = any_org.platform
    apply(
        p,
        any_org.admin,
        "scope: global\nguardrails:\n  - {id: personal-empty, kind: mask, tags: [personal], mask: 'null'}\n",
    )
    e_mail = _column(decide(p, any_org.ben, [DATASET], None)[0], "e_mail")
    assert (e_mail.mask, e_mail.rules) == ("null", [PERSONAL_GUARDRAIL, "guardrail.personal-empty"])
    assert {(r["e_mail"], r["operator_name"]) for r in _rows(p, any_org.ben)} == {(None, None)}


def test_a_grant_for_personal_data_lifts_the_guardrail_but_not_the_domains_own_mask(any_org: Any) -> None:
    p = any_org.platform
    apply(
        p, any_org.anna, "domain: manufacturing\npolicies:\n  - {id: mail, kind: mask, columns: [e_mail], mask: hash}\n"
    )
    req = access.request_access(p, any_org.ben, DATASET, purpose="payroll audit")
    access.approve(p, any_org.anna, req.id, reason="audit needs names", allow_personal=True)
    rows = _rows(p, any_org.ben, purpose="payroll audit")
    assert "Anna Schmidt" in {r["operator_name"] for r in rows}, "the guardrail is lifted for this purpose"
    assert all(r["e_mail"].startswith("h_") for r in rows), "the domain's stricter rule still holds"
    assert {r["operator_name"] for r in _rows(p, any_org.ben, purpose="reporting")} == {"***"}


# --- row filters with reader placeholders: always literals, never SQL ------------------------------------------


def _plants_for(org: Any, name: str) -> list[str]:
    return sorted(
        r["plant"] for r in _rows(org.platform, get_person(org.platform, name), f"SELECT plant FROM {DATASET}")
    )


def _filter(org: Any, where: str) -> None:
    spec = {
        "domain": "manufacturing",
        "policies": [{"id": "by-reader", "kind": "row_filter", "datasets": ["plant_kpis"], "where": where}],
    }
    apply(org.platform, org.anna, yaml.safe_dump(spec))


@pytest.mark.parametrize(
    "where",
    [
        "plant = {reader.site}",
        "plant = 'Berlin' AND plant = {reader.site} -- the reader's {reader.site}",
        "plant = {reader.site} /* sites: {reader.site} */",
    ],
    ids=["plain", "in-a-line-comment", "in-a-block-comment"],
)
def test_an_attribute_is_a_quoted_literal_whatever_it_contains(where: str, any_org: Any) -> None:
    org = any_org
    sites = {
        "dora": "Berlin",
        "emil": "Berlin' OR 'x'='x",
        "finn": "Lyon') OR (true",
        "gus": "x\nOR true)--",
        "hal": "x */ OR true /*",
        "ida": 'Berlin" OR true OR "',
    }
    for name, site in sites.items():
        add_user(org.platform, name, domains=("finance",), attributes={"site": site})
    _filter(org, where)
    assert _plants_for(org, "dora") == ["Berlin", "Berlin"]
    for name in ("emil", "finn", "gus", "hal", "ida"):
        assert _plants_for(org, name) == [], f"{name}'s site {sites[name]!r} widened the filter"
    assert _plants_for(org, "ben") == [], "no site attribute reads as NULL: no rows"


def test_reader_name_domain_and_domains_placeholders(any_org: Any) -> None:
    org = any_org
    _filter(org, "plant = 'Porto' OR {reader.name} = 'carla' OR list_contains({reader.domains}, 'finance')")
    assert _plants_for(org, "carla") == ["Berlin", "Berlin", "Lyon", "Lyon", "Porto"]
    assert len(_plants_for(org, "ben")) == 5
    add_user(org.platform, "olga", domains=("sales",))
    assert _plants_for(org, "olga") == ["Porto"]
    _filter(org, "plant = 'Lyon' AND {reader.domain} = 'sales'")
    assert _plants_for(org, "olga") == ["Lyon", "Lyon"]
    assert _plants_for(org, "ben") == []
    olga = decide(org.platform, get_person(org.platform, "olga"), [DATASET], None)[0]
    assert olga.explain()["row_filters"] == [
        {"rule": "manufacturing.by-reader", "where": "plant = 'Lyon' AND 'sales' = 'sales'"}
    ]


# --- the CLI ------------------------------------------------------------------------------------------------


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return inprocess.threshold(*args, home=home, columns=120)


def test_policy_apply_and_list_from_the_cli(org: Any, tmp_path: Path) -> None:
    home = org.platform.settings.home_dir
    policy = tmp_path / "manufacturing.yaml"
    policy.write_text(V1, encoding="utf-8")
    done = _cli(home, "policy", "apply", str(policy), "--as", "anna", "--reason", "budgets", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(done.stdout)["created"]) == ["manufacturing.berlin", "manufacturing.energy"]
    listed = _cli(home, "policy", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    rules = {r["rule"]: r for r in json.loads(listed.stdout)}
    assert rules["manufacturing.berlin"]["author"] == "anna" and rules["manufacturing.berlin"]["reason"] == "budgets"
    refused = _cli(home, "policy", "apply", str(policy), "--as", "ben")
    assert refused.returncode != 0
    assert refused.stderr.strip().count("\n") == 0 and "policy.domain-author" in refused.stderr
    assert "Traceback" not in refused.stderr
