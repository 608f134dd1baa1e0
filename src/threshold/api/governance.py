"""REST API of governance under /api/v1: tokens, policies, owner controls, access requests, grants, audit.

Each route parses its input, calls one governance or identity service and returns its answer; who may
call it is declared in its signature (`interface/permissions.py`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from threshold.errors import InvalidInput, NotFound
from threshold.governance import audit, controls, policies
from threshold.governance import requests as access
from threshold.identity import service as identity
from threshold.identity.service import Person
from threshold.interface.deps import PlatformDep, client_address
from threshold.interface.params import Id, Offset
from threshold.interface.permissions import Governance, Public, Requires, SignedIn

router = APIRouter(prefix="/api/v1")

Visibility = Literal["open", "on-request", "restricted"]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Manages = Annotated[Person, Requires("dataset.manage", on="name")]
Grants = Annotated[Person, Requires("dataset.grant")]


class TokenIn(BaseModel):
    user: Name
    password: str = Field(max_length=1000)
    days: int = Field(default=30, ge=1, le=366)
    name: str = Field(default="", max_length=100)


class PolicyIn(BaseModel):
    text: str = Field(min_length=1, max_length=200_000)
    """A policy file (YAML): `scope: global` with `guardrails`, or `domain: NAME` with `policies`."""
    reason: str = Field(default="", max_length=2000)


class VisibilityIn(BaseModel):
    visibility: Visibility


class PurposesIn(BaseModel):
    purposes: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=100)


class TagIn(BaseModel):
    tag: Name
    column: str | None = Field(default=None, max_length=200)


class RequestIn(BaseModel):
    dataset: Name
    purpose: str = Field(max_length=200)
    days: int = Field(default=90, ge=1, le=access.MAX_DAYS)
    columns: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=1000)
    justification: str = Field(default="", max_length=5000)


class ApproveIn(BaseModel):
    reason: str = Field(default="", max_length=2000)
    personal: bool = False
    """The approved purpose allows personal data (lifts the personal-data guardrail for this grant)."""


class DenyIn(BaseModel):
    reason: str = Field(max_length=2000)


# --- identity: tokens ---------------------------------------------------------------------------


@router.post(
    "/auth/token",
    summary="Sign in with a password: a new personal API token (shown once)",
    responses={429: {"description": "Too many failed sign-ins; try again after `Retry-After` seconds"}},
)
def create_token(body: TokenIn, request: Request, platform: PlatformDep, caller: Public) -> dict[str, Any]:
    """Throttled per account and client address: too many failures answer 429 with Retry-After."""
    person = identity.authenticate(platform, body.user, body.password, address=client_address(request))
    token_id, token = identity.create_token(platform, person.name, name=body.name or "login", days=body.days)
    return {"id": token_id, "token": token, "user": person.name, "days": body.days}


@router.get("/tokens", summary="My API tokens (never the tokens themselves)")
def tokens(platform: PlatformDep, person: SignedIn) -> list[dict[str, Any]]:
    return identity.list_tokens(platform, person)


@router.delete("/tokens/{token_id}", summary="Revoke one of my API tokens")
def revoke_token(token_id: Id, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    if token_id not in {t["id"] for t in identity.list_tokens(platform, person)}:
        raise NotFound(f"you have no token {token_id}")
    identity.revoke_token(platform, token_id, by=person)
    return {"revoked": token_id}


# --- policies and owner controls ----------------------------------------------------------------


@router.get("/policies", summary="Guardrails and domain policies (the built-in personal-data guardrail first)")
def list_policies(platform: PlatformDep, person: SignedIn, history: bool = False) -> list[dict[str, Any]]:
    return [r.to_json() for r in policies.list_policies(platform, history=history, viewer=person)]


@router.post("/policies", summary="Apply a policy file: global guardrails (governance) or a domain's (owners)")
def apply_policy(
    body: PolicyIn, platform: PlatformDep, person: Annotated[Person, Requires("policy.edit")]
) -> dict[str, Any]:
    return asdict(policies.apply(platform, person, body.text, reason=body.reason))


@router.post("/policies/plan", summary="What applying a policy file would change, in words (nothing is applied)")
def plan_policy(
    body: PolicyIn, platform: PlatformDep, person: Annotated[Person, Requires("policy.edit")]
) -> dict[str, Any]:
    return asdict(policies.plan(platform, person, body.text))


@router.put("/datasets/{name}/visibility", summary="A dataset's visibility: open, on-request or restricted")
def set_visibility(name: str, body: VisibilityIn, platform: PlatformDep, person: Manages) -> dict[str, Any]:
    return controls.set_visibility(platform, person, _dataset_name(name), body.visibility).to_json()


@router.put("/domains/{name}/visibility", summary="A domain's default visibility for its datasets")
def set_domain_visibility(
    name: str, body: VisibilityIn, platform: PlatformDep, person: Annotated[Person, Requires("domain.own")]
) -> dict[str, Any]:
    if "." in name:
        raise InvalidInput("name a domain, not a dataset")
    return controls.set_visibility(platform, person, name, body.visibility).to_json()


@router.put("/datasets/{name}/purposes", summary="The purposes a dataset may be read for (empty: any)")
def set_purposes(name: str, body: PurposesIn, platform: PlatformDep, person: Manages) -> dict[str, Any]:
    return controls.set_purposes(platform, person, _dataset_name(name), body.purposes).to_json()


@router.post("/datasets/{name}/tags", summary="Tag a dataset, or one of its columns")
def add_tag(name: str, body: TagIn, platform: PlatformDep, person: Manages) -> dict[str, Any]:
    return controls.tag(platform, person, _target(name, body.column), body.tag).to_json()


@router.delete("/datasets/{name}/tags", summary="Remove a tag from a dataset, or from one of its columns")
def remove_tag(
    name: str,
    platform: PlatformDep,
    person: Manages,
    tag: Annotated[str, Query(min_length=1, max_length=200)],
    column: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    return controls.untag(platform, person, _target(name, column), tag).to_json()


@router.get("/datasets/{name}/explain", summary="What a reader can see of a dataset, and which rule decided it")
def explain(
    name: str,
    platform: PlatformDep,
    person: Annotated[Person, Requires("dataset.know", on="name")],
    purpose: Annotated[str | None, Query(max_length=200)] = None,
    user: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    return controls.explain(
        platform, person, _dataset_name(name), reader=user or None, purpose=purpose or None
    ).to_json()


# --- access requests and grants -----------------------------------------------------------------


@router.post("/requests", summary="Ask for access to a dataset for a purpose (may be auto-approved)")
def request_access(
    body: RequestIn, platform: PlatformDep, person: Annotated[Person, Requires("dataset.request")]
) -> dict[str, Any]:
    return access.request_access(
        platform,
        person,
        body.dataset,
        purpose=body.purpose,
        days=body.days,
        columns=body.columns,
        justification=body.justification,
    ).to_json()


@router.get("/requests", summary="My access requests, newest first")
def my_requests(platform: PlatformDep, person: SignedIn) -> list[dict[str, Any]]:
    return [r.to_json() for r in access.my_requests(platform, person)]


@router.get("/inbox", summary="Requests waiting for my decision (datasets of the domains I own)")
def inbox(platform: PlatformDep, person: SignedIn) -> list[dict[str, Any]]:
    return [r.to_json() for r in access.inbox(platform, person)]


@router.post("/requests/{request_id}/approve", summary="Approve a request: a grant for its purpose, until it expires")
def approve(request_id: Id, body: ApproveIn, platform: PlatformDep, person: Grants) -> dict[str, Any]:
    return access.approve(platform, person, request_id, reason=body.reason, allow_personal=body.personal).to_json()


@router.post("/requests/{request_id}/deny", summary="Deny a request, with a reason the requester can act on")
def deny(request_id: Id, body: DenyIn, platform: PlatformDep, person: Grants) -> dict[str, Any]:
    return access.deny(platform, person, request_id, reason=body.reason).to_json()


@router.get("/grants", summary="Grants I hold, or every grant on a dataset I own")
def grants(
    platform: PlatformDep, person: SignedIn, dataset: Annotated[str | None, Query(max_length=200)] = None
) -> list[dict[str, Any]]:
    return [g.to_json() for g in access.grants(platform, person, dataset=dataset or None)]


@router.delete("/grants/{grant_id}", summary="Revoke a grant (owners of its dataset, or the grantee)")
def revoke_grant(
    grant_id: Id,
    platform: PlatformDep,
    person: Grants,
    reason: Annotated[str, Query(max_length=2000)] = "",
) -> dict[str, Any]:
    return access.revoke(platform, person, grant_id, reason=reason).to_json()


# --- audit and time-to-access -------------------------------------------------------------------


@router.get("/audit", summary="The audit log (owners: their data and own actions; governance: everything)")
def audit_log(
    platform: PlatformDep,
    person: Annotated[Person, Requires("dataset.audit")],
    dataset: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    user: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    entries = audit.search(
        platform,
        person,
        dataset=dataset or None,
        action=action or None,
        actor=user or None,
        limit=limit,
        offset=offset,
    )
    return [e.to_json() for e in entries]


@router.get("/governance/time-to-access", summary="Per domain: how long access requests waited (median, p90)")
def time_to_access(platform: PlatformDep, person: SignedIn) -> list[dict[str, Any]]:
    return [t.to_json() for t in access.time_to_access(platform)]


@router.get("/governance/pending", summary="Every request waiting for an answer across the organisation")
def pending(platform: PlatformDep, person: Governance) -> list[dict[str, Any]]:
    return [r.to_json() for r in access.pending(platform, person)]


def _dataset_name(name: str) -> str:
    if name.count(".") != 1:
        raise InvalidInput("name a dataset as domain.dataset")
    return name


def _target(name: str, column: str | None) -> str:
    return f"{_dataset_name(name)}.{column}" if column else _dataset_name(name)
