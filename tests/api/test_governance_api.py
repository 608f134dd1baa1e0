"""The governance REST API in-process: tokens, policies, owner controls, explain, requests and grants, audit,
time-to-access. Each endpoint's values, and its errors as one-line JSON details with the right status."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from threshold.api.app import create_app
from threshold.governance.policies import PERSONAL_GUARDRAIL
from threshold.identity.service import add_user, create_token

KPIS = "manufacturing.plant_kpis"
MANUFACTURING_FILE = """\
domain: manufacturing
policies:
  - id: forecasts-fast
    kind: auto_approve
    description: Forecasting without personal data is approved at once
    purposes: [forecasting]
  - id: finance-sees-berlin
    kind: row_filter
    datasets: [plant_kpis]
    where: "plant = 'Berlin'"
    readers: {domains: [finance]}
"""


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its cheapest parameters (the org fixture hashes three passwords per test)."""
    from argon2 import PasswordHasher, profiles

    from threshold.identity import service as identity

    monkeypatch.setattr(identity, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))


class Api:
    """A synchronous face on the ASGI app; `as_` names a person whose token is sent (None: anonymous)."""

    def __init__(self, org: Any) -> None:
        self.org = org
        self.app = create_app(org.platform)
        add_user(org.platform, "gina", governance=True, password="gina-pass")
        self.tokens = {n: create_token(org.platform, n)[1] for n in ("admin", "anna", "ben", "carla", "gina")}

    def call(self, method: str, url: str, *, as_: str | None = "anna", **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens.get(as_, as_)}"} if as_ else {}

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://threshold.test") as client:
                return await client.request(method, url, headers=headers, **kwargs)

        return asyncio.run(go())

    def ok(self, method: str, url: str, **kwargs: Any) -> Any:
        r = self.call(method, url, **kwargs)
        assert r.status_code == 200, (method, url, r.status_code, r.text)
        return r.json()


@pytest.fixture
def api(org: Any) -> Api:
    return Api(org)


