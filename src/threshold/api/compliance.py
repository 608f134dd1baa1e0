"""REST API of compliance under /api/v1: the collection register (entries, changes, export) and retention runs.

Reading the register is open to anyone signed in, filtered by the decision point (a dataset the caller may
not know exists is in no answer); editing an entry is for the dataset's owners and the governance group
(`compliance.register.edit`, asked by the service); running retention is for the governance group.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from threshold.compliance import register, retention
from threshold.interface.deps import PlatformDep
from threshold.interface.permissions import API, Governance, SignedIn

router = APIRouter(prefix=API, tags=["compliance"])
DatasetName = Annotated[str, Path(min_length=3, max_length=127)]


class RecordIn(BaseModel):
    """Fields to change; a field left out keeps its value, "" clears a text one."""

    purpose: str | None = Field(default=None, max_length=1000)
    legal_basis: str | None = Field(default=None, max_length=40, description="consent, contract, legal_obligation ...")
    special_condition: str | None = Field(default=None, max_length=40, description="GDPR Art. 9(2) condition")
    subjects: list[Annotated[str, Field(max_length=100)]] | None = Field(default=None, max_length=50)
    retention: str | None = Field(default=None, max_length=20, description="90d, 6w, 18m, 2y")
    retention_column: str | None = Field(default=None, max_length=127)
    source_system: str | None = Field(default=None, max_length=200)
    controller: str | None = Field(default=None, max_length=320)


class RetentionIn(BaseModel):
    dataset: str | None = Field(default=None, max_length=127)
    dry_run: bool = False


@router.get("/compliance/register", summary="The collection register: entries and datasets lacking one")
def entries(
    platform: PlatformDep,
    person: SignedIn,
    legal_basis: Annotated[str, Query(max_length=40)] = "",
    domain: Annotated[str, Query(max_length=100)] = "",
    missing: bool = False,
) -> list[dict[str, Any]]:
    rows = register.register(
        platform, person, legal_basis_filter=legal_basis or None, domain=domain or None, missing_only=missing
    )
    return [r.to_json() for r in rows]


@router.get("/compliance/register.csv", summary="The register as CSV, for the data protection officer")
def export_csv(
    platform: PlatformDep,
    person: SignedIn,
    legal_basis: Annotated[str, Query(max_length=40)] = "",
    domain: Annotated[str, Query(max_length=100)] = "",
    missing: bool = False,
) -> Response:
    text = register.export(
        platform, person, "csv", legal_basis_filter=legal_basis or None, domain=domain or None, missing_only=missing
    )
    headers = {"Content-Disposition": 'attachment; filename="collection-register.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/compliance/register/{dataset}", summary="A dataset's register entry")
def entry(dataset: DatasetName, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return register.show(platform, person, dataset).to_json()


@router.put("/compliance/register/{dataset}", summary="Change a dataset's entry (owners, governance group)")
def change(dataset: DatasetName, body: RecordIn, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    given = body.model_dump(exclude_none=True)
    return register.set_record(platform, person, dataset, **given).to_json()


@router.get("/compliance/register/{dataset}/history", summary="Changes to a dataset's entry, newest first")
def changes(dataset: DatasetName, platform: PlatformDep, person: SignedIn) -> list[dict[str, Any]]:
    return [asdict(c) | {"at": c.at.isoformat()} for c in register.history(platform, person, dataset)]


@router.post("/compliance/retention/run", summary="Remove rows past their retention now (governance group)")
async def run_retention(body: RetentionIn, platform: PlatformDep, person: Governance) -> list[dict[str, Any]]:
    outcomes = await run_in_threadpool(retention.run, platform, person, dataset=body.dataset, dry_run=body.dry_run)
    return [asdict(o) | {"cutoff": o.cutoff.isoformat()} for o in outcomes]
