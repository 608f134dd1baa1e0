"""Governance pages: guardrails and policies, the owner's inbox, "what can I see and why", the audit log.

Also what the dataset page shows of access (`dataset_access`): which columns are masked and why, and
whether to offer a "Request access" form.
"""

from __future__ import annotations

from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from threshold.access import DomainRef, may
from threshold.access.policy import active_rules
from threshold.errors import ThresholdError
from threshold.governance import audit, controls, policies
from threshold.governance import requests as access
from threshold.identity.service import Person, list_domains
from threshold.interface.params import Id
from threshold.interface.permissions import Requires, SignedIn
from threshold.platform import Platform
from threshold.web import i18n
from threshold.web.session import check_csrf
from threshold.web.templating import page

router = APIRouter()
MAX_POLICY = 200_000
Text = Annotated[str, Form(max_length=2000)]
Csrf = Annotated[str, Form(max_length=200)]


# --- the governance page -------------------------------------------------------------------------


def policy_file(platform: Platform, domain: str | None) -> str:
    """The policy file (YAML) that declares the active rules of a domain, or the global guardrails."""
    scope = "domain" if domain else "global"
    rules = sorted(
        (r for r in active_rules(platform) if r.scope == scope and r.domain == domain),
        key=lambda r: r.rule_id,
    )
    specs = [r.rule.model_dump(mode="json", exclude_defaults=True) for r in rules]
    head: dict[str, Any] = {"domain": domain, "policies": specs} if domain else {"scope": "global", "guardrails": specs}
    return yaml.safe_dump(head, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None)


def _editable_domains(platform: Platform, person: Person) -> list[str]:
    """Domains whose policy file `person` may apply (`policy.edit`)."""
    from threshold.access import PolicyScope

    names = [str(d["name"]) for d in list_domains(platform)]
    return sorted(n for n in names if may(person, "policy.edit", PolicyScope(n)))


def _summary(spec: dict[str, Any]) -> str:
    """What a rule does, in one line: its description, then what it acts on."""
    parts = [str(spec.get("description") or "")]
    for key, label in (("datasets", "datasets"), ("columns", "columns"), ("tags", "tags"), ("purposes", "purposes")):
        if spec.get(key):
            parts.append(f"{label} {', '.join(map(str, spec[key]))}")
    for key, label in (("mask", "mask"), ("where", "where"), ("unless", "unless")):
        if spec.get(key) and (key != "mask" or spec.get("columns") or spec.get("tags")):
            parts.append(f"{label} {spec[key]}")
    return " · ".join(p for p in parts if p)


def _overview(platform: Platform, person: Person, **extra: Any) -> dict[str, Any]:
    from threshold.access import PolicyScope

    rules = [r.to_json() | {"summary": _summary(r.spec)} for r in policies.list_policies(platform, viewer=person)]
    writes_guardrails = bool(may(person, "policy.edit", PolicyScope(None)))
    oversees = bool(may(person, "governance.oversee"))
    domains: dict[str, list[dict[str, Any]]] = {}
    for r in rules:
        if r["scope"] == "domain":
            domains.setdefault(r["domain"], []).append(r)
    editors = [{"domain": None, "text": policy_file(platform, None)}] if writes_guardrails else []
    editors += [{"domain": d, "text": policy_file(platform, d)} for d in _editable_domains(platform, person)]
    tta = access.time_to_access(platform)
    return {
        "guardrails": [r for r in rules if r["scope"] == "global"],
        "domain_policies": [{"domain": d, "rules": rs} for d, rs in sorted(domains.items())],
        "domain_rules": sum(len(rs) for rs in domains.values()),
        "time_to_access": [t.to_json() for t in tta],
        "waiting": sum(t.waiting for t in tta),
        "pending": [r.to_json() for r in access.pending(platform, person)] if oversees else None,
        "editors": editors,
        "message": None,
        "error": None,
    } | extra


@router.get("/governance")
@router.get("/governance.json")
def governance(request: Request, person: SignedIn) -> Response:
    data = _overview(request.app.state.platform, person)
    return page(request, "governance.html", data, person=person, title=i18n.Text("Governance"), nav="governance")


@router.post("/governance/policies")
def apply_policy(
    request: Request,
    person: Annotated[Person, Requires("policy.edit")],
    text: Annotated[str, Form(max_length=MAX_POLICY)] = "",
    reason: Text = "",
    editor: Annotated[str, Form(max_length=100)] = "",
    csrf: Csrf = "",
) -> Response:
    """Apply a policy file from the editor; the page comes back with what changed, or the error and the text."""
    check_csrf(request, csrf)
    platform: Platform = request.app.state.platform
    try:
        r = policies.apply(platform, person, text, reason=reason.strip())
    except ThresholdError as e:
        data = _overview(platform, person, error={"editor": editor, "message": str(e)})
        for ed in data["editors"]:
            if (ed["domain"] or "global") == editor:
                ed["text"] = text
        return page(
            request,
            "governance.html",
            data,
            person=person,
            status=e.status,
            title=i18n.Text("Governance"),
            nav="governance",
        )
    scope = "global guardrails" if r.scope == "global" else f"policies of {r.domain}"
    message = f"Applied {scope}. {r.in_words()}"
    data = _overview(platform, person, message=message)
    return page(request, "governance.html", data, person=person, title=i18n.Text("Governance"), nav="governance")


