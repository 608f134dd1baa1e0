"""REST API under /api/v1: the same capabilities as the CLI and the Python client."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from threshold.catalog import search as catalog_search
from threshold.catalog import service as catalog
from threshold.errors import Busy, InvalidInput
from threshold.gateway.service import open_query
from threshold.gateway.service import query as run_query
from threshold.gateway.stream import Cancel
from threshold.identity import service as identity
from threshold.identity.service import Person
from threshold.interface import running
from threshold.interface.bodies import accepts_upload
from threshold.interface.deps import PlatformDep
from threshold.interface.params import PageNumber
from threshold.interface.permissions import Requires, SignedIn
from threshold.interface.uploads import receive_and_share
from threshold.usage import service as usage
from threshold.web.render import rows

router = APIRouter(prefix="/api/v1")
KnowsDataset = Annotated[Person, Requires("dataset.know", on="name")]
"""Routes about the dataset in the path: one the caller may not know exists is answered as missing."""


class QueryIn(BaseModel):
    sql: str = Field(max_length=200_000)
    purpose: str | None = Field(default=None, max_length=200)
    format: Literal["json", "csv", "arrow", "ndjson"] = "json"
    """`arrow` (an Arrow IPC stream), `csv`, `ndjson` (one JSON object per line) or `json`; all streamed."""
    max_rows: int | None = Field(default=10_000, ge=1)
    """Fewer rows than your allowance; null: as many as it allows (`limits.query_rows`), never more."""
    timeout: float | None = Field(default=None, gt=0, le=7 * 24 * 3600)
    """Stop the query after this many seconds; null: the time limit (`limits.query_seconds`), never more."""
    engine: Literal["auto", "duckdb", "daft"] = "auto"
    """`daft`: run it on Daft (big queries, `docs/deployment.md`); `auto`: the configuration decides."""


@router.get("/me", summary="Who am I")
async def me(person: SignedIn) -> dict[str, Any]:
    """On the event loop (the person is at hand): a sync endpoint costs every call a hop to a worker thread."""
    return asdict(person)


@router.get("/datasets", summary="Search datasets (best matches first, paginated)")
def datasets(
    platform: PlatformDep,
    person: SignedIn,
    q: str = "",
    page: PageNumber = 1,
    per_page: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    return asdict(catalog_search.search(platform, q, page=page, per_page=per_page, viewer=person))


@router.get("/datasets/{name}", summary="A dataset's record: schema, tags, profile, history")
def dataset(name: str, platform: PlatformDep, person: KnowsDataset) -> dict[str, Any]:
    return catalog.describe(platform, name, viewer=person).to_json()


@router.get("/datasets/{name}/usage", summary="Usage of one dataset")
def dataset_usage(
    name: str, platform: PlatformDep, person: Annotated[Person, Requires("dataset.usage.counts", on="name")]
) -> dict[str, Any]:
    """Counts per domain and purpose for everyone who may know the dataset; names for its producers."""
    return usage.dataset_usage(platform, name, viewer=person).to_json()


@router.get("/datasets/{name}/preview", summary="First rows, read through the gateway")
async def preview(
    name: str,
    request: Request,
    platform: PlatformDep,
    person: Annotated[Person, Requires("dataset.read", on="name")],
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    purpose: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """As the reader may see them: for the purpose asked, else the one their grant covers, else "preview"."""
    from threshold.access.reading import decide

    d = catalog.describe(platform, name, viewer=person)
    if not purpose:
        purpose = decide(platform, person, [d.name], None)[0].purpose or "preview"
    cancel = Cancel()
    result = await running.in_pool(
        request,
        platform,
        lambda: run_query(
            platform,
            f"SELECT * FROM {d.name} LIMIT {int(limit)}",
            user=person,
            purpose=purpose,
            interface="api",
            max_rows=limit,
            cancel=cancel,
            kind="browse",
        ),
        cancel,
    )
    return {"columns": result.table.column_names, "rows": rows(result.table)}


@router.post(
    "/query",
    summary="Run a read-only SQL query through the gateway (the result is streamed)",
    response_model=None,
    responses={429: {"description": "Too many queries running; try again after `Retry-After` seconds"}},
)
async def query(
    body: QueryIn,
    request: Request,
    platform: PlatformDep,
    _over_limit: Annotated[None, Depends(running.refuse_known)],  # before SignedIn: a flood's 429s cost no work
    person: SignedIn,
) -> Response:
    """Within the caller's allowance (time, rows, bytes); stopped when the client goes away."""
    cancel = Cancel()

    try:
        stream = await running.admitted(
            request,
            platform,
            lambda: open_query(
                platform,
                body.sql,
                user=person,
                purpose=body.purpose,
                interface="api",
                max_rows=body.max_rows,
                timeout=body.timeout,
                cancel=cancel,
                start=False,
                engine=body.engine,
            ),
            cancel,
        )
    except Busy:
        running.remember_refused(request, platform, person, "api", "consumption")
        raise
    started = await running.in_pool(request, platform, lambda: running.start(stream.begin()), cancel)
    return running.respond(request, platform, started, body.format)


