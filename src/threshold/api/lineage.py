"""REST API of the lineage capability under /api/v1.

POST /lineage takes OpenLineage run events (Airflow, dbt, Spark, `openlineage-python`'s HTTP
transport with an API key = a Threshold token); see docs/lineage.md. Scheduled refreshes are jobs:
the app's scheduler (`api/app.py`, `threshold.jobs`) runs them.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from threshold.errors import InvalidInput
from threshold.identity.service import Person
from threshold.interface.deps import PlatformDep
from threshold.interface.permissions import Requires, SignedIn
from threshold.lineage import derive as derivation
from threshold.lineage import sources
from threshold.lineage.impact import impact as run_impact
from threshold.lineage.openlineage_in import ingest
from threshold.lineage.supply_chain import lineage as supply_chain
from threshold.lineage.supply_chain import overview

MAX_EVENT_BYTES = 16 * 1024 * 1024
KnowsDataset = Annotated[Person, Requires("dataset.know", on="dataset")]
RunsDerivation = Annotated[Person, Requires("derivation.run")]


router = APIRouter(prefix="/api/v1")


class DeriveIn(BaseModel):
    name: str = Field(max_length=63)
    domain: str = Field(max_length=63)
    sql: str = Field(max_length=200_000)
    schedule: str | None = Field(default=None, max_length=50)
    purpose: str | None = Field(default=None, max_length=200)
    description: str = Field(default="", max_length=10_000)
    replace: bool = False


class ScheduleIn(BaseModel):
    schedule: str | None = Field(default=None, max_length=50)


class SourceIn(BaseModel):
    name: str = Field(max_length=63)
    owner: str = Field(max_length=63)
    kind: str = Field(default="application", max_length=30)
    description: str = Field(default="", max_length=10_000)


@router.post("/lineage", status_code=201, summary="Receive OpenLineage run events (one, or a list)")
async def receive(
    request: Request, platform: PlatformDep, person: Annotated[Person, Requires("lineage.write")]
) -> dict[str, Any]:
    body = await _json_body(request)
    return (await run_in_threadpool(ingest, platform, body, user=person)).to_json()


async def _json_body(request: Request) -> Any:
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_EVENT_BYTES:
            raise InvalidInput(f"an OpenLineage request is at most {MAX_EVENT_BYTES // (1024 * 1024)} MB")
    encoding = request.headers.get("content-encoding", "").lower()
    try:
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding == "deflate":
            raw = zlib.decompress(raw)
    except (OSError, zlib.error) as e:
        raise InvalidInput(f"the body is not valid {encoding}") from e
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InvalidInput("the body is not JSON: send an OpenLineage event") from e


@router.get("/lineage", summary="The lineage graph in numbers, and every lineage gap")
def lineage_overview(platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return overview(platform, viewer=person).to_json()


@router.get("/lineage/{dataset}", summary="Upstream and downstream of a dataset (or of one of its columns)")
def lineage(
    dataset: str,
    platform: PlatformDep,
    person: KnowsDataset,
    column: Annotated[str | None, Query(max_length=255)] = None,
    direction: Literal["upstream", "downstream", "both"] = "both",
    depth: Annotated[int, Query(ge=1, le=20)] = 5,
) -> dict[str, Any]:
    return supply_chain(platform, dataset, column=column, direction=direction, depth=depth, viewer=person).to_json()


@router.get(
    "/impact/{dataset}/{column}", summary="If a column is dropped, renamed or retyped: what breaks and who to tell"
)
def impact(
    dataset: str,
    column: str,
    platform: PlatformDep,
    person: KnowsDataset,
    change: Literal["drop", "rename", "retype"] = "drop",
) -> dict[str, Any]:
    return run_impact(platform, dataset, column, change=change, viewer=person).to_json()


@router.post("/impact/{dataset}/{column}/notify", summary="Announce a planned change to everyone affected")
def announce(
    dataset: str,
    column: str,
    platform: PlatformDep,
    person: Annotated[Person, Requires("dataset.write", on="dataset")],
    change: Literal["drop", "rename", "retype"] = "drop",
) -> dict[str, Any]:
    return run_impact(platform, dataset, column, change=change, viewer=person, notify=True).to_json()


@router.post("/derive", status_code=201, summary="Derive a dataset from SQL (run through the gateway as you)")
def derive(
    body: DeriveIn, platform: PlatformDep, person: Annotated[Person, Requires("domain.member")]
) -> dict[str, Any]:
    result = derivation.derive(
        platform,
        body.name,
        domain=body.domain,
        sql=body.sql,
        user=person,
        schedule_text=body.schedule,
        purpose=body.purpose,
        description=body.description,
        replace=body.replace,
    )
    return asdict(result)


@router.post("/datasets/{name}/refresh", summary="Refresh a derived dataset now (one new snapshot)")
def refresh(name: str, platform: PlatformDep, person: RunsDerivation) -> dict[str, Any]:
    return asdict(derivation.refresh(platform, name, user=person))


@router.put("/datasets/{name}/schedule", summary="Set (or clear) a derived dataset's refresh schedule")
def set_schedule(name: str, body: ScheduleIn, platform: PlatformDep, person: RunsDerivation) -> dict[str, Any]:
    return derivation.set_schedule(platform, name, body.schedule, user=person).to_json()


@router.get("/derivations", summary="Derived datasets with owner, schedule and last run")
def derivations(platform: PlatformDep, person: SignedIn, domain: str | None = None) -> list[dict[str, Any]]:
    return [d.to_json() for d in derivation.derivations(platform, domain=domain, viewer=person)]


@router.get("/derivations/{dataset}", summary="One derivation: SQL, schedule and its runs")
def derivation_detail(dataset: str, platform: PlatformDep, person: KnowsDataset) -> dict[str, Any]:
    return derivation.describe_derivation(platform, dataset, viewer=person).to_json()


@router.get("/sources", summary="Source systems and their owners")
def list_sources(platform: PlatformDep, person: SignedIn) -> list[dict[str, Any]]:
    return [s.to_json() for s in sources.list_sources(platform)]


@router.post("/sources", status_code=201, summary="Register a source system")
def add_source(
    body: SourceIn, platform: PlatformDep, person: Annotated[Person, Requires("source.register")]
) -> dict[str, Any]:
    return sources.add_source(
        platform, body.name, owner=body.owner, kind=body.kind, description=body.description, user=person
    ).to_json()
