"""REST API of the maturity model under /api/v1/maturity: the dashboard, a domain's standing, snapshots,
the target picture with its history and proposals, self-assessments.

Routes are open to anyone signed in, except taking a snapshot and setting the picture (the governance
group); the services ask the decision point per domain (`maturity.assess`, `maturity.target.propose|approve`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from threshold.interface.deps import PlatformDep
from threshold.interface.params import MAX_ID
from threshold.interface.permissions import API, Governance, SignedIn
from threshold.maturity import assessment, service, snapshots, target
from threshold.maturity.picture import MAX_DOCUMENT

router = APIRouter(prefix=API, tags=["maturity"])
DomainName = Annotated[str, Path(min_length=1, max_length=63)]
AgainstQ = Annotated[str, Query(pattern="^(then|now)$")]


class PictureIn(BaseModel):
    document: str = Field(min_length=1, max_length=MAX_DOCUMENT)
    reason: str = Field(min_length=1, max_length=target.MAX_REASON)


class ProposalIn(BaseModel):
    domain: str = Field(min_length=1, max_length=63)
    levels: dict[Annotated[str, Field(max_length=40)], int] = Field(max_length=20)
    reason: str = Field(min_length=1, max_length=target.MAX_REASON)


class DecisionIn(BaseModel):
    approve: bool
    note: str = Field(default="", max_length=target.MAX_REASON)


class AnswersIn(BaseModel):
    answers: dict[Annotated[str, Field(max_length=60)], int] = Field(max_length=50)
    note: str = Field(default="", max_length=2000)


@router.get(
    "/maturity", summary="Every domain's level per dimension in the newest (or a given) snapshot, and the trend"
)
def dashboard(
    platform: PlatformDep,
    person: SignedIn,
    against: AgainstQ = "then",
    snapshot: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> dict[str, Any]:
    return asdict(service.dashboard(platform, person, against=against, snapshot=snapshot))


@router.get("/maturity/domains/{domain}", summary="A domain's scores with their signals, next step and actions")
def standing(domain: DomainName, platform: PlatformDep, person: SignedIn, against: AgainstQ = "then") -> dict[str, Any]:
    return asdict(service.standing(platform, person, domain, against=against))


@router.get("/maturity/snapshots", summary="The snapshots taken, newest first")
def history(
    platform: PlatformDep, person: SignedIn, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    return [asdict(r) for r in snapshots.history(platform, person, limit=limit)]


@router.post("/maturity/snapshots", status_code=201, summary="Score every domain now and keep it (governance)")
def snapshot(platform: PlatformDep, person: Governance) -> dict[str, Any]:
    return asdict(snapshots.take(platform, person))


@router.get("/maturity/target", summary="Every version of the target picture, the one in force first")
def picture_history(platform: PlatformDep, person: SignedIn) -> list[dict[str, Any]]:
    return [asdict(v) for v in target.history(platform, person)]


@router.put("/maturity/target", status_code=201, summary="A new version of the target picture (governance)")
def set_picture(body: PictureIn, platform: PlatformDep, person: Governance) -> dict[str, Any]:
    return asdict(target.set_picture(platform, person, body.document, reason=body.reason))


@router.get("/maturity/target/proposals", summary="Domains' proposals of their own target")
def proposals(
    platform: PlatformDep, person: SignedIn, status: Annotated[str, Query(max_length=20)] = ""
) -> list[dict[str, Any]]:
    return [asdict(p) for p in target.proposals(platform, person, status=status or None)]


@router.post("/maturity/target/proposals", status_code=201, summary="Propose a domain's target (its owners)")
def propose(body: ProposalIn, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(target.propose(platform, person, body.domain, dict(body.levels), reason=body.reason))


@router.post("/maturity/target/proposals/{proposal}/decision", summary="Approve or reject a proposal (governance)")
def decide(
    proposal: Annotated[int, Path(ge=1)], body: DecisionIn, platform: PlatformDep, person: SignedIn
) -> dict[str, Any]:
    return asdict(target.decide(platform, person, proposal, approve=body.approve, note=body.note))


@router.get("/maturity/domains/{domain}/assessments", summary="Every version of a domain's self-assessment")
def assessments(domain: DomainName, platform: PlatformDep, person: SignedIn) -> list[dict[str, Any]]:
    return [asdict(a) for a in assessment.history(platform, person, domain)]


@router.post("/maturity/domains/{domain}/assessments", status_code=201, summary="A new self-assessment (members)")
def assess(domain: DomainName, body: AnswersIn, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(assessment.assess(platform, person, domain, dict(body.answers), note=body.note))
