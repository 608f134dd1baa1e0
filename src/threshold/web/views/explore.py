"""The Explore page: ask a question without writing SQL.

Beside the builder, the datasets the person may know about and their columns (the table and column
browser). The builder is one GET form, so every state of a question is a link: columns to show, a
filter per column that fits its type (categories from the profile's values, date and number ranges,
text contains), group by (dates by day…year), a summary (count, distinct, sum, average, min, max,
median), sort, limit, and a join along a known relationship. The generated SQL is shown beside the
result, editable; the result comes with its chart (switchable) and a form to save it as an insight.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.datastructures import QueryParams

from threshold.catalog import search as catalog_search
from threshold.errors import InvalidInput, ThresholdError
from threshold.insights import exploration
from threshold.insights.explore import AGGREGATES, GRAINS, ExploreSpec
from threshold.insights.formatting import resolve_locale
from threshold.interface.permissions import SignedIn
from threshold.platform import Platform
from threshold.web import i18n
from threshold.web.templating import page

router = APIRouter()
MAX_FIELDS = 50
"""Columns, groups, summaries and filters read from one request, at most (every input is bounded)."""


def spec_from(params: QueryParams, columns: list[exploration.PickerColumn]) -> ExploreSpec | None:
    """The question the form's fields describe (None until a dataset is chosen)."""
    dataset = (params.get("dataset") or "").strip().lower()
    if not dataset:
        return None
    kinds = {c.name: c.kind for c in columns}
    filters: list[dict[str, Any]] = []
    for name, kind in list(kinds.items())[:MAX_FIELDS]:
        chosen = [v for v in params.getlist(f"f.{name}")[:MAX_FIELDS] if v != ""]
        if chosen:
            filters.append({"column": name, "op": "in" if len(chosen) > 1 else "eq", "values": chosen})
        low, high = params.get(f"from.{name}", ""), params.get(f"to.{name}", "")
        if low and high:
            filters.append({"column": name, "op": "between", "values": [low, high]})
        elif low:
            filters.append({"column": name, "op": "gte", "values": [low]})
        elif high:
            filters.append({"column": name, "op": "lte", "values": [high]})
        text = params.get(f"has.{name}", "").strip()
        if text and kind == "text":
            filters.append({"column": name, "op": "contains", "values": [text]})
    grain = params.get("grain", "")
    groups = [g for g in params.getlist("group")[:MAX_FIELDS] if g]
    aggregates = []
    for a in params.getlist("agg")[:MAX_FIELDS]:
        fn, _, column = a.partition(":")
        if fn:
            aggregates.append({"fn": fn, "column": column or None})
    sort = params.get("sort", "")
    limit = params.get("limit", "") or "1000"
    if not limit.isdigit():
        raise InvalidInput(f"the limit is a whole number, not {limit[:20]!r}")
    raw: dict[str, Any] = {
        "dataset": dataset,
        "columns": [c for c in params.getlist("col")[:MAX_FIELDS] if c],
        "filters": filters,
        "group_by": groups,
        "grain": {g: grain for g in groups if grain in GRAINS and kinds.get(g) in ("date", "datetime")},
        "aggregates": aggregates,
        "sort": [{"by": sort, "desc": params.get("desc") == "1"}] if sort else [],
        "limit": int(limit),
    }
    join = params.get("join", "")
    if join:
        other, _, pairs = join.partition(":")
        on = [tuple(p.split("=", 1)) for p in pairs.split(",") if "=" in p]
        raw["join"] = {"dataset": other, "on": on, "columns": []}
    return ExploreSpec.from_dict(raw)


@router.get("/explore")
@router.get("/explore.json")
def explore(
    request: Request,
    person: SignedIn,
    dataset: Annotated[str, Query(max_length=200)] = "",
    sql: Annotated[str, Query(max_length=200_000)] = "",
    chart: Annotated[str, Query(max_length=20)] = "",
    purpose: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The builder, the browser of datasets and columns, and (once asked) the result."""
    platform: Platform = request.app.state.platform
    datasets = [d["name"] for d in catalog_search.search(platform, None, per_page=500, viewer=person).results]
    data: dict[str, Any] = {
        "datasets": datasets,
        "dataset": dataset.strip().lower(),
        "columns": [],
        "relationships": [],
        "aggregates": AGGREGATES,
        "grains": GRAINS,
        "spec": None,
        "sql": sql,
        "result": None,
        "error": None,
        "purpose": purpose,
        "query": str(request.query_params),
        "params": _form_state(request.query_params),
        "filtering": any(k.startswith(("f.", "from.", "to.", "has.")) for k in request.query_params),
    }
    if data["dataset"]:
        data["columns"] = exploration.picker_columns(platform, person, data["dataset"])
        data["relationships"] = exploration.relationships(platform, person, data["dataset"])
        try:
            spec = spec_from(request.query_params, data["columns"])
            data["spec"] = spec.as_dict() if spec else None
            asked = "run" in request.query_params or sql.strip()
            if asked:
                result = exploration.run(
                    platform,
                    person,
                    spec=None if sql.strip() else spec,
                    sql=sql or None,
                    purpose=purpose or None,
                    chart={"kind": chart} if chart else None,
                    interface="web",
                    locale=resolve_locale(request.headers.get("accept-language"), platform.settings.insights.locale),
                )
                data["result"], data["sql"] = result, result.sql
            elif spec is not None:
                data["sql"] = exploration.generate(platform, person, spec).sql
        except ThresholdError as e:
            data["error"] = str(e)
    return page(request, "explore.html", data, person=person, title=i18n.Text("Explore"), nav="explore")


def _form_state(params: QueryParams) -> dict[str, list[str]]:
    """Every field's chosen values, so the form shows what was asked."""
    out: dict[str, list[str]] = {}
    for key, value in params.multi_items():
        if len(out) >= 4 * MAX_FIELDS:
            break
        out.setdefault(key, []).append(value)
    return out