def _error(r: httpx.Response, status: int) -> str:
    """The one-line JSON `detail` of an error response with `status`."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    detail = r.json()["detail"]
    assert isinstance(detail, str) and detail and "\n" not in detail
    return detail


# --- tokens --------------------------------------------------------------------------------------


def test_signing_in_with_a_password_creates_a_token_that_works(api: Api) -> None:
    body = api.ok("POST", "/api/v1/auth/token", json={"user": "carla", "password": "carla-pass", "days": 7}, as_=None)
    assert body["user"] == "carla" and body["token"].startswith("thr_") and body["days"] == 7
    assert api.ok("GET", "/api/v1/me", as_=body["token"])["name"] == "carla"
    listed = {t["id"]: t for t in api.ok("GET", "/api/v1/tokens", as_="carla")}
    assert listed[body["id"]]["name"] == "login" and listed[body["id"]]["expires_at"]
    assert "token" not in listed[body["id"]] and "token_hash" not in listed[body["id"]]


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"user": "carla", "password": "wrong"}, 401, "wrong user name or password"),
        ({"user": "nobody", "password": "x"}, 401, "wrong user name or password"),
        ({"user": "carla", "password": "pw", "days": 0}, 422, "days: Input should be greater than or equal to 1"),
        ({"password": "x"}, 422, "user: Field required"),
    ],
)
def test_signing_in_refuses_wrong_credentials_and_bad_input(api: Api, body: dict, status: int, detail: str) -> None:
    assert _error(api.call("POST", "/api/v1/auth/token", json=body, as_=None), status) == detail


def test_a_person_revokes_their_own_tokens_only(api: Api) -> None:
    mine = api.ok("POST", "/api/v1/auth/token", json={"user": "carla", "password": "carla-pass"}, as_=None)
    assert _error(api.call("DELETE", f"/api/v1/tokens/{mine['id']}", as_="ben"), 404) == (
        f"you have no token {mine['id']}"
    )
    assert api.ok("DELETE", f"/api/v1/tokens/{mine['id']}", as_="carla") == {"revoked": mine["id"]}
    assert _error(api.call("GET", "/api/v1/me", as_=mine["token"]), 401) == "invalid or revoked API token"
    revoked = next(t for t in api.ok("GET", "/api/v1/tokens", as_="carla") if t["id"] == mine["id"])
    assert revoked["revoked_at"]


# --- policies ------------------------------------------------------------------------------------


def test_policies_list_the_built_in_guardrail_first(api: Api) -> None:
    rows = api.ok("GET", "/api/v1/policies", as_="carla")
    assert [(r["rule"], r["scope"], r["kind"], r["active"]) for r in rows] == [
        (PERSONAL_GUARDRAIL, "global", "mask", True)
    ]


def test_an_owner_applies_the_domain_policy_file(api: Api) -> None:
    body = {"text": MANUFACTURING_FILE, "reason": "faster forecasts"}
    plan = api.ok("POST", "/api/v1/policies/plan", json=body)
    assert (plan["applied"], plan["created"], len(plan["changes"])) == (False, plan["created"], 2)
    assert plan["changes"][0].startswith("Rule manufacturing.forecasts-fast would be added: approve requests for")
    assert api.ok("GET", "/api/v1/policies", as_="carla")[1:] == []  # the plan applied nothing
    r = api.ok("POST", "/api/v1/policies", json=body)
    assert (r["scope"], r["domain"], r["created"]) == (
        "domain",
        "manufacturing",
        ["manufacturing.forecasts-fast", "manufacturing.finance-sees-berlin"],
    )
    again = api.ok("POST", "/api/v1/policies", json=body)
    assert again["created"] == [] and len(again["unchanged"]) == 2
    listed = {r["rule"]: r for r in api.ok("GET", "/api/v1/policies", as_="carla")}
    assert (listed["manufacturing.forecasts-fast"]["author"], listed["manufacturing.forecasts-fast"]["reason"]) == (
        "anna",
        "faster forecasts",
    )
    api.ok("POST", "/api/v1/policies", json={"text": "domain: manufacturing\npolicies: []\n", "reason": "undo"})
    history = api.ok("GET", "/api/v1/policies?history=true", as_="carla")
    assert [r["version"] for r in history if r["rule"] == "manufacturing.forecasts-fast"] == [1, 2]


@pytest.mark.parametrize(
    ("as_", "text", "status", "detail"),
    [
        ("carla", MANUFACTURING_FILE, 403, "carla does not own domain 'manufacturing' (rule: policy.domain-author)"),
        (
            "anna",
            "scope: global\nguardrails: []\n",
            403,
            "anna is not in the governance group (rule: policy.global-author)",
        ),
        ("anna", "domain: [", 422, "the policy file is not valid YAML: while parsing a flow node"),
        (
            "anna",
            "domain: manufacturing\npolicies:\n  - {id: x, kind: mask}\n",
            422,
            "policy file: policies.0: Value error, a mask rule needs columns or tags",
        ),
        (
            "anna",
            "domain: nowhere\npolicies: []\n",
            403,
            "anna does not own domain 'nowhere' (rule: policy.domain-author)",
        ),
        ("admin", "domain: nowhere\npolicies: []\n", 404, "no domain 'nowhere'"),
    ],
)
def test_applying_a_policy_file_says_what_is_wrong(api: Api, as_: str, text: str, status: int, detail: str) -> None:
    assert _error(api.call("POST", "/api/v1/policies", json={"text": text}, as_=as_), status) == detail


def test_the_governance_group_applies_global_guardrails(api: Api) -> None:
    text = "scope: global\nguardrails:\n  - {id: no-marketing, kind: deny_purpose, purposes: [marketing]}\n"
    r = api.ok("POST", "/api/v1/policies", json={"text": text, "reason": "no profiling"}, as_="gina")
    assert r["created"] == ["guardrail.no-marketing"]
    explained = api.ok("GET", f"/api/v1/datasets/{KPIS}/explain?purpose=marketing", as_="carla")
    assert (explained["allowed"], explained["rule"]) == (False, "guardrail.no-marketing")


# --- owner controls ------------------------------------------------------------------------------


def test_owners_set_visibility_purposes_and_tags(api: Api) -> None:
    assert api.ok("PUT", f"/api/v1/datasets/{KPIS}/visibility", json={"visibility": "on-request"}) == {
        "dataset": KPIS,
        "visibility": "on-request",
    }
    assert api.ok("GET", f"/api/v1/datasets/{KPIS}", as_="carla")["visibility"] == "on-request"
    assert api.ok("PUT", "/api/v1/domains/manufacturing/visibility", json={"visibility": "restricted"}) == {
        "domain": "manufacturing",
        "default_visibility": "restricted",
    }
    purposes = api.ok("PUT", f"/api/v1/datasets/{KPIS}/purposes", json={"purposes": ["Reporting ", "forecasting"]})
    assert purposes == {"dataset": KPIS, "allowed_purposes": ["forecasting", "reporting"]}
    assert api.ok("POST", f"/api/v1/datasets/{KPIS}/tags", json={"tag": "confidential"}) == {
        "dataset": KPIS,
        "column": None,
        "tag": "confidential",
    }
    column = api.ok("POST", f"/api/v1/datasets/{KPIS}/tags", json={"tag": "finance.cost", "column": "energy_kwh"})
    assert column["column"] == "energy_kwh"
    tags = api.ok("GET", f"/api/v1/datasets/{KPIS}")["tags"]
    assert {"confidential", "finance.cost"} <= set(tags)
    removed = api.ok("DELETE", f"/api/v1/datasets/{KPIS}/tags?tag=finance.cost&column=energy_kwh")
    assert removed == {"dataset": KPIS, "column": "energy_kwh", "removed": "finance.cost"}
    gone = api.call("DELETE", f"/api/v1/datasets/{KPIS}/tags?tag=finance.cost&column=energy_kwh")
    assert _error(gone, 404) == f"{KPIS}.energy_kwh has no tag 'finance.cost'"


@pytest.mark.parametrize(
    ("as_", "method", "url", "body", "status", "detail"),
    [
        (
            "carla",
            "PUT",
            f"/datasets/{KPIS}/visibility",
            {"visibility": "open"},
            403,
            "carla does not own domain 'manufacturing' (rule: domain.owner)",
        ),
        (
            "anna",
            "PUT",
            f"/datasets/{KPIS}/visibility",
            {"visibility": "secret"},
            422,
            "visibility: Input should be 'open', 'on-request' or 'restricted'",
        ),
        (
            "anna",
            "PUT",
            "/datasets/manufacturing.nope/visibility",
            {"visibility": "open"},
            404,
            "no dataset 'manufacturing.nope'",
        ),
        (
            "anna",
            "PUT",
            "/datasets/manufacturing/visibility",
            {"visibility": "open"},
            404,
            "no dataset 'manufacturing'",
        ),
        (
            "gina",
            "PUT",
            "/domains/manufacturing/visibility",
            {"visibility": "open"},
            403,
            "gina does not own domain 'manufacturing' (rule: domain.owner)",
        ),
        ("anna", "PUT", f"/domains/{KPIS}/visibility", {"visibility": "open"}, 422, "name a domain, not a dataset"),
        (
            "carla",
            "PUT",
            f"/datasets/{KPIS}/purposes",
            {"purposes": ["x"]},
            403,
            "carla does not own domain 'manufacturing' (rule: domain.owner)",
        ),
        (
            "anna",
            "POST",
            f"/datasets/{KPIS}/tags",
            {"tag": "Not A Tag"},
            422,
            "invalid tag 'not a tag': use lower-case words separated by dots, e.g. personal.email",
        ),
        ("anna", "POST", f"/datasets/{KPIS}/tags", {"tag": "x", "column": "nope"}, 404, f"{KPIS} has no column 'nope'"),
        (
            "carla",
            "POST",
            f"/datasets/{KPIS}/tags",
            {"tag": "x"},
            403,
            "carla does not own domain 'manufacturing' (rule: domain.owner)",
        ),
    ],
)
def test_owner_controls_refuse_with_a_reason(
    api: Api, as_: str, method: str, url: str, body: dict, status: int, detail: str
) -> None:
    assert _error(api.call(method, f"/api/v1{url}", json=body, as_=as_), status) == detail


def test_the_governance_group_classifies_any_dataset(api: Api) -> None:
    assert api.ok("POST", f"/api/v1/datasets/{KPIS}/tags", json={"tag": "confidential"}, as_="gina")["tag"]


# --- explain -------------------------------------------------------------------------------------


def test_explain_says_what_a_reader_sees_and_why(api: Api) -> None:
    e = api.ok("GET", f"/api/v1/datasets/{KPIS}/explain?purpose=reporting", as_="carla")
    assert (e["reader"], e["allowed"], e["rule"], e["purpose"]) == ("carla", True, "visibility.open", "reporting")
    masks = {c["column"]: (c["mask"], c["rules"]) for c in e["columns"]}
    assert masks["e_mail"] == ("redact", [PERSONAL_GUARDRAIL]) and masks["plant"] == (None, [])
    assert "how_to_see_more" in e
    about_ben = api.ok("GET", f"/api/v1/datasets/{KPIS}/explain?user=ben")
    assert about_ben["reader"] == "ben" and about_ben["reader_domains"] == ["finance"]
    refused = api.call("GET", f"/api/v1/datasets/{KPIS}/explain?user=ben", as_="carla")
    assert _error(refused, 403) == f"carla may explain only their own access to {KPIS} (rule: explain.self)"
    assert _error(api.call("GET", "/api/v1/datasets/sales.nope/explain"), 404) == "no dataset 'sales.nope'"
    assert _error(api.call("GET", f"/api/v1/datasets/{KPIS}/explain?user=nobody"), 404).startswith("no user 'nobody'")


# --- access requests and grants ------------------------------------------------------------------


def test_request_inbox_approve_grant_revoke(api: Api) -> None:
    api.ok("PUT", f"/api/v1/datasets/{KPIS}/visibility", json={"visibility": "on-request"})
    denied = api.call("POST", "/api/v1/query", json={"sql": f"SELECT * FROM {KPIS}"}, as_="ben")
    assert "visibility.on-request" in _error(denied, 403)
    body = {
        "dataset": KPIS,
        "purpose": "Budgeting",
        "days": 30,
        "columns": ["plant", "scrap_rate"],
        "justification": "plan 2027",
    }
    req = api.ok("POST", "/api/v1/requests", json=body, as_="ben")
    assert (req["status"], req["purpose"], req["columns"], req["days"], req["requester"]) == (
        "pending",
        "budgeting",
        ["plant", "scrap_rate"],
        30,
        "ben",
    )
    assert [r["id"] for r in api.ok("GET", "/api/v1/requests", as_="ben")] == [req["id"]]
    assert [r["id"] for r in api.ok("GET", "/api/v1/inbox")] == [req["id"]]
    assert api.ok("GET", "/api/v1/inbox", as_="carla") == []
    refused = api.call("POST", f"/api/v1/requests/{req['id']}/approve", json={}, as_="carla")
    assert _error(refused, 403) == f"only owners of manufacturing decide requests for {KPIS} (rule request.owner)"
    approved = api.ok("POST", f"/api/v1/requests/{req['id']}/approve", json={"reason": "fine"})
    assert (approved["status"], approved["decided_by"], approved["reason"]) == ("approved", "anna", "fine")
    again = api.call("POST", f"/api/v1/requests/{req['id']}/approve", json={})
    assert _error(again, 409) == f"request {req['id']} is approved already"
    # ben reads what was granted: the asked columns, the others masked.
    rows = api.ok("POST", "/api/v1/query", json={"sql": f"SELECT plant, energy_kwh FROM {KPIS}"}, as_="ben")
    assert rows["row_count"] == 5 and {r["energy_kwh"] for r in rows["rows"]} == {None}
    grants = api.ok("GET", "/api/v1/grants", as_="ben")
    assert [(g["id"], g["dataset"], g["purposes"], g["active"]) for g in grants] == [
        (approved["grant"], KPIS, ["budgeting"], True)
    ]
    assert [g["user"] for g in api.ok("GET", f"/api/v1/grants?dataset={KPIS}")] == ["ben"]
    refused = api.call("DELETE", f"/api/v1/grants/{approved['grant']}", as_="carla")
    assert "rule grant.owner" in _error(refused, 403)
    revoked = api.ok("DELETE", f"/api/v1/grants/{approved['grant']}?reason=project+ended")
    assert revoked["grant"] == approved["grant"] and revoked["revoked_at"]
    assert _error(api.call("DELETE", f"/api/v1/grants/{approved['grant']}"), 409).endswith("was revoked already")
    assert _error(api.call("DELETE", "/api/v1/grants/999"), 404) == "no grant 999"
    assert "visibility.on-request" in _error(
        api.call("POST", "/api/v1/query", json={"sql": f"SELECT * FROM {KPIS}"}, as_="ben"), 403
    )


def test_denying_a_request_needs_a_reason(api: Api) -> None:
    req = api.ok("POST", "/api/v1/requests", json={"dataset": KPIS, "purpose": "curiosity"}, as_="ben")
    assert _error(api.call("POST", f"/api/v1/requests/{req['id']}/deny", json={}), 422) == "reason: Field required"
    blank = api.call("POST", f"/api/v1/requests/{req['id']}/deny", json={"reason": " "})
    assert _error(blank, 422) == "a denial needs a reason (--reason) the requester can act on"
    denied = api.ok("POST", f"/api/v1/requests/{req['id']}/deny", json={"reason": "use the report"})
    assert (denied["status"], denied["reason"]) == ("denied", "use the report")
    unknown = api.call("POST", "/api/v1/requests/999/deny", json={"reason": "x"})
    assert _error(unknown, 404) == "no access request 999"


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"dataset": KPIS, "purpose": " "}, 422, "an access request needs a purpose (--purpose)"),
        ({"dataset": KPIS, "purpose": "x", "days": 400}, 422, "days: Input should be less than or equal to 366"),
        ({"dataset": KPIS, "purpose": "x", "columns": ["nope"]}, 422, f"{KPIS} has no column nope"),
        ({"dataset": "sales.nope", "purpose": "x"}, 404, "no dataset 'sales.nope'"),
        ({"purpose": "x"}, 422, "dataset: Field required"),
    ],
)
def test_a_request_says_what_to_fix(api: Api, body: dict, status: int, detail: str) -> None:
    assert _error(api.call("POST", "/api/v1/requests", json=body, as_="ben"), status) == detail


def test_a_second_request_for_the_same_purpose_waits_for_the_first(api: Api) -> None:
    first = api.ok("POST", "/api/v1/requests", json={"dataset": KPIS, "purpose": "x"}, as_="ben")
    again = api.call("POST", "/api/v1/requests", json={"dataset": KPIS, "purpose": "X"}, as_="ben")
    assert _error(again, 409) == f"request {first['id']} for {KPIS} and 'x' is already waiting"


def test_an_auto_approval_rule_grants_at_once_and_counts_in_time_to_access(api: Api) -> None:
    api.ok("POST", "/api/v1/policies", json={"text": MANUFACTURING_FILE})
    personal = api.ok("POST", "/api/v1/requests", json={"dataset": KPIS, "purpose": "forecasting"}, as_="carla")
    assert (personal["status"], personal["auto_rule"]) == ("pending", None)  # the rule excludes personal columns
    body = {"dataset": KPIS, "purpose": "forecasting", "columns": ["plant", "energy_kwh"]}
    req = api.ok("POST", "/api/v1/requests", json=body, as_="ben")
    assert (req["status"], req["auto_rule"]) == ("approved", "manufacturing.forecasts-fast")
    tta = {t["domain"]: t for t in api.ok("GET", "/api/v1/governance/time-to-access", as_="carla")}
    m = tta["manufacturing"]
    assert (m["requests"], m["decided"], m["auto_approved"], m["waiting"]) == (2, 1, 1, 1)
    assert m["median_hours"] is not None and m["median_hours"] == m["p90_hours"]
    assert tta["sales"]["requests"] == 0 and tta["sales"]["median_hours"] is None
    pending = api.ok("GET", "/api/v1/governance/pending", as_="gina")
    assert [p["id"] for p in pending] == [personal["id"]]
    refused = api.call("GET", "/api/v1/governance/pending", as_="carla")
    assert _error(refused, 403) == "carla is not in the governance group (rule: governance)"


# --- audit ---------------------------------------------------------------------------------------


def test_audit_search_by_dataset_action_and_user(api: Api) -> None:
    api.ok("POST", f"/api/v1/datasets/{KPIS}/tags", json={"tag": "confidential"})
    api.ok("POST", "/api/v1/query", json={"sql": f"SELECT e_mail FROM {KPIS}"}, as_="carla")
    api.ok("POST", "/api/v1/requests", json={"dataset": KPIS, "purpose": "x"}, as_="carla")
    tags = api.ok("GET", f"/api/v1/audit?dataset={KPIS}&action=tag.")
    assert [(e["actor"], e["action"], e["detail"]["tag"]) for e in tags] == [("anna", "tag.added", "confidential")]
    carla = api.ok("GET", "/api/v1/audit?user=carla")
    assert [e["action"] for e in carla] == ["request.created", "query.masked"]
    assert PERSONAL_GUARDRAIL in carla[1]["rules"]
    # carla sees her own actions, not anna's; the governance group sees everything.
    assert {e["actor"] for e in api.ok("GET", "/api/v1/audit", as_="carla")} == {"carla"}
    assert {e["actor"] for e in api.ok("GET", "/api/v1/audit", as_="gina")} >= {"anna", "carla"}
    assert len(api.ok("GET", "/api/v1/audit?limit=1", as_="gina")) == 1
    too_few = _error(api.call("GET", "/api/v1/audit?limit=0"), 422)
    assert too_few == "query.limit: Input should be greater than or equal to 1"


def test_the_permission_check_comes_before_the_body_is_read(api: Api) -> None:
    r = api.call("POST", "/api/v1/requests", json={"nonsense": True}, as_=None)
    assert _error(r, 401) == "sign in, or send an API token as 'Authorization: Bearer <token>'"


def test_another_domains_restricted_dataset_does_not_exist_for_explain(api: Api) -> None:
    api.ok("PUT", f"/api/v1/datasets/{KPIS}/visibility", json={"visibility": "restricted"})
    assert _error(api.call("GET", f"/api/v1/datasets/{KPIS}", as_="carla"), 404).startswith(f"no dataset '{KPIS}'")
    missing = _error(api.call("GET", "/api/v1/datasets/manufacturing.nope/explain", as_="carla"), 404)
    hidden = _error(api.call("GET", f"/api/v1/datasets/{KPIS}/explain", as_="carla"), 404)
    assert hidden == missing.replace("manufacturing.nope", KPIS) == f"no dataset '{KPIS}'"
    assert api.ok("GET", f"/api/v1/datasets/{KPIS}/explain?user=carla")["rule"] == "visibility.restricted"
    assert api.ok("GET", f"/api/v1/datasets/{KPIS}/explain", as_="gina")["allowed"] is False


def test_the_dataset_record_shows_no_profile_values_of_what_the_reader_cannot_see(api: Api) -> None:
    def profile(as_: str) -> dict[str, tuple[Any, Any, Any]]:
        schema = api.ok("GET", f"/api/v1/datasets/{KPIS}", as_=as_)["schema"]
        return {c["name"]: (c["min"], c["max"], c["top_values"]) for c in schema}

    assert profile("anna")["e_mail"][0] == "ana.silva@example.pt"  # her own domain's data
    carla = profile("carla")
    assert carla["e_mail"] == (None, None, []) and carla["operator_name"] == (None, None, [])
    assert carla["plant"][:2] == ("Berlin", "Porto")
    api.ok("POST", "/api/v1/policies", json={"text": MANUFACTURING_FILE})
    assert profile("ben")["plant"] == (None, None, []), "a row-filtered reader sees no values beyond the filter"
