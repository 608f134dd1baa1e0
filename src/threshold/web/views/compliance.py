"""The collection register's pages: `/compliance/register` (filter, export as CSV, its `.json` twin) and the
edit form of a dataset's entry (from the dataset page's register section). The compliance service decides
who may see and change what (docs/compliance.md); the pages only render and translate forms."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from threshold.access import known_ref, may
from threshold.compliance import register
from threshold.compliance.bases import LEGAL_BASIS_LABELS, SPECIAL_CONDITION_LABELS
from threshold.identity.service import Person
from threshold.interface.permissions import SignedIn
from threshold.platform import Platform
from threshold.web.session import check_csrf
from threshold.web.templating import page

router = APIRouter()

BASES = [(b.value, label) for b, label in LEGAL_BASIS_LABELS.items()]
CONDITIONS = [(c.value, label) for c, label in SPECIAL_CONDITION_LABELS.items()]


@router.get("/compliance/register")
@router.get("/compliance/register.json")
def register_page(
    request: Request,
    person: SignedIn,
    legal_basis: Annotated[str, Query(max_length=40)] = "",
    domain: Annotated[str, Query(max_length=100)] = "",
    missing: bool = False,
) -> Response:
    platform = request.app.state.platform
    rows = register.register(
        platform, person, legal_basis_filter=legal_basis or None, domain=domain or None, missing_only=missing
    )
    data = {
        "entries": [r.to_json() for r in rows],
        "legal_basis": legal_basis,
        "domain": domain,
        "missing": missing,
        "bases": BASES,
    }
    return page(request, "compliance_register.html", data, person=person, title="Collection register", nav="compliance")


@router.get("/compliance/register.csv")
def register_csv(
    request: Request,
    person: SignedIn,
    legal_basis: Annotated[str, Query(max_length=40)] = "",
    domain: Annotated[str, Query(max_length=100)] = "",
    missing: bool = False,
) -> Response:
    text = register.export(
        request.app.state.platform,
        person,
        "csv",
        legal_basis_filter=legal_basis or None,
        domain=domain or None,
        missing_only=missing,
    )
    headers = {"Content-Disposition": 'attachment; filename="collection-register.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


@router.post("/compliance/register/{dataset}")
def edit(
    request: Request,
    person: SignedIn,
    dataset: str,
    purpose: Annotated[str, Form(max_length=1000)] = "",
    legal_basis: Annotated[str, Form(max_length=40)] = "",
    special_condition: Annotated[str, Form(max_length=40)] = "",
    subjects: Annotated[str, Form(max_length=5000)] = "",
    retention: Annotated[str, Form(max_length=20)] = "",
    retention_column: Annotated[str, Form(max_length=127)] = "",
    source_system: Annotated[str, Form(max_length=200)] = "",
    controller: Annotated[str, Form(max_length=320)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The dataset page's register form: every field as the owner left it ("" clears one)."""
    check_csrf(request, csrf)
    rec = register.set_record(
        request.app.state.platform,
        person,
        dataset,
        purpose=purpose,
        legal_basis=legal_basis,
        special_condition=special_condition,
        subjects=subjects,
        retention=retention,
        retention_column=retention_column,
        source_system=source_system,
        controller=controller,
    )
    return RedirectResponse(f"/datasets/{quote(rec.dataset, safe='.')}#register", status_code=303)


def dataset_section(platform: Platform, person: Person, dataset: str) -> dict[str, Any]:
    """What the dataset page shows of the register: the entry, its history, whether the person may edit it."""
    rec = register.show(platform, person, dataset)
    ref = known_ref(platform, person, dataset)
    changes = register.history(platform, person, dataset)[:10]
    return {
        "entry": rec.to_json(),
        "history": [asdict(c) | {"at": c.at.isoformat()} for c in changes],
        "may_edit": bool(may(person, "compliance.register.edit", ref)),
        "bases": BASES,
        "conditions": CONDITIONS,
    }
