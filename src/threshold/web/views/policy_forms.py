"""Governance without YAML: a domain's forms, the preview of one change (the resulting policy and the change
in words), then the apply through the policy editor's own route, which reports what changed in words."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from threshold.errors import ThresholdError
from threshold.governance import editing, policies
from threshold.interface.permissions import SignedIn
from threshold.platform import Platform
from threshold.web import i18n
from threshold.web.session import check_csrf
from threshold.web.templating import page

router = APIRouter()
Field = Annotated[str, Form(max_length=2000)]


@router.get("/governance/domains/{domain}")
def forms(request: Request, person: SignedIn, domain: str) -> Response:
    """`/governance/domains/manufacturing` (or `.json`): the domain's settings and rules, with a form per change."""
    domain = domain.removesuffix(".json")
    data = asdict(editing.rules_of(request.app.state.platform, person, domain)) | {"error": None}
    return page(
        request,
        "governance_forms.html",
        data,
        person=person,
        title=i18n.Text("Policies of %(domain)s", {"domain": domain}),
        nav="governance",
    )


@router.post("/governance/domains/{domain}/preview")
def preview(
    request: Request,
    person: SignedIn,
    domain: str,
    kind: Annotated[str, Form(max_length=20)],
    dataset: Field = "",
    visibility: Annotated[str, Form(max_length=20)] = "",
    purposes: Field = "",
    columns: Field = "",
    tags: Field = "",
    mask: Annotated[str, Form(max_length=20)] = "redact",
    where: Field = "",
    readers: Field = "outside_domain",
    personal_columns: Annotated[str, Form(max_length=10)] = "",
    rule_id: Annotated[str, Form(max_length=100)] = "",
    description: Field = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The change made into the domain's whole policy file and planned: nothing is applied yet."""
    check_csrf(request, csrf)
    platform: Platform = request.app.state.platform
    # `kind` is checked by `edited_file` (one of `editing.KINDS`).
    change = editing.Change(
        kind=kind,  # type: ignore[arg-type]
        dataset=dataset,
        visibility=visibility,
        purposes=purposes.split(","),
        columns=columns.split(","),
        tags=tags.split(","),
        mask=mask,
        where=where,
        readers=readers,
        personal_columns=personal_columns in ("true", "on", "1"),
        rule_id=rule_id,
        description=description,
    )
    try:
        text = editing.edited_file(platform, person, domain, change)
        plan = policies.plan(platform, person, text)
    except ThresholdError as e:
        data: dict[str, Any] = asdict(editing.rules_of(platform, person, domain)) | {"error": str(e)}
        return page(
            request,
            "governance_forms.html",
            data,
            person=person,
            status=e.status,
            title=i18n.Text("Policies of %(domain)s", {"domain": domain}),
            nav="governance",
        )
    resulting = policies.parse_file(text)
    data = {
        "domain": domain,
        "text": text,
        "changes": plan.changes,
        "in_words": plan.in_words(),
        "resulting": [
            {"id": r.id, "kind": r.kind, "words": editing.describe_rule(r, domain)} for r in resulting.policies
        ],
    }
    return page(
        request, "governance_preview.html", data, person=person, title=i18n.Text("Check the change"), nav="governance"
    )
