"""The audit log: every authorisation decision and governance change, with rule ids; append-only;
owners search their domains' data (and their own actions), the governance group everything."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest

import inprocess
from prepared import on_org
from threshold.api.app import create_app
from threshold.errors import InvalidInput
from threshold.gateway.service import query
from threshold.governance import audit
from threshold.governance import requests as access
from threshold.governance.controls import set_purposes, set_visibility, tag, untag
from threshold.governance.policies import PERSONAL_GUARDRAIL, apply
from threshold.identity.service import add_user
from threshold.sharing.service import share

KPIS = "manufacturing.plant_kpis"
BUDGET = "finance.budget"

FINANCE_POLICY = """\
domain: finance
policies:
  - {id: own-cost-centre, kind: row_filter, datasets: [budget], where: "cost_centre = 'CC-1'"}
"""


@on_org("logged")
def _build_logged(any_org: Any, tmp: Any = None) -> Any:
    """An org whose audit log holds one of every kind of decision and change."""
    org, p = any_org, any_org.platform
    budget = pa.table({"cost_centre": ["CC-1", "CC-2"], "amount": [10.0, 20.0]})
    share(p, budget, domain="finance", name="budget", user=org.ben)
    apply(p, org.ben, FINANCE_POLICY, reason="cost centres stay private")
    query(p, f"SELECT * FROM {KPIS}", user=org.anna)  # query.allowed
    query(p, f"SELECT * FROM {KPIS}", user=org.ben, purpose="forecasting")  # query.masked
    query(p, f"SELECT * FROM {BUDGET}", user=org.carla)  # query.filtered
    apply(
        p,
        org.anna,
        "domain: manufacturing\npolicies:\n  - {id: no-lyon, kind: row_filter, where: \"plant <> 'Lyon'\"}\n",
    )
    query(p, f"SELECT * FROM {KPIS}", user=org.carla)  # query.masked+filtered
    tag(p, org.anna, f"{KPIS}.plant", "site")
    untag(p, org.anna, f"{KPIS}.plant", "site")
    set_purposes(p, org.anna, KPIS, ["forecasting"])
    set_visibility(p, org.anna, KPIS, "restricted")
    with pytest.raises(InvalidInput, match="unknown dataset"):  # hidden from carla: answered as unknown
        query(p, f"SELECT * FROM {KPIS}", user=org.carla, purpose="forecasting")  # query.denied
    set_visibility(p, org.anna, KPIS, "on-request")
    req = access.request_access(p, org.carla, KPIS, purpose="forecasting")
    grant = access.approve(p, org.anna, req.id, reason="ok").grant
    access.revoke(p, org.anna, grant, reason="done")
    other = access.request_access(p, org.ben, KPIS, purpose="forecasting")
    access.deny(p, org.anna, other.id, reason="ask anna first")
    return org


@pytest.fixture
def logged(any_org: Any, prepared_homes: Any) -> Any:
    """`_build_logged`: a copy of its home built once per session."""
    if not prepared_homes.adopt(any_org, _build_logged):
        _build_logged(any_org)
    return any_org


def test_every_decision_and_change_is_recorded_with_its_rules(logged: Any) -> None:
    org = logged
    entries = list(reversed(audit.search(org.platform, org.admin)))
    got = {(e.actor, e.action, e.dataset, tuple(e.rules)) for e in entries}
    expected = {
        ("ben", "policy.applied", None, ("finance.own-cost-centre",)),
        ("anna", "query.allowed", KPIS, ("visibility.member",)),
        ("ben", "query.masked", KPIS, ("visibility.open", PERSONAL_GUARDRAIL)),
        ("carla", "query.filtered", BUDGET, ("visibility.open", "finance.own-cost-centre")),
        ("anna", "policy.applied", None, ("manufacturing.no-lyon",)),
        ("carla", "query.masked+filtered", KPIS, ("visibility.open", PERSONAL_GUARDRAIL, "manufacturing.no-lyon")),
        ("anna", "tag.added", KPIS, ()),
        ("anna", "tag.removed", KPIS, ()),
        ("anna", "purposes.set", KPIS, ()),
        ("anna", "visibility.dataset", KPIS, ()),
        ("carla", "query.denied", KPIS, ("visibility.restricted",)),
        ("carla", "request.created", KPIS, ()),
        ("anna", "request.approved", KPIS, ()),
        ("anna", "grant.revoked", KPIS, ()),
        ("ben", "request.created", KPIS, ()),
        ("anna", "request.denied", KPIS, ()),
    }
    assert expected <= got, f"missing: {sorted(expected - got)}"
    masked = next(e for e in entries if e.action == "query.masked")
    assert masked.purpose == "forecasting"
    assert masked.detail["masked"] == {"operator_name": "redact", "e_mail": "redact"}
    assert isinstance(masked.detail["event"], int)
    denied = next(e for e in entries if e.action == "query.denied")
    assert denied.detail["answered"] == "unknown dataset" and "restricted" in denied.detail["reason"]
    filtered = next(e for e in entries if e.action == "query.masked+filtered")
    assert filtered.detail["filters"] == ["manufacturing.no-lyon"]
    assert "Lyon" not in json.dumps(filtered.to_json()), "the record names the rule, not the rows it hid"


def test_owners_see_their_domains_and_their_own_actions_only(logged: Any) -> None:
    org, p = logged, logged.platform
    for e in audit.search(p, org.anna):
        assert e.dataset == KPIS or e.actor == "anna", e
    assert any(e.actor == "carla" for e in audit.search(p, org.anna)), "others' reads of her data"
    for e in audit.search(p, org.ben):
        assert e.dataset == BUDGET or e.actor == "ben", e
    assert not [e for e in audit.search(p, org.ben) if e.dataset == KPIS and e.actor != "ben"]
    assert {e.actor for e in audit.search(p, org.carla)} == {"carla"}, "a plain member sees only herself"
    assert audit.search(p, org.carla, dataset=BUDGET, actor="ben") == []


def test_the_governance_group_and_admins_see_everything(logged: Any) -> None:
    org, p = logged, logged.platform
    everything = audit.search(p, org.admin, limit=10_000)
    gina = add_user(p, "gina", governance=True)
    assert audit.search(p, gina, limit=10_000) == everything
    assert {e.actor for e in everything} >= {"anna", "ben", "carla"}


def test_search_by_dataset_action_and_actor(logged: Any) -> None:
    org, p = logged, logged.platform
    queries = audit.search(p, org.admin, action="query.")
    assert {e.action for e in queries} == {
        "query.allowed",
        "query.masked",
        "query.filtered",
        "query.masked+filtered",
        "query.denied",
    }
    assert {e.dataset for e in audit.search(p, org.admin, dataset=BUDGET)} == {BUDGET}
    assert {e.actor for e in audit.search(p, org.admin, actor="carla")} == {"carla"}
    newest = audit.search(p, org.admin, limit=2)
    assert len(newest) == 2 and newest[0].id > newest[1].id, "newest first"
    assert audit.search(p, org.admin, limit=1, offset=1) == newest[1:]


def test_the_log_is_append_only(logged: Any) -> None:
    """No service function, API route or command changes or deletes an entry; user SQL cannot reach it."""
    org, p = logged, logged.platform
    public = {
        n
        for n in dir(audit)
        if not n.startswith("_")
        and callable(getattr(audit, n))
        and getattr(getattr(audit, n), "__module__", "") == audit.__name__
    }
    assert public == {"append", "append_many", "search"}
    paths = create_app(p).openapi()["paths"]
    audit_routes = {path: sorted(methods) for path, methods in paths.items() if "audit" in path}
    assert audit_routes and all(m == ["get"] for m in audit_routes.values()), audit_routes
    before = audit.search(p, org.admin, limit=10_000)
    for sql in ("SELECT * FROM audit_log", "SELECT * FROM main.audit_log", "DELETE FROM audit_log"):
        with pytest.raises(InvalidInput):
            query(p, sql, user=org.ben)
    after = audit.search(p, org.admin, limit=10_000)
    assert after[len(after) - len(before) :] == before, "earlier entries are unchanged"


def test_the_cli_searches_as_the_person_asking(org: Any) -> None:
    p = org.platform
    query(p, f"SELECT * FROM {KPIS}", user=org.ben)
    query(p, f"SELECT * FROM {KPIS}", user=org.carla)
    done = inprocess.threshold(
        "audit", "--dataset", KPIS, "--as", "ben", "--format", "json", "--home", str(p.settings.home_dir)
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [(r["actor"], r["action"]) for r in rows] == [("ben", "query.masked")], "not carla's read"
