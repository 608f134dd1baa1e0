"""REST API under /api/v1: the same capabilities as the CLI and the Python client."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from threshold.catalog import service as catalog
from threshold.gateway.service import query as run_query
from threshold.identity import service as identity
from threshold.interface.deps import CurrentPerson, PlatformDep
from threshold.interface.uploads import receive_and_share
from threshold.usage import service as usage
from threshold.web.render import arrow_ipc, as_csv, rows

router = APIRouter(prefix="/api/v1")


class QueryIn(BaseModel):
    sql: str = Field(max_length=200_000)
    purpose: str | None = Field(default=None, max_length=200)
    format: Literal["json", "csv", "arrow"] = "json"
    max_rows: int | None = Field(default=10_000, ge=1)


@router.get("/me", summary="Who am I")
def me(person: CurrentPerson) -> dict[str, Any]:
    return asdict(person)


@router.get("/datasets", summary="Search datasets (best matches first, paginated)")
def datasets(
    platform: PlatformDep,
    person: CurrentPerson,
    q: str = "",
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    return asdict(catalog.search(platform, q, page=page, per_page=per_page, viewer=person))


@router.get("/datasets/{name}", summary="A dataset's record: schema, tags, profile, history")
def dataset(name: str, platform: PlatformDep, person: CurrentPerson) -> dict[str, Any]:
    return catalog.describe(platform, name, viewer=person)


@router.get("/datasets/{name}/usage", summary="Usage of one dataset")
def dataset_usage(name: str, platform: PlatformDep, person: CurrentPerson) -> dict[str, Any]:
    return usage.dataset_usage(platform, name)


@router.get("/datasets/{name}/preview", summary="First rows, read through the gateway")
async def preview(
    name: str,
    platform: PlatformDep,
    person: CurrentPerson,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    purpose: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """As the reader may see them: for the purpose asked, else the one their grant covers, else "preview"."""
    from threshold.governance.decide import decide

    d = catalog.describe(platform, name, viewer=person)
    if not purpose:
        purpose = decide(platform, person, [d["name"]], None)[0].purpose or "preview"
    result = await run_in_threadpool(
        run_query,
        platform,
        f"SELECT * FROM {d['name']} LIMIT {int(limit)}",
        user=person,
        purpose=purpose,
        interface="api",
        max_rows=limit,
    )
    return {"columns": result.table.column_names, "rows": rows(result.table)}


@router.post("/query", summary="Run a read-only SQL query through the gateway", response_model=None)
async def query(body: QueryIn, platform: PlatformDep, person: CurrentPerson) -> Response | dict[str, Any]:
    result = await run_in_threadpool(
        run_query,
        platform,
        body.sql,
        user=person,
        purpose=body.purpose,
        interface="api",
        max_rows=body.max_rows,
    )
    headers = {
        "X-Threshold-Rows": str(result.table.num_rows),
        "X-Threshold-Truncated": str(result.truncated).lower(),
    }
    if body.format == "arrow":
        return Response(arrow_ipc(result.table), media_type="application/vnd.apache.arrow.stream", headers=headers)
    if body.format == "csv":
        return Response(as_csv(result.table), media_type="text/csv; charset=utf-8", headers=headers)
    return JSONResponse(
        {
            "columns": result.table.column_names,
            "rows": rows(result.table),
            "row_count": result.table.num_rows,
            "truncated": result.truncated,
            "datasets": result.datasets,
            "duration_ms": result.duration_ms,
            "notes": result.notes,
        },
        headers=headers,
    )


@router.post("/shares", summary="Share an uploaded file into the lake")
async def share(
    platform: PlatformDep,
    person: CurrentPerson,
    file: Annotated[UploadFile, File()],
    domain: Annotated[str, Form()],
    name: Annotated[str | None, Form()] = None,
    mode: Annotated[str, Form()] = "create",
    sheet: Annotated[str | None, Form()] = None,
    description: Annotated[str, Form()] = "",
    purpose: Annotated[str, Form()] = "",
    evolve: Annotated[bool, Form()] = False,
) -> dict[str, Any]:
    results = await run_in_threadpool(
        receive_and_share, platform, person, file, domain, name, mode, sheet, description, purpose, evolve
    )
    return {"results": [asdict(r) for r in results]}


@router.get("/usage", summary="Organisation-wide usage: most used, never used")
def org_usage(platform: PlatformDep, person: CurrentPerson) -> dict[str, Any]:
    return usage.org_usage(platform)


@router.get("/users/{name}/usage", summary="What one person used")
def user_usage(name: str, platform: PlatformDep, person: CurrentPerson) -> dict[str, Any]:
    """A person's own use; admins and the governance group may see anyone's."""
    from threshold.errors import Denied

    if name != person.name and not (person.is_admin or person.is_governance):
        raise Denied(f"{person.name} may see only their own usage (rule: usage.self)")
    return usage.person_usage(platform, name)


@router.get("/domains", summary="Domains with their owners")
def domains(platform: PlatformDep, person: CurrentPerson) -> list[dict[str, Any]]:
    return identity.list_domains(platform)
