"""REST API of insights and boards under /api/v1: explore without SQL, save, read as yourself, rerun,
fork, schedule, comment, version, export; boards of insights with one shared parameter.

Each route parses its input and calls one `threshold.insights` service; the services decide who may
do what (an insight on data the caller may not know of is a 404, like the dataset). Parameter values
travel as query parameters `p.<name>` (a date range as `from..to`) or as `values` in a JSON body.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from threshold.insights import boards, exploration, exports, runs, service
from threshold.insights.explore import ExploreSpec
from threshold.insights.formatting import resolve_locale
from threshold.insights.parameters import parse_parameters
from threshold.interface.deps import PlatformDep
from threshold.interface.params import MAX_ID, Id, PageNumber
from threshold.interface.permissions import SignedIn

API = "/api/v1"
"""Every route is open to anyone signed in (`platform.use`); the insight services ask the decision point per
insight and board."""

router = APIRouter(prefix=API, tags=["insights"])
Title = Annotated[str, Field(min_length=1, max_length=200)]
RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]
"""An insight's id in a body: a positive 64-bit id (the store's bound, refused here as a 422)."""
MAX_VALUES = 20


class ExploreIn(BaseModel):
    spec: dict[str, Any] | None = None
    """Columns, filters, group_by, grain, aggregates, sort, limit, join (docs/insights.md)."""
    sql: str | None = Field(default=None, max_length=200_000)
    """SQL edited from a spec (or written); wins over `spec`."""
    parameters: list[dict[str, Any]] | None = Field(default=None, max_length=MAX_VALUES)
    values: dict[str, Any] | None = None
    purpose: str | None = Field(default=None, max_length=200)
    chart: dict[str, Any] | None = None
    locale: str | None = Field(default=None, max_length=40)


class InsightIn(BaseModel):
    title: Title
    sql: str | None = Field(default=None, max_length=200_000)
    explore: dict[str, Any] | None = None
    narrative: str = Field(default="", max_length=20_000)
    parameters: list[dict[str, Any]] | None = Field(default=None, max_length=MAX_VALUES)
    chart: dict[str, Any] | None = None
    purpose: str = Field(default="", max_length=200)
    audience: str = Field(default="everyone", max_length=20)
    domain: str | None = Field(default=None, max_length=100)
    schedule: str | None = Field(default=None, max_length=100)


class InsightChange(BaseModel):
    title: str | None = Field(default=None, max_length=200)
    sql: str | None = Field(default=None, max_length=200_000)
    explore: dict[str, Any] | None = None
    narrative: str | None = Field(default=None, max_length=20_000)
    parameters: list[dict[str, Any]] | None = Field(default=None, max_length=MAX_VALUES)
    chart: dict[str, Any] | None = None
    purpose: str | None = Field(default=None, max_length=200)
    audience: str | None = Field(default=None, max_length=20)
    note: str = Field(default="", max_length=300)


class RunIn(BaseModel):
    values: dict[str, Any] | None = None


class ForkIn(BaseModel):
    title: str | None = Field(default=None, max_length=200)


class ScheduleIn(BaseModel):
    schedule: str | None = Field(default=None, max_length=100)
    """daily, weekly, 'daily at 06:30', a cron line; null or `manual`: only when asked."""


class SubscriptionIn(BaseModel):
    on: bool = True


class CommentIn(BaseModel):
    body: str = Field(min_length=1, max_length=5000)


class BoardIn(BaseModel):
    title: Title
    description: str = Field(default="", max_length=5000)
    domain: str | None = Field(default=None, max_length=100)
    topic: str = Field(default="", max_length=100)
    parameter: dict[str, Any] | None = None
    insights: list[RecordId] = Field(default_factory=list, max_length=boards.MAX_ITEMS)


class ItemIn(BaseModel):
    insight: RecordId


class OrderIn(BaseModel):
    order: list[RecordId] = Field(max_length=boards.MAX_ITEMS)


def values_of(request: Request) -> dict[str, Any] | None:
    """Parameter values from the query string (`p.plant=Lyon`, `p.period=2026-01-01..2026-03-31`)."""
    values = {k[2:]: v for k, v in request.query_params.items() if k.startswith("p.") and len(k) > 2}
    return dict(list(values.items())[:MAX_VALUES]) or None


def download(out: exports.Export) -> Response:
    headers = {
        "Content-Disposition": f'attachment; filename="{out.filename}"',
        "X-Threshold-Masks": str(len(out.masks)),
    }
    return Response(out.content, media_type=out.media_type, headers=headers)


# --- explore -------------------------------------------------------------------------------------------


@router.get("/datasets/{name}/explore", summary="What explore offers on a dataset: columns, pickers, joins")
def explore_options(name: str, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return {
        "dataset": name.strip().lower(),
        "columns": [asdict(c) for c in exploration.picker_columns(platform, person, name)],
        "relationships": [asdict(r) for r in exploration.relationships(platform, person, name)],
    }


@router.post("/explore", summary="Run an explored question (a spec or its SQL) through the gateway as you")
def explore(body: ExploreIn, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    result = exploration.run(
        platform,
        person,
        spec=ExploreSpec.from_dict(body.spec) if body.spec else None,
        sql=body.sql,
        parameters=parse_parameters(body.parameters),
        values=body.values,
        purpose=body.purpose,
        chart=body.chart,
        interface="api",
        locale=resolve_locale(body.locale, platform.settings.insights.locale),
    )
    return asdict(result)


# --- insights ------------------------------------------------------------------------------------------


@router.get("/insights", summary="Insights you may view (search, built on a dataset, by owner or domain)")
def insights(
    platform: PlatformDep,
    person: SignedIn,
    q: Annotated[str, Query(max_length=200)] = "",
    dataset: Annotated[str, Query(max_length=200)] = "",
    owner: Annotated[str, Query(max_length=100)] = "",
    domain: Annotated[str, Query(max_length=100)] = "",
    page: PageNumber = 1,
    per_page: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    found = service.listing(
        platform,
        person,
        search=q or None,
        dataset=dataset or None,
        owner=owner or None,
        domain=domain or None,
        page=page,
        per_page=per_page,
    )
    return asdict(found)


@router.post("/insights", status_code=201, summary="Save a result (explored or SQL) as an insight")
def save(body: InsightIn, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(service.save(platform, person, **body.model_dump(), interface="api"))


@router.get("/insights/{insight_id}", summary="An insight and its result as you may see it")
def insight(
    insight_id: Id,
    request: Request,
    platform: PlatformDep,
    person: SignedIn,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    chart: Annotated[str | None, Query(max_length=20)] = None,
    locale: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    shown = service.page(
        platform,
        person,
        insight_id,
        values=values_of(request),
        interface="api",
        locale=locale,
        chart_kind=chart,
        version=version,
    )
    return asdict(shown)


@router.patch("/insights/{insight_id}", summary="A new version (or a new audience or purpose)")
def update(insight_id: Id, body: InsightChange, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    note = changes.pop("note", "")
    return asdict(service.update(platform, person, insight_id, note=note, interface="api", **changes))


@router.delete("/insights/{insight_id}", summary="Archive: out of listings, search and lineage")
def archive(insight_id: Id, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(service.archive(platform, person, insight_id))


@router.post("/insights/{insight_id}/run", summary="Rerun on the newest data, as you")
def run(insight_id: Id, body: RunIn, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(runs.rerun(platform, person, insight_id, body.values, interface="api"))


@router.post("/insights/{insight_id}/fork", status_code=201, summary="Your own copy (its schedule is not copied)")
def fork(insight_id: Id, body: ForkIn, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(service.fork(platform, person, insight_id, title=body.title))


@router.put("/insights/{insight_id}/schedule", summary="Rerun on a schedule as its owner")
def schedule(insight_id: Id, body: ScheduleIn, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(service.set_schedule(platform, person, insight_id, body.schedule))


@router.put("/insights/{insight_id}/subscription", summary="Be told when the numbers change or a run fails")
def subscription(insight_id: Id, body: SubscriptionIn, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(service.subscribe(platform, person, insight_id, on=body.on))


@router.post("/insights/{insight_id}/comments", status_code=201, summary="Comment on an insight")
def comment(insight_id: Id, body: CommentIn, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(service.comment(platform, person, insight_id, body.body))


@router.get("/insights/{insight_id}/versions", summary="The insight's versions, newest first")
def versions(insight_id: Id, platform: PlatformDep, person: SignedIn) -> list[dict[str, Any]]:
    return [asdict(v) for v in service.versions(platform, person, insight_id)]


@router.get("/insights/{insight_id}/diff", summary="What changed from version a to version b")
def diff(
    insight_id: Id,
    platform: PlatformDep,
    person: SignedIn,
    a: Annotated[int, Query(ge=1, le=1_000_000)],
    b: Annotated[int, Query(ge=1, le=1_000_000)],
) -> list[dict[str, Any]]:
    return [asdict(d) for d in service.diff(platform, person, insight_id, a, b)]


@router.get("/insights/{insight_id}/export/{fmt}", summary="pptx, xlsx, pdf, png or svg, computed as you")
def export_insight(
    insight_id: Id,
    fmt: Annotated[str, Path(max_length=10)],
    request: Request,
    platform: PlatformDep,
    person: SignedIn,
    locale: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    out = exports.export_insight(
        platform, person, insight_id, fmt, values=values_of(request), locale=locale, interface="api"
    )
    return download(out)


# --- boards --------------------------------------------------------------------------------------------


@router.get("/boards", summary="Boards (each counts the insights you may view on it)")
def board_list(platform: PlatformDep, person: SignedIn) -> list[dict[str, Any]]:
    return [asdict(b) for b in boards.listing(platform, person)]


@router.post("/boards", status_code=201, summary="A board: insights in order, with one shared parameter")
def board_create(body: BoardIn, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(boards.create(platform, person, **body.model_dump()))


@router.get("/boards/{board_id}", summary="The board's insights as you see them, with the shared value")
def board(
    board_id: Id,
    platform: PlatformDep,
    person: SignedIn,
    value: Annotated[str | None, Query(max_length=200)] = None,
    locale: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    return asdict(boards.show(platform, person, board_id, value=value, interface="api", locale=locale))


@router.post("/boards/{board_id}/items", summary="Add an insight at the end")
def board_add(board_id: Id, body: ItemIn, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(boards.add(platform, person, board_id, body.insight))


@router.delete("/boards/{board_id}/items/{insight_id}", summary="Take an insight off the board")
def board_remove(board_id: Id, insight_id: Id, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(boards.remove(platform, person, board_id, insight_id))


@router.put("/boards/{board_id}/order", summary="Put the insights in this order")
def board_order(board_id: Id, body: OrderIn, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(boards.reorder(platform, person, board_id, body.order))


@router.get("/boards/{board_id}/export/{fmt}", summary="pptx, xlsx or pdf of the board, computed as you")
def export_board(
    board_id: Id,
    fmt: Annotated[str, Path(max_length=10)],
    platform: PlatformDep,
    person: SignedIn,
    value: Annotated[str | None, Query(max_length=200)] = None,
    locale: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    return download(exports.export_board(platform, person, board_id, fmt, value=value, locale=locale, interface="api"))
