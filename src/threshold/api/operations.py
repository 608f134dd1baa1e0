"""REST API of operating a home under /api/v1: the doctor (admins), repair and maintenance (owners).

Backup and restore are CLI and Python only: they read and write folders of the server's machine,
which an HTTP caller should not name.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from threshold.identity.service import Person
from threshold.interface.deps import PlatformDep
from threshold.interface.permissions import Admin, Requires
from threshold.operations import doctor, maintenance, record, repair
from threshold.operations.permissions import dataset_for

API = "/api/v1"
Operates = Annotated[Person, Requires("dataset.operate", on="name")]
"""Owners of the dataset's domain and administrators (a dataset the caller may not know is not found)."""

router = APIRouter(prefix=API)


class RepairIn(BaseModel):
    how: Literal["rollback", "drop-lost"]
    """`rollback` to the last published snapshot that reads fully, or `drop-lost`: keep every row but the lost ones."""
    deep: bool = False
    """Decode every page of every file, not only its footer, to find damaged files."""


class CompactIn(BaseModel):
    target_mb: int | None = Field(default=None, ge=1, le=8192)


class ExpireIn(BaseModel):
    older_than_days: float | None = Field(default=None, ge=0, le=36_500)
    dry_run: bool = False


@router.get("/admin/doctor", summary="The home's health: orphans, abandoned snapshots, lost files, locks, disk")
async def diagnose(platform: PlatformDep, person: Admin, deep: Annotated[bool, Query()] = False) -> dict[str, Any]:
    report = await run_in_threadpool(lambda: doctor.diagnose(platform, person, deep=deep))
    return report.as_dict()


@router.post("/admin/doctor/fix", summary="Clean up what dead writers left, then report the home's health")
async def fix(platform: PlatformDep, person: Admin) -> dict[str, Any]:
    report = await run_in_threadpool(lambda: doctor.diagnose(platform, person, fix=True))
    return report.as_dict()


@router.get("/datasets/{name}/damage", summary="Lost data files of a dataset and what each repair would keep")
async def damage(
    name: str, platform: PlatformDep, person: Operates, deep: Annotated[bool, Query()] = False
) -> dict[str, Any]:
    found = await run_in_threadpool(lambda: repair.examine(platform, person, name, deep=deep))
    return found.as_dict()


@router.post("/datasets/{name}/repair", summary="Repair a dataset with a missing or damaged data file")
async def repair_dataset(name: str, body: RepairIn, platform: PlatformDep, person: Operates) -> dict[str, Any]:
    done = await run_in_threadpool(lambda: repair.repair(platform, person, name, how=body.how, deep=body.deep))
    return asdict(done) | {"snapshot_id": str(done.snapshot_id)}


@router.post("/datasets/{name}/compact", summary="Merge a dataset's small files (same rows, a new snapshot)")
async def compact(name: str, body: CompactIn, platform: PlatformDep, person: Operates) -> dict[str, Any]:
    done = await run_in_threadpool(lambda: maintenance.compact(platform, person, name, target_mb=body.target_mb))
    return asdict(done) | {"snapshot_id": str(done.snapshot_id) if done.snapshot_id else None}


@router.post("/datasets/{name}/expire", summary="Expire snapshots no time-travel promise needs")
async def expire(name: str, body: ExpireIn, platform: PlatformDep, person: Operates) -> dict[str, Any]:
    done = await run_in_threadpool(
        lambda: maintenance.expire(platform, person, name, older_than_days=body.older_than_days, dry_run=body.dry_run)
    )
    return asdict(done) | {"expired": [str(i) for i in done.expired]}


@router.get("/datasets/{name}/maintenance", summary="A dataset's maintenance history")
def history(name: str, platform: PlatformDep, person: Operates) -> list[dict[str, Any]]:
    with platform.store.session() as s:
        ds = dataset_for(s, person, name, "see the maintenance of")
        dataset_id = ds.id
    return [e.to_json() for e in record.history(platform, dataset_id)]
