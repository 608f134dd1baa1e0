"""REST API of the glossary under /api/v1: terms, proposals and their review, links, CSV export and import.

Every route is open to anyone signed in (`platform.use`); the glossary service asks the decision point per
term (`glossary.propose|review|link`). A term is named in the path by its name (any case); a name holds
no `/`.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from threshold.glossary import service, transfer
from threshold.interface.deps import PlatformDep
from threshold.interface.permissions import API, SignedIn

router = APIRouter(prefix=API, tags=["glossary"])
Term = Annotated[str, Path(min_length=1, max_length=service.MAX_TITLE)]
Target = Annotated[str, Field(min_length=1, max_length=500)]


class TermIn(BaseModel):
    term: str = Field(min_length=1, max_length=service.MAX_TITLE)
    definition: str = Field(min_length=1, max_length=service.MAX_DEFINITION)
    domain: str | None = Field(default=None, max_length=100)
    synonyms: list[Annotated[str, Field(max_length=service.MAX_SYNONYM)]] | None = Field(
        default=None, max_length=service.MAX_SYNONYMS
    )
    """None (left out): an edit keeps the term's synonyms."""
    note: str = Field(default="", max_length=service.MAX_NOTE)
    submit: bool = True
    """False: keep it a draft (submit it later)."""


class ReviewIn(BaseModel):
    approve: bool
    note: str = Field(default="", max_length=service.MAX_NOTE)


class LinkIn(BaseModel):
    target: Target
    """`dataset:domain.name`, `column:domain.name.column` or `insight:ID`."""


class ImportIn(BaseModel):
    csv: str = Field(min_length=1, max_length=transfer.MAX_BYTES)
    submit: bool = True


@router.get("/glossary", summary="Terms you may see (search, by domain, by status, linked to a dataset)")
def terms(
    platform: PlatformDep,
    person: SignedIn,
    q: Annotated[str, Query(max_length=200)] = "",
    domain: Annotated[str, Query(max_length=100)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    dataset: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    found = service.listing(
        platform,
        person,
        search=q or None,
        domain=domain or None,
        status=status or None,
        dataset=dataset or None,
        limit=limit,
        offset=offset,
    )
    return asdict(found)


@router.post("/glossary", status_code=201, summary="Propose a new term or an edit of one (reviewed before in force)")
def propose(body: TermIn, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(service.propose(platform, person, body.term, **body.model_dump(exclude={"term"})))


@router.get("/glossary.csv", summary="Every term you may see, as CSV (term, domain, definition, synonyms, status)")
def export(platform: PlatformDep, person: SignedIn) -> Response:
    return Response(
        transfer.export_csv(platform, person),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="glossary.csv"'},
    )


@router.post("/glossary/import", summary="Propose every row of a CSV (all rows or none)")
def import_terms(body: ImportIn, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(transfer.import_csv(platform, person, body.csv, submit=body.submit))


@router.get("/glossary/{term}", summary="A term: the text in force, an open revision and its changes, links, history")
def term(term: Term, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(service.show(platform, person, term))


@router.post("/glossary/{term}/submit", summary="Send your draft to review")
def submit(term: Term, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(service.submit(platform, person, term))


@router.post("/glossary/{term}/review", summary="Approve the revision in review, or reject it with a reason")
def review(term: Term, body: ReviewIn, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(service.review(platform, person, term, approve=body.approve, note=body.note))


@router.delete("/glossary/{term}/proposal", summary="Take back your open revision")
def withdraw(term: Term, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    shown = service.withdraw(platform, person, term)
    return {"withdrawn": True, "term": asdict(shown) if shown else None}


@router.post("/glossary/{term}/links", summary="Link the term to a dataset, a column or an insight")
def link(term: Term, body: LinkIn, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(service.link(platform, person, term, body.target))


@router.delete("/glossary/{term}/links", summary="Remove a link")
def unlink(
    term: Term, platform: PlatformDep, person: SignedIn, target: Annotated[str, Query(min_length=1, max_length=500)]
) -> dict[str, Any]:
    return asdict(service.unlink(platform, person, term, target))
