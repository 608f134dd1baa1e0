"""The query page: SQL in, a table out (first rows on the page, the whole result as CSV or Excel)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from threshold.errors import ThresholdError
from threshold.gateway.service import open_query
from threshold.gateway.service import query as gateway_query
from threshold.gateway.stream import Cancel
from threshold.interface import exports, running
from threshold.interface.errors import error_headers
from threshold.interface.permissions import SignedIn
from threshold.platform import Platform
from threshold.web import i18n
from threshold.web.render import rows
from threshold.web.session import check_csrf
from threshold.web.templating import page
from threshold.web.views.results import result_columns

router = APIRouter()
Engine = Literal["auto", "duckdb", "daft"]
PAGE_ROWS = 1000
MAX_SQL = 200_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ERROR_TITLES = {  # translated where shown (`_(data.error.title)`); the JSON twin keeps the English
    "Busy": i18n.N_("Too busy"),
    "LimitExceeded": i18n.N_("Stopped by a limit"),
    "InvalidInput": i18n.N_("The query cannot run"),
    "Denied": i18n.N_("Not allowed"),
    "NotFound": i18n.N_("Not found"),
}


def error_view(e: ThresholdError) -> dict[str, Any]:
    """An error as a page shows it: a title in words (never an exception's class name) and what to do next."""
    kind = type(e).__name__
    return {
        "message": str(e),
        "kind": kind,
        "title": ERROR_TITLES.get(kind, i18n.N_("Cannot do that")),
        "suggestions": list(e.suggestions),
        "request_access": e.request_access,
    }


@router.get("/query")
@router.get("/query.json")
def query_form(
    request: Request,
    person: SignedIn,
    sql: Annotated[str, Query(max_length=MAX_SQL)] = "",
    purpose: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The empty form, or prefilled from `?sql=` (the example-query links of dataset pages)."""
    data = {"sql": sql, "purpose": purpose, "engine": "auto", "result": None, "error": None}
    return page(request, "query.html", data, person=person, title=i18n.Text("Query"), nav="query")


@router.post("/query")
@router.post("/query.json")
async def run(
    request: Request,
    person: SignedIn,
    sql: Annotated[str, Form(max_length=MAX_SQL)] = "",
    purpose: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
    engine: Annotated[Engine, Form()] = "auto",
) -> Response:
    """Runs on the query pool (never a request thread), stopped if the browser goes away. `engine`: `daft`
    sends it to Daft (big queries, docs/deployment.md); `auto`: the configuration decides."""
    check_csrf(request, csrf)
    platform: Platform = request.app.state.platform
    data: dict[str, Any] = {"sql": sql, "purpose": purpose, "engine": engine, "result": None, "error": None}
    status, extra = 200, {}
    cancel = Cancel()
    try:
        result = await running.in_pool(
            request,
            platform,
            lambda: gateway_query(
                platform,
                sql,
                user=person,
                purpose=purpose,
                interface="web",
                max_rows=PAGE_ROWS,
                cancel=cancel,
                engine=engine,
            ),
            cancel,
        )
    except ThresholdError as e:
        data["error"] = error_view(e)
        status, extra = e.status, error_headers(e)
    else:
        data["result"] = {
            "columns": result_columns(result.table),
            "rows": rows(result.table),
            "row_count": result.table.num_rows,
            "truncated": result.truncated,
            "datasets": result.datasets,
            "duration_ms": round(result.duration_ms, 1),
            "notes": result.notes,
        }
    response = page(request, "query.html", data, person=person, status=status, title=i18n.Text("Query"), nav="query")
    response.headers.update(extra)
    return response


@router.post("/query/download")
async def download(
    request: Request,
    person: SignedIn,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
    sql: Annotated[str, Form(max_length=MAX_SQL)] = "",
    purpose: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
    engine: Annotated[Engine, Form()] = "auto",
) -> Response:
    """The whole result (up to the allowance), run again through the gateway and streamed: CSV as it is
    read, Excel once its workbook is written (to a temporary file, not memory). Both neutralised."""
    check_csrf(request, csrf)
    platform: Platform = request.app.state.platform
    cancel = Cancel()

    def begin() -> running.Started:
        stream = open_query(platform, sql, user=person, purpose=purpose, interface="web", cancel=cancel, engine=engine)
        return running.start(stream)

    started = await running.in_pool(request, platform, begin, cancel)
    datasets = started.stream.datasets
    stem = datasets[0].replace(".", "-") if len(datasets) == 1 else "threshold-result"
    if format == "csv":
        return running.respond(request, platform, started, "csv", filename=f"{stem}.csv")
    target = await running.in_pool(request, platform, lambda: _workbook(platform, started), cancel)
    headers = running.headers(started) | {
        "Content-Disposition": f'attachment; filename="{stem}.xlsx"',
        "X-Threshold-Rows": str(started.stream.rows),
        "X-Threshold-Truncated": str(started.stream.truncated).lower(),
        "X-Threshold-Neutralised": exports.NEUTRALISED,
    }
    return FileResponse(target, media_type=XLSX, headers=headers, background=BackgroundTask(_remove, target))


def _workbook(platform: Platform, started: running.Started) -> Path:
    """The result as an .xlsx in the staging folder (removed once sent); the query ends here."""
    folder = platform.settings.staging_dir
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="export-", suffix=".xlsx", dir=folder)
    os.close(fd)
    target = Path(name)
    summary = exports.ExportSummary()
    stream = started.stream

    def batches() -> Iterator[Any]:
        yield from started.head
        if started.rest is not None and not started.complete:
            yield from started.rest

    try:
        exports.write_xlsx(
            target,
            stream.schema,
            batches(),
            summary,
            lambda: exports.about_lines(summary, stream.datasets, stream.notes),
        )
    except BaseException:
        _remove(target)
        raise
    finally:
        stream.close()
    return target


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