@router.post(
    "/shares",
    summary="Share an uploaded file, or a previewed one (preview_id), into the lake",
    responses={413: {"description": "The file is over `limits.upload_bytes`, or a spreadsheet bomb"}},
)
@accepts_upload
async def share(
    platform: PlatformDep,
    person: Annotated[Person, Requires("domain.member")],
    file: Annotated[UploadFile | None, File()] = None,
    preview_id: Annotated[str | None, Form(max_length=64)] = None,
    domain: Annotated[str | None, Form(max_length=100)] = None,
    name: Annotated[str | None, Form(max_length=100)] = None,
    mode: Annotated[str | None, Form(max_length=20)] = None,
    sheet: Annotated[str | None, Form(max_length=200)] = None,
    description: Annotated[str | None, Form(max_length=10_000)] = None,
    purpose: Annotated[str | None, Form(max_length=1000)] = None,
    evolve: Annotated[bool | None, Form()] = None,
    header_row: Annotated[str | None, Form(max_length=20, description="N, N-M, or 0 for no header row")] = None,
    skip_rows: Annotated[int | None, Form(ge=0, le=1_000_000)] = None,
    range: Annotated[str | None, Form(max_length=40, description="Spreadsheets: a block like A5:H200")] = None,
    keep_totals: Annotated[bool | None, Form(description="Keep totals rows and notes below the table")] = None,
    columns: Annotated[str | None, Form(max_length=200_000, description="JSON: renames and types")] = None,
    visibility: Annotated[str | None, Form(max_length=20, description="open, on-request or restricted")] = None,
    collection: Annotated[str | None, Form(max_length=20_000, description="JSON: the collection register")] = None,
) -> dict[str, Any]:
    from threshold.api.shares import form_changes
    from threshold.sharing import preview as previews

    changes = form_changes(
        domain,
        name,
        mode,
        sheet,
        header_row,
        skip_rows,
        range,
        keep_totals,
        columns,
        description,
        purpose,
        visibility,
        evolve,
        collection,
    )
    if preview_id:
        if file is not None:
            raise InvalidInput("send either a file or a preview_id, not both")
        results = await run_in_threadpool(previews.publish, platform, person, preview_id, **changes)
    else:
        if file is None:
            raise InvalidInput("send a file to share, or the preview_id of one uploaded for a preview")
        if not domain:
            raise InvalidInput("domain: choose the domain the data belongs to")
        choices = previews.ShareChoices(domain=domain).updated(**changes)
        results = await run_in_threadpool(receive_and_share, platform, person, file, choices)
    return {"results": [asdict(r) for r in results]}


@router.get("/usage", summary="Organisation-wide usage: most used, never used")
def org_usage(platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return usage.org_usage(platform, viewer=person).to_json()


@router.get("/users/{name}/usage", summary="What one person used")
def user_usage(
    name: str, platform: PlatformDep, person: Annotated[Person, Requires("usage.person.read")]
) -> dict[str, Any]:
    """A person's own use; admins and the governance group may see anyone's."""
    return usage.person_usage(platform, name, viewer=person).to_json()


@router.get("/domains", summary="Domains with their owners")
def domains(platform: PlatformDep, person: SignedIn) -> list[dict[str, Any]]:
    return identity.list_domains(platform)
