"""The query page: SQL in, a table out (first rows on the page, the whole result as CSV or Excel)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from threshold.errors import ThresholdError
from threshold.gateway.service import query as gateway_query
from threshold.platform import Platform
from threshold.web.render import as_csv, as_xlsx, rows
from threshold.web.session import check_csrf, signed_in
from threshold.web.templating import page
from threshold.web.views.results import result_columns

router = APIRouter()
PAGE_ROWS = 1000
MAX_SQL = 200_000
DOWNLOADS = {
    "csv": ("text/csv; charset=utf-8", "csv", as_csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", as_xlsx),
}


@router.get("/query")
@router.get("/query.json")
def query_form(
    request: Request,
    sql: Annotated[str, Query(max_length=MAX_SQL)] = "",
    purpose: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The empty form, or prefilled from `?sql=` (the example-query links of dataset pages)."""
    person = signed_in(request)
    data = {"sql": sql, "purpose": purpose, "result": None, "error": None}
    return page(request, "query.html", data, person=person, title="Query", nav="query")


@router.post("/query")
@router.post("/query.json")
def run(
    request: Request,
    sql: Annotated[str, Form(max_length=MAX_SQL)] = "",
    purpose: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    person = signed_in(request)
    check_csrf(request, csrf)
    data: dict[str, Any] = {"sql": sql, "purpose": purpose, "result": None, "error": None}
    status = 200
    try:
        result = gateway_query(
            request.app.state.platform, sql, user=person, purpose=purpose, interface="web", max_rows=PAGE_ROWS
        )
    except ThresholdError as e:
        data["error"] = {"message": str(e), "kind": type(e).__name__}
        status = e.status
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
    return page(request, "query.html", data, person=person, status=status, title="Query", nav="query")


@router.post("/query/download")
def download(
    request: Request,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
    sql: Annotated[str, Form(max_length=MAX_SQL)] = "",
    purpose: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The whole result (up to the configured row limit), run again through the gateway."""
    person = signed_in(request)
    check_csrf(request, csrf)
    platform: Platform = request.app.state.platform
    result = gateway_query(
        platform,
        sql,
        user=person,
        purpose=purpose,
        interface="web",
        max_rows=platform.settings.query_row_limit,
    )
    media_type, extension, encode = DOWNLOADS[format]
    stem = result.datasets[0].replace(".", "-") if len(result.datasets) == 1 else "threshold-result"
    headers = {
        "Content-Disposition": f'attachment; filename="{stem}.{extension}"',
        "X-Threshold-Rows": str(result.table.num_rows),
        "X-Threshold-Truncated": str(result.truncated).lower(),
    }
    return Response(encode(result.table), media_type=media_type, headers=headers)
