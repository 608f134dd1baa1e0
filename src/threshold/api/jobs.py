"""REST API of the jobs core under /api/v1: the jobs, their run history, and "run now" (admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from threshold.identity.service import Person
from threshold.interface.deps import PlatformDep
from threshold.interface.permissions import API, Requires
from threshold.jobs import service as jobs

router = APIRouter(prefix=API)
Operator = Annotated[Person, Requires("jobs.operate")]


@router.get("/jobs", summary="Every scheduled job, the declared kinds and the newest runs")
def list_jobs(platform: PlatformDep, person: Operator) -> dict[str, Any]:
    return jobs.overview(platform).to_json()


@router.get("/jobs/history", summary="Runs of jobs, newest first")
def job_history(
    platform: PlatformDep,
    person: Operator,
    kind: Annotated[str | None, Query(max_length=60)] = None,
    key: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return [r.to_json() for r in jobs.history(platform, kind=kind, key=key, limit=limit)]


@router.post("/jobs/{kind}/{key}/run", summary="Run one job now, whatever its schedule")
async def run_job(kind: str, key: str, platform: PlatformDep, person: Operator) -> dict[str, Any]:
    o = await run_in_threadpool(jobs.run_now, platform, kind, key)
    return jobs.outcome_row(o).to_json()