@router.get("/governance/history")
@router.get("/governance/history.json")
def history(request: Request, person: SignedIn, rule: Annotated[str, Query(max_length=150)] = "") -> Response:
    """Every version of every rule (or of one), with who changed it and why."""
    versions = policies.list_policies(request.app.state.platform, history=True, viewer=person)
    if rule:
        versions = [v for v in versions if v.rule == rule]
    data = {"rule": rule, "versions": [v.to_json() for v in reversed(versions)]}
    return page(
        request, "governance_history.html", data, person=person, title=i18n.Text("Policy history"), nav="governance"
    )


# --- requests: the inbox, asking, deciding --------------------------------------------------------


@router.get("/inbox")
@router.get("/inbox.json")
def inbox(request: Request, person: SignedIn) -> Response:
    platform: Platform = request.app.state.platform
    decides = any(may(person, "domain.own", DomainRef(str(d["name"]))) for d in list_domains(platform))
    data = {
        "decides": decides,
        "waiting": [r.to_json() for r in access.inbox(platform, person)] if decides else [],
        "mine": [r.to_json() for r in access.my_requests(platform, person)],
        "grants": [g.to_json() for g in access.grants(platform, person)],
    }
    return page(request, "inbox.html", data, person=person, title=i18n.Text("Inbox"), nav="inbox")


@router.post("/requests")
def request_access(
    request: Request,
    person: Annotated[Person, Requires("dataset.request")],
    dataset: Annotated[str, Form(max_length=200)],
    purpose: Annotated[str, Form(max_length=200)] = "",
    days: Annotated[int, Form(ge=1, le=access.MAX_DAYS)] = 90,
    columns: Annotated[list[str] | None, Form(max_length=1000)] = None,
    justification: Annotated[str, Form(max_length=5000)] = "",
    csrf: Csrf = "",
) -> Response:
    """File a request from a dataset page; back to that page, which shows the request (or the data)."""
    check_csrf(request, csrf)
    r = access.request_access(
        request.app.state.platform,
        person,
        dataset,
        purpose=purpose,
        days=days,
        columns=columns or [],
        justification=justification.strip(),
    )
    return RedirectResponse(f"/datasets/{r.dataset}#request-access", status_code=303)


@router.post("/requests/{request_id}/approve")
def approve(
    request: Request,
    person: Annotated[Person, Requires("dataset.grant")],
    request_id: Id,
    reason: Text = "",
    personal: Annotated[bool, Form()] = False,
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    access.approve(request.app.state.platform, person, request_id, reason=reason.strip(), allow_personal=personal)
    return RedirectResponse("/inbox", status_code=303)


@router.post("/requests/{request_id}/deny")
def deny(
    request: Request,
    person: Annotated[Person, Requires("dataset.grant")],
    request_id: Id,
    reason: Text = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    access.deny(request.app.state.platform, person, request_id, reason=reason)
    return RedirectResponse("/inbox", status_code=303)


@router.post("/grants/{grant_id}/revoke")
def revoke(
    request: Request,
    person: Annotated[Person, Requires("dataset.grant")],
    grant_id: Id,
    reason: Text = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    access.revoke(request.app.state.platform, person, grant_id, reason=reason.strip())
    return RedirectResponse("/inbox", status_code=303)


# --- what can I see and why ----------------------------------------------------------------------


def dataset_access(platform: Platform, person: Person, name: str, purpose: str | None) -> dict[str, Any]:
    """What `person` may read of dataset `name` and why: masked columns with the rule, and whether to offer
    a request-access form (the dataset page and the explain page show it)."""
    e = controls.explain(platform, person, name, purpose=purpose)
    explained = e.to_json()
    masked = {c["column"]: c for c in explained["columns"] if c["mask"]}
    mine = [r.to_json() for r in access.my_requests(platform, person) if r.dataset == e.dataset]
    return {
        "allowed": e.allowed,
        "rule": e.rule,
        "reason": e.reason,
        "purpose": e.purpose,
        "masked": masked,
        "row_filters": explained["row_filters"],
        "can_request": e.can_request,
        "may": explained["may"],
        "columns": [c.column for c in e.columns],
        "requests": mine[:5],
    }


@router.get("/explain/{name}")
def explain(
    request: Request,
    person: Annotated[Person, Requires("dataset.know", on="name")],
    name: str,
    purpose: Annotated[str, Query(max_length=200)] = "",
    user: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """`/explain/domain.name` (or its JSON twin `/explain/domain.name.json`): what the reader can see, and why."""
    if name.endswith(".json") and "." in name[: -len(".json")]:
        name = name[: -len(".json")]
    platform: Platform = request.app.state.platform
    e = controls.explain(platform, person, name, reader=user or None, purpose=purpose or None)
    data = e.to_json() | {"asked_purpose": purpose, "asked_user": user, "access": None}
    if e.reader == person.name:
        data["access"] = dataset_access(platform, person, e.dataset, purpose or None)
    return page(
        request,
        "explain.html",
        data,
        person=person,
        title=i18n.Text("What can I see: %(dataset)s", {"dataset": e.dataset}),
    )


# --- the audit log -------------------------------------------------------------------------------


@router.get("/audit")
@router.get("/audit.json")
def audit_log(
    request: Request,
    person: Annotated[Person, Requires("dataset.audit")],
    dataset: Annotated[str, Query(max_length=200)] = "",
    action: Annotated[str, Query(max_length=100)] = "",
    user: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    entries = audit.search(
        request.app.state.platform,
        person,
        dataset=dataset.strip() or None,
        action=action.strip() or None,
        actor=user.strip() or None,
        limit=200,
    )
    data = {
        "dataset": dataset,
        "action": action,
        "user": user,
        "entries": [e.to_json() for e in entries],
        "scope": "everything" if may(person, "governance.oversee") else "mine",
    }
    return page(request, "audit.html", data, person=person, title=i18n.Text("Audit log"), nav="governance")
