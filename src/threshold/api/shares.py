"""REST API of share previews under /api/v1/shares/preview: upload, see what it becomes, correct, publish.

POST /shares/preview (a file and choices) keeps the upload and answers with a `preview_id` and the
proposal; GET or POST /shares/preview/{id} shows it again (POST: with changed choices);
POST /shares with `preview_id` publishes it (api/routes.py); DELETE /shares/preview/{id} cancels.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from threshold.errors import InvalidInput
from threshold.identity.service import Person
from threshold.interface.bodies import accepts_upload
from threshold.interface.deps import PlatformDep
from threshold.interface.permissions import Requires
from threshold.interface.previews import preview_json
from threshold.sharing import preview as previews

router = APIRouter(prefix="/api/v1", tags=["sharing"])
Sharer = Annotated[Person, Requires("domain.member")]
"""A person sharing into a domain: the service decides `domain.member` on the domain chosen. A preview belongs
to the person who uploaded it: the service answers "no preview" to anyone else."""

MAX_COLUMNS_JSON = 200_000


class ChoicesIn(BaseModel):
    """Changes to a preview's choices; a field left out keeps its value, "" clears a text one."""

    domain: str | None = Field(default=None, max_length=100)
    name: str | None = Field(default=None, max_length=100)
    mode: str | None = Field(default=None, max_length=20)
    sheet: str | None = Field(default=None, max_length=200)
    header_row: str | None = Field(default=None, max_length=20, description="N, N-M, or 0 for no header row")
    skip_rows: int | None = Field(default=None, ge=0, le=1_000_000)
    range: str | None = Field(default=None, max_length=40, description="A block of cells, e.g. A5:H200")
    keep_totals: bool | None = None
    columns: dict[str, dict[str, str | None]] | None = Field(
        default=None, description='{"column_2": {"name": "energy_eur", "type": "number"}}'
    )
    description: str | None = Field(default=None, max_length=10_000)
    purpose: str | None = Field(default=None, max_length=1000)
    visibility: str | None = Field(default=None, max_length=20)
    evolve: bool | None = None
    collection: dict[str, str | list[str] | None] | None = Field(
        default=None, description='The collection register: {"legal_basis": "consent", "retention": "2y", ...}'
    )

    def changes(self) -> dict[str, Any]:
        out = self.model_dump(exclude_none=True)
        if "range" in out:
            out["cell_range"] = out.pop("range")
        return out


def form_changes(
    domain: str | None,
    name: str | None,
    mode: str | None,
    sheet: str | None,
    header_row: str | None,
    skip_rows: int | None,
    cell_range: str | None,
    keep_totals: bool | None,
    columns: str | None,
    description: str | None,
    purpose: str | None,
    visibility: str | None,
    evolve: bool | None,
    collection: str | None = None,
) -> dict[str, Any]:
    """Choices from multipart form fields (the same fields on POST /shares and /shares/preview)."""
    return {
        "domain": domain,
        "name": name,
        "mode": mode,
        "sheet": sheet,
        "header_row": header_row,
        "skip_rows": skip_rows,
        "cell_range": cell_range,
        "keep_totals": keep_totals,
        "columns": parse_columns_json(columns),
        "description": description,
        "purpose": purpose,
        "visibility": visibility,
        "evolve": evolve,
        "collection": parse_collection_json(collection),
    }


def parse_collection_json(text: str | None) -> dict[str, Any] | None:
    """The form field `collection`: JSON of the register's fields (checked by compliance when published)."""
    if text is None or not text.strip():
        return None
    if len(text) > 20_000:
        raise InvalidInput("the collection register fields are too long")
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise InvalidInput('collection must be JSON like {"legal_basis": "consent", "retention": "2y"}')
    return value


def parse_columns_json(text: str | None) -> dict[str, Any] | None:
    if text is None or not text.strip():
        return None
    if len(text) > MAX_COLUMNS_JSON:
        raise InvalidInput("the column choices are too long")
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise InvalidInput('columns must be JSON like {"column_2": {"name": "energy_eur", "type": "number"}}')
    return value


@router.post(
    "/shares/preview",
    summary="Upload a file and see what it would become (nothing is published)",
    responses={413: {"description": "The file is over `limits.upload_bytes`, or a spreadsheet bomb"}},
)
@accepts_upload
async def create_preview(
    platform: PlatformDep,
    person: Sharer,
    file: Annotated[UploadFile, File()],
    domain: Annotated[str | None, Form(max_length=100)] = None,
    name: Annotated[str | None, Form(max_length=100)] = None,
    mode: Annotated[str | None, Form(max_length=20)] = None,
    sheet: Annotated[str | None, Form(max_length=200)] = None,
    header_row: Annotated[str | None, Form(max_length=20)] = None,
    skip_rows: Annotated[int | None, Form(ge=0, le=1_000_000)] = None,
    range: Annotated[str | None, Form(max_length=40)] = None,
    keep_totals: Annotated[bool | None, Form()] = None,
    columns: Annotated[str | None, Form(max_length=MAX_COLUMNS_JSON)] = None,
    description: Annotated[str | None, Form(max_length=10_000)] = None,
    purpose: Annotated[str | None, Form(max_length=1000)] = None,
    visibility: Annotated[str | None, Form(max_length=20)] = None,
    evolve: Annotated[bool | None, Form()] = None,
    collection: Annotated[str | None, Form(max_length=20_000, description="JSON: the collection register")] = None,
) -> dict[str, Any]:
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
    choices = previews.ShareChoices().updated(**changes)
    result = await run_in_threadpool(previews.preview_upload, platform, person, file.filename, file.file, choices)
    return preview_json(result)


@router.get("/shares/preview/{preview_id}", summary="A preview of an upload, with the choices kept with it")
async def get_preview(preview_id: str, platform: PlatformDep, person: Sharer) -> dict[str, Any]:
    result = await run_in_threadpool(previews.preview_staged, platform, person, preview_id)
    return preview_json(result)


@router.post("/shares/preview/{preview_id}", summary="Change a preview's choices and see the result")
async def change_preview(preview_id: str, body: ChoicesIn, platform: PlatformDep, person: Sharer) -> dict[str, Any]:
    result = await run_in_threadpool(previews.preview_staged, platform, person, preview_id, **body.changes())
    return preview_json(result)


@router.delete("/shares/preview/{preview_id}", summary="Cancel a preview: its upload is removed")
def cancel_preview(preview_id: str, platform: PlatformDep, person: Sharer) -> dict[str, Any]:
    previews.cancel(platform, person, preview_id)
    return {"cancelled": preview_id}
