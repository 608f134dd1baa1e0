"""Governance in the web UI: the governance page and policy editor, the inbox, request access from a dataset
page, "why is this masked?", "what can I see and why", the audit log; JSON twins and CSRF on every form."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from threshold.governance import controls, policies
from threshold.governance import requests as access
from threshold.governance.policies import PERSONAL_GUARDRAIL
from threshold.identity.service import add_user

PLANT = "manufacturing.plant_kpis"
RAW_EMAILS = ["anna.schmidt@example.com", "jean.dupont@example.fr", "ana.silva@example.pt"]
MANUFACTURING_FILE = """\
domain: manufacturing
policies:
  - id: energy-hashed
    kind: mask
    description: Energy figures are commercially sensitive
    datasets: [plant_kpis]
    columns: [energy_kwh]
    mask: hash
  - id: finance-sees-berlin
    kind: row_filter
    datasets: [plant_kpis]
    where: "plant = 'Berlin'"
    readers: {domains: [finance]}
"""


def _browser(anonymous: Any, app: Any, user: str) -> Iterator[Any]:
    """A browser signed in as `user` (a `Browser` of tests/web/conftest.py, made like `anonymous`)."""
    browser = type(anonymous)(app)
    r = browser.sign_in(user, f"{user}-pass")
    assert r.status_code == 303, r.text
    yield browser
    browser.close()


@pytest.fixture
def ben(anonymous: Any, app: Any) -> Iterator[Any]:
    """Owner of finance: an outsider to manufacturing."""
    yield from _browser(anonymous, app, "ben")


@pytest.fixture
def carla(anonymous: Any, app: Any) -> Iterator[Any]:
    """A plain member of sales."""
    yield from _browser(anonymous, app, "carla")


@pytest.fixture
def gina(anonymous: Any, app: Any, org: Any) -> Iterator[Any]:
    """In the governance group, in no domain."""
    add_user(org.platform, "gina", governance=True, password="gina-pass")
    yield from _browser(anonymous, app, "gina")


def _form(page: Any, action: str) -> Any:
    return page.find("form", action=action)


def _post_form(browser: Any, page_url: str, action: str, **values: Any) -> Any:
    """Submit the form with `action` on the page at `page_url`, as a browser would, with some fields filled."""
    form = _form(browser.page(page_url), action)
    return browser.post(action, data=form.form_values() | values)


def _alert(browser: Any, r: Any) -> str:
    return str(browser.parse(r.text).find(class_="alert").text())


# --- the governance page -------------------------------------------------------------------------


def test_governance_page_shows_guardrails_and_time_to_access_per_domain(carla, org):
    policies.apply(org.platform, org.anna, MANUFACTURING_FILE, reason="energy is sensitive")
    page = carla.page("/governance")
    guardrail = page.find("tr", id=f"rule-{PERSONAL_GUARDRAIL}").find_all("td")
    assert guardrail[0].text() == PERSONAL_GUARDRAIL
    assert (guardrail[4].text(), guardrail[5].text()) == ("built in", "built in")
    rule = page.find("section", id="domain-policies").find("tr", id="rule-manufacturing.energy-hashed")
    cells = [td.text() for td in rule.find_all("td")]
    assert cells[1:2] == ["mask"] and cells[3:6] == ["1", "anna", "energy is sensitive"]
    assert rule.find("a").attrs["href"] == "/governance/history?rule=manufacturing.energy-hashed"
    rows = page.find("section", id="time-to-access").find("table").table_rows()
    assert [r[0] for r in rows] == ["finance", "manufacturing", "sales"]
    # A plain member sees no one's waiting requests and no policy editor.
    assert not page.find_all("section", id="pending")
    assert not page.find_all("form", action="/governance/policies")


def test_time_to_access_is_computed_from_requests(carla, org):
    controls.set_visibility(org.platform, org.anna, PLANT, "on-request")
    first = access.request_access(org.platform, org.ben, PLANT, purpose="budgeting")
    access.request_access(org.platform, org.carla, PLANT, purpose="sales forecast")
    access.approve(org.platform, org.anna, first.id)
    page = carla.page("/governance")
    assert page.find(id="waiting-count").text() == "1"
    rows = {r[0]: r for r in page.find("section", id="time-to-access").find("table").table_rows()}
    assert rows["manufacturing"][1:4] == ["2", "1", "0"]
    assert rows["manufacturing"][6] == "1"
    assert rows["finance"][4] == "—"
    twin = carla.get("/governance.json").json()
    tta = {t["domain"]: t for t in twin["time_to_access"]}
    assert (tta["manufacturing"]["requests"], tta["manufacturing"]["decided"], tta["manufacturing"]["waiting"]) == (
        2,
        1,
        1,
    )
    assert tta["manufacturing"]["median_hours"] is not None
    assert twin["pending"] is None  # only the governance group and admins see who waits for what


def test_governance_group_sees_pending_requests_across_the_org(gina, org):
    controls.set_visibility(org.platform, org.anna, PLANT, "on-request")
    r = access.request_access(org.platform, org.ben, PLANT, purpose="budgeting", justification="Q3 plan")
    pending = gina.page("/governance").find("section", id="pending").find("table").table_rows()
    assert pending == [[str(r.id), PLANT, "ben", "budgeting", "just now", "pending"]]
    assert [p["id"] for p in gina.get("/governance.json").json()["pending"]] == [r.id]


def test_owner_edits_the_domain_policy_file_shown_from_active_rules(anna, org):
    page = anna.page("/governance")
    editor = page.find("section", id="edit-manufacturing")
    assert not page.find_all("section", id="edit-global")  # anna is no governance member
    form = editor.find("form", action="/governance/policies").form_values()
    assert form["text"].startswith("domain: manufacturing\npolicies: []")
    r = anna.post("/governance/policies", data=form | {"text": MANUFACTURING_FILE, "reason": "energy is sensitive"})
    assert r.status_code == 200
    page = anna.parse(r.text)
    assert page.find(id="policy-message").text() == (
        "Applied policies of manufacturing. Rule manufacturing.energy-hashed was added: mask columns energy_kwh "
        "with hash for readers outside manufacturing on plant_kpis. Rule manufacturing.finance-sees-berlin was "
        "added: show members of finance only the rows where plant = 'Berlin' on plant_kpis."
    )
    assert page.find_all("tr", id="rule-manufacturing.energy-hashed")
    # The editor now shows the active rule, and applying it as shown changes nothing.
    form = page.find("section", id="edit-manufacturing").find("form").form_values()
    assert "id: energy-hashed" in form["text"] and "columns: [energy_kwh]" in form["text"]
    assert "readers:\n    domains: [finance]" in form["text"]
    again = anna.post("/governance/policies", data=form | {"reason": "no change"})
    assert anna.parse(again.text).find(id="policy-message").text().endswith("Nothing changed.")
    # Leaving the rule out retires it; the history keeps every version with who and why.
    form["text"] = "domain: manufacturing\npolicies: []\n"
    anna.post("/governance/policies", data=form | {"reason": "energy is public now"})
    history = anna.page("/governance/history?rule=manufacturing.energy-hashed").find("table").table_rows()
    assert [(r[3], r[4], r[5], r[6]) for r in history] == [
        ("2", "retired", "anna", "energy is public now"),
        ("1", "retired", "anna", "energy is sensitive"),
    ]
    twin = anna.get("/governance/history.json?rule=manufacturing.energy-hashed").json()
    assert [v["version"] for v in twin["versions"]] == [2, 1]


def test_policy_editor_error_keeps_the_text_and_names_the_problem(anna):
    form = _form(anna.page("/governance"), "/governance/policies").form_values()
    broken = "domain: manufacturing\npolicies:\n  - id: x\n    kind: mask\n"
    r = anna.post("/governance/policies", data=form | {"text": broken, "reason": "try"})
    assert r.status_code == 422
    page = anna.parse(r.text)
    editor = page.find("section", id="edit-manufacturing")
    assert "a mask rule needs columns or tags" in editor.find(class_="alert").text()
    assert editor.find("form").form_values()["text"] == broken


def test_governance_group_applies_a_global_guardrail(gina):
    form = _form(gina.page("/governance"), "/governance/policies").form_values()
    assert form["editor"] == "global" and form["text"].startswith("scope: global")
    text = "scope: global\nguardrails:\n  - id: no-marketing\n    kind: deny_purpose\n    purposes: [marketing]\n"
    r = gina.post("/governance/policies", data=form | {"text": text, "reason": "no profiling"})
    assert (
        gina.parse(r.text)
        .find(id="policy-message")
        .text()
        .startswith("Applied global guardrails. Rule guardrail.no-marketing was added: refuse reads for marketing")
    )
    assert gina.page("/governance").find("section", id="guardrails").find_all("tr", id="rule-guardrail.no-marketing")


def test_a_member_cannot_apply_another_domains_policy(carla, anna):
    form = _form(anna.page("/governance"), "/governance/policies").form_values()
    csrf = carla.csrf("/governance")
    r = carla.post("/governance/policies", data=form | {"csrf": csrf, "text": MANUFACTURING_FILE, "reason": "x"})
    assert r.status_code == 403
    assert "policy.domain-author" in _alert(carla, r)


# --- request access, decide in the inbox, read -----------------------------------------------------


def test_request_access_from_the_dataset_page_to_the_owners_inbox_and_back(ben, anna, org):
    controls.set_visibility(org.platform, org.anna, PLANT, "on-request")
    # ben cannot read it: the page still shows the metadata, the preview says why, and offers the form.
    page = ben.page(f"/datasets/{PLANT}")
    assert page.find("h1").text().startswith("plant_kpis")
    assert page.find("tr", id="col-e_mail")
    denial = page.find("section", id="preview").find(class_="alert").text()
    assert "shared on request" in denial and "visibility.on-request" in denial
    box = page.find("section", id="request-access")
    assert "visibility.on-request" in box.text()
    form = box.find("form", action="/requests").form_values()
    assert (form["dataset"], form["days"]) == (PLANT, "90")
    r = ben.post("/requests", data=form | {"purpose": "Energy cost forecast", "justification": "budget 2027"})
    assert (r.status_code, r.headers["location"]) == (303, f"/datasets/{PLANT}#request-access")
    line = ben.page(f"/datasets/{PLANT}").find("section", id="request-access").find("p", class_="request-line")
    assert "energy cost forecast" in line.text() and "pending" in line.text()

    # anna's inbox holds it, with approve and deny buttons.
    inbox = anna.page("/inbox")
    waiting = inbox.find("section", id="waiting").find_all("article", class_="request")
    assert len(waiting) == 1
    assert "ben asks for" in waiting[0].text() and "budget 2027" in waiting[0].text()
    request_id = waiting[0].attrs["id"].removeprefix("request-")
    assert waiting[0].find("form", action=f"/requests/{request_id}/deny")
    assert anna.get("/inbox.json").json()["waiting"][0]["purpose"] == "energy cost forecast"
    approve = waiting[0].find("form", action=f"/requests/{request_id}/approve").form_values()
    assert "personal" not in approve  # unticked: personal data stays masked
    r = anna.post(f"/requests/{request_id}/approve", data=approve | {"reason": "ok for the forecast"})
    assert (r.status_code, r.headers["location"]) == (303, "/inbox")
    assert anna.page("/inbox").find("section", id="waiting").find(class_="empty").text() == "Nothing waiting."

    # ben now reads it for the granted purpose, personal columns still masked, and sees why.
    page = ben.page(f"/datasets/{PLANT}")
    preview = page.find("section", id="preview").find("table")
    rows = preview.table_rows()
    assert [r[0] for r in rows] == ["Berlin", "Lyon", "Berlin", "Porto", "Lyon"]
    assert not any(e in page.find("main").text() for e in RAW_EMAILS)
    why = page.find("tr", id="col-e_mail").find("details", class_="why-masked")
    assert PERSONAL_GUARDRAIL in why.text()
    mine = ben.page("/inbox").find("section", id="my-requests").find("table").table_rows()
    assert mine[0][2:5] == ["energy cost forecast", "approved", "anna: ok for the forecast"]
    twin = ben.get(f"/datasets/{PLANT}.json").json()
    assert twin["access"]["allowed"] and twin["access"]["rule"] == "grant"
    assert twin["access"]["purpose"] == "energy cost forecast"


def test_approving_with_personal_data_lifts_the_guardrail(ben, anna, org):
    r = access.request_access(org.platform, org.ben, PLANT, purpose="payroll audit")
    form = _form(anna.page("/inbox"), f"/requests/{r.id}/approve").form_values()
    anna.post(f"/requests/{r.id}/approve", data=form | {"personal": "true"})
    page = ben.page(f"/datasets/{PLANT}")
    assert "anna.schmidt@example.com" in page.find("section", id="preview").text()
    assert not page.find_all("details", class_="why-masked")
    assert not page.find_all("section", id="request-access")  # nothing left to ask for


def test_denying_needs_a_reason_the_requester_then_sees(ben, anna, org):
    r = access.request_access(org.platform, org.ben, PLANT, purpose="curiosity")
    form = _form(anna.page("/inbox"), f"/requests/{r.id}/deny").form_values()
    refused = anna.post(f"/requests/{r.id}/deny", data=form | {"reason": "  "})
    assert refused.status_code == 422
    assert "needs a reason" in _alert(anna, refused)
    done = anna.post(f"/requests/{r.id}/deny", data=form | {"reason": "use the monthly report"})
    assert done.status_code == 303
    mine = ben.page("/inbox").find("section", id="my-requests").find("table").table_rows()
    assert mine[0][3:5] == ["denied", "anna: use the monthly report"]


def test_only_the_owners_decide(carla, org):
    r = access.request_access(org.platform, org.ben, PLANT, purpose="budgeting")
    csrf = carla.csrf("/inbox")
    refused = carla.post(f"/requests/{r.id}/approve", data={"csrf": csrf})
    assert refused.status_code == 403
    assert "request.owner" in _alert(carla, refused)
    inbox = carla.page("/inbox")
    assert not inbox.find_all("section", id="waiting")  # carla owns no domain
    assert inbox.find("section", id="my-requests").find(class_="empty")


def test_a_grantee_gives_a_grant_back_from_the_inbox(ben, anna, org):
    r = access.request_access(org.platform, org.ben, PLANT, purpose="budgeting")
    grant = access.approve(org.platform, org.anna, r.id).grant
    row = ben.page("/inbox").find("tr", id=f"grant-{grant}")
    assert "active" in row.text()
    done = ben.post(f"/grants/{grant}/revoke", data=row.find("form").form_values())
    assert (done.status_code, done.headers["location"]) == (303, "/inbox")
    assert "revoked" in ben.page("/inbox").find("tr", id=f"grant-{grant}").text()


@pytest.mark.parametrize(
    "action",
    ["/governance/policies", "/requests", "/requests/1/approve", "/requests/1/deny", "/grants/1/revoke"],
)
def test_every_governance_form_refuses_a_post_without_the_csrf_token(anna, action):
    r = anna.post(action, data={"dataset": PLANT, "purpose": "x", "reason": "x", "text": MANUFACTURING_FILE})
    assert r.status_code == 403
    assert "web.csrf" in _alert(anna, r)


def test_a_wrong_request_says_what_to_fix(ben, org):
    csrf = ben.csrf()
    r = ben.post("/requests", data={"csrf": csrf, "dataset": PLANT, "purpose": " "})
    assert r.status_code == 422 and "needs a purpose" in _alert(ben, r)
    r = ben.post("/requests", data={"csrf": csrf, "dataset": PLANT, "purpose": "x", "columns": ["nope"]})
    assert r.status_code == 422 and "has no column nope" in _alert(ben, r)
    ben.post("/requests", data={"csrf": csrf, "dataset": PLANT, "purpose": "x"})
    r = ben.post("/requests", data={"csrf": csrf, "dataset": PLANT, "purpose": "x"})
    assert r.status_code == 409 and "already waiting" in _alert(ben, r)


# --- why is this masked? -------------------------------------------------------------------------


def test_masked_columns_say_why_on_the_dataset_page(carla):
    page = carla.page(f"/datasets/{PLANT}")
    why = page.find("tr", id="col-e_mail").find("details", class_="why-masked")
    assert why.find("summary").text() == "why?"
    assert f"by {PERSONAL_GUARDRAIL} (personal data outside its domain" in why.find("summary").attrs["title"]
    assert PERSONAL_GUARDRAIL in why.text() and "Masked (redact)" in why.text()
    assert why.find("a").attrs["href"] == f"/explain/{PLANT}#col-e_mail"
    assert page.find("tr", id="col-operator_name").find_all("details", class_="why-masked")
    assert not page.find("tr", id="col-scrap_rate").find_all("details", class_="why-masked")
    # Masked values leak nowhere on the page: not in the preview, not in the profile (min, max, top values).
    assert not any(e in page.find("main").text() for e in RAW_EMAILS)
    assert "Anna Schmidt" not in page.find("main").text()
    # A reader with masked columns may ask for more.
    assert page.find("section", id="request-access").find("form", action="/requests")
    twin = carla.get(f"/datasets/{PLANT}.json").json()
    assert set(twin["access"]["masked"]) == {"e_mail", "operator_name"}


def test_members_read_their_own_data_unmasked_and_are_offered_no_request(anna):
    page = anna.page(f"/datasets/{PLANT}")
    assert not page.find_all("details", class_="why-masked")
    assert not page.find_all("section", id="request-access")
    assert "anna.schmidt@example.com" in page.find("section", id="preview").text()


def test_query_results_say_which_columns_were_masked_and_why(carla):
    form = _form(carla.page("/query"), "/query").form_values()
    r = carla.post("/query", data=form | {"sql": f"SELECT plant, e_mail FROM {PLANT}"})
    notes = [li.text() for li in carla.parse(r.text).find("section", id="result").find("ul", class_="notes").iter()]
    assert any(n.startswith(f"{PLANT}.e_mail: ") and PERSONAL_GUARDRAIL in n for n in notes)
    assert not any(e in r.text for e in RAW_EMAILS)


# --- what can I see and why ----------------------------------------------------------------------


def test_explain_page_says_what_i_can_see_and_why(carla):
    page = carla.page(f"/explain/{PLANT}")
    assert "carla may read" in page.find("section", id="verdict").text()
    rows = {r[0]: r for r in page.find("table", class_="explain-columns").table_rows()}
    assert rows["e_mail"][1:3] == ["masked (redact)", PERSONAL_GUARDRAIL]
    assert rows["plant"][1] == "as is"
    assert page.find("section", id="request-access")
    twin = carla.get(f"/explain/{PLANT}.json?purpose=reporting").json()
    assert (twin["reader"], twin["allowed"], twin["purpose"]) == ("carla", True, "reporting")
    assert {c["column"]: c["mask"] for c in twin["columns"]}["e_mail"] == "redact"


def test_explain_page_names_the_denying_rule(carla, org):
    controls.set_purposes(org.platform, org.anna, PLANT, ["reporting"])
    page = carla.page(f"/explain/{PLANT}?purpose=marketing")
    verdict = page.find("section", id="verdict").text()
    assert "carla may not read" in verdict and "dataset.allowed-purposes" in verdict


def test_explain_about_someone_else_is_for_owners(carla, anna):
    r = carla.get(f"/explain/{PLANT}?user=ben")
    assert r.status_code == 403 and "explain.self" in _alert(carla, r)
    page = anna.page(f"/explain/{PLANT}?user=ben")
    assert "ben may read" in page.find("section", id="verdict").text()
    assert not page.find_all("section", id="request-access")  # the form is for one's own access


# --- the audit log -------------------------------------------------------------------------------


def test_audit_page_owners_see_their_data_governance_everything(anna, carla, gina, org):
    controls.tag(org.platform, org.anna, f"{PLANT}.scrap_rate", "confidential")
    carla.page(f"/datasets/{PLANT}")  # a governed read of manufacturing data
    rows = anna.page("/audit").find("section", id="entries").find("table").table_rows()
    assert [(r[1], r[2], r[3]) for r in rows[:2]] == [("carla", "query.masked", PLANT), ("anna", "tag.added", PLANT)]
    assert all(r[3] == PLANT or r[1] == "anna" for r in rows)  # her domain's data, and her own actions
    mine = carla.get("/audit.json").json()
    assert mine["scope"] == "mine" and all(e["actor"] == "carla" for e in mine["entries"])
    everything = gina.get("/audit.json?action=tag.").json()
    assert everything["scope"] == "everything"
    assert [(e["actor"], e["action"], e["dataset"]) for e in everything["entries"]] == [("anna", "tag.added", PLANT)]
    searched = gina.page(f"/audit?dataset={PLANT}&user=anna").find("form", class_="audit-search").form_values()
    assert (searched["dataset"], searched["user"]) == (PLANT, "anna")


# --- navigation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/governance", "/inbox", f"/explain/{PLANT}", "/audit", "/governance/history"])
def test_governance_pages_are_for_signed_in_people(anonymous, path):
    r = anonymous.get(path)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert anonymous.get(path + ".json").status_code == 401


def test_nav_links_to_inbox_and_governance(carla):
    nav = carla.page("/").find("nav", class_="nav")
    assert {"/inbox", "/governance"} <= {a.attrs["href"] for a in nav.find_all("a")}
