"""Insight and board pages: the list (search), an insight (result as the reader, chart, parameters,
narrative, runs, versions, comments, exports), saving from Explore or Query, rerun, fork, schedule;
boards with their shared parameter. Every page has its `.json` twin; forms post with the CSRF token
and redirect (303). The services decide who may see or do what.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from threshold.errors import InvalidInput
from threshold.insights import boards, exports, runs, service
from threshold.insights.charts import KINDS as CHART_KINDS
from threshold.insights.explore import ExploreSpec
from threshold.interface.params import MAX_ID, Id
from threshold.interface.permissions import SignedIn
from threshold.platform import Platform
from threshold.web import i18n
from threshold.web.session import check_csrf
from threshold.web.templating import page

router = APIRouter()
Csrf = Annotated[str, Form(max_length=200)]
Short = Annotated[str, Form(max_length=200)]


def _platform(request: Request) -> Platform:
    return request.app.state.platform  # type: ignore[no-any-return]


def _strip_json(ref: str) -> tuple[str, bool]:
    return (ref[: -len(".json")], True) if ref.endswith(".json") else (ref, False)


def _values(request: Request) -> dict[str, Any] | None:
    values = {k[2:]: v for k, v in request.query_params.items() if k.startswith("p.") and len(k) > 2 and v != ""}
    return dict(list(values.items())[:20]) or None


def _locale(request: Request) -> str | None:
    return request.query_params.get("locale") or request.headers.get("accept-language")


def _text(value: Any) -> str:
    return "..".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)


def _download(out: exports.Export) -> Response:
    headers = {
        "Content-Disposition": f'attachment; filename="{out.filename}"',
        "X-Threshold-Masks": str(len(out.masks)),
    }
    return Response(out.content, media_type=out.media_type, headers=headers)


# --- insights --------------------------------------------------------------------------------------------


@router.get("/insights")
@router.get("/insights.json")
def insight_list(
    request: Request,
    person: SignedIn,
    q: Annotated[str, Query(max_length=200)] = "",
    dataset: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    found = service.listing(_platform(request), person, search=q or None, dataset=dataset or None, per_page=200)
    data = {"q": q, "dataset": dataset, "insights": found, "boards": boards.listing(_platform(request), person)}
    return page(request, "insights.html", data, person=person, title=i18n.Text("Insights"), nav="insights")


@router.post("/insights")
def insight_save(
    request: Request,
    person: SignedIn,
    title: Short,
    narrative: Annotated[str, Form(max_length=20_000)] = "",
    spec: Annotated[str, Form(max_length=200_000)] = "",
    sql: Annotated[str, Form(max_length=200_000)] = "",
    chart: Annotated[str, Form(max_length=20)] = "",
    purpose: Short = "",
    audience: Annotated[str, Form(max_length=20)] = "everyone",
    param: Annotated[list[str] | None, Form(max_length=20)] = None,
    csrf: Csrf = "",
) -> Response:
    """Save what Explore or Query showed; filters ticked "let readers choose" become parameters."""
    check_csrf(request, csrf)
    platform = _platform(request)
    explore: dict[str, Any] | None = None
    parameters: list[dict[str, Any]] = []
    if spec.strip():
        try:
            explore = ExploreSpec.from_dict(json.loads(spec)).as_dict()
        except json.JSONDecodeError as e:
            raise InvalidInput("the explored question did not come through; explore it again") from e
        if not sql.strip():  # the clicks as they are (edited SQL is saved as SQL, without them)
            parameters = _parameters_from(platform, person, explore, set(param or []))
    saved = service.save(
        platform,
        person,
        title=title,
        sql=sql or None,
        explore=explore if not sql.strip() else None,
        narrative=narrative,
        parameters=parameters,
        chart={"kind": chart} if chart else None,
        purpose=purpose,
        audience=audience,
        interface="web",
    )
    return RedirectResponse(saved.link, status_code=303)


def _parameters_from(platform: Platform, person: Any, spec: dict[str, Any], ticked: set[str]) -> list[dict[str, Any]]:
    """Each ticked equality filter becomes a parameter of the column's type, its value the default and the
    profile's values the choices."""
    from threshold.insights.exploration import picker_columns

    if not ticked:
        return []
    columns = {c.name: c for c in picker_columns(platform, person, spec["dataset"])}
    out = []
    for f in spec["filters"]:
        name = f["column"]
        if name not in ticked or f["op"] != "eq" or name not in columns:
            continue
        c = columns[name]
        kind = {"number": "number", "date": "date", "datetime": "date"}.get(c.kind, "text")
        f["param"] = name
        choices = c.values if kind == "text" else []
        out.append({"name": name, "type": kind, "label": c.label, "default": f["values"][0], "choices": choices})
    return out


@router.get("/insights/{ref}")
def insight_page(
    request: Request,
    person: SignedIn,
    ref: str,
    chart: Annotated[str, Query(max_length=20)] = "",
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> Response:
    ref, _ = _strip_json(ref)
    platform = _platform(request)
    shown = service.page(platform, person, ref, values=_values(request), interface="web", locale=_locale(request),
                         chart_kind=chart or None, version=version)  # fmt: skip
    data = asdict(shown) | {
        "versions": [asdict(v) for v in service.versions(platform, person, shown.insight.id)],
        "chart_kinds": CHART_KINDS,
        "formats": exports.INSIGHT_FORMATS,
        "values_query": urlencode(
            {f"p.{k}": _text(v) for k, v in (shown.result.values if shown.result else {}).items()}
        ),
        "boards": [asdict(b) for b in boards.listing(platform, person)],
    }
    return page(request, "insight.html", data, person=person, title=shown.insight.title, nav="insights")


@router.get("/insights/{insight_id}/export/{fmt}")
def insight_export(request: Request, person: SignedIn, insight_id: Id, fmt: str) -> Response:
    out = exports.export_insight(_platform(request), person, insight_id, fmt[:10], values=_values(request),
                                 locale=_locale(request), interface="web")  # fmt: skip
    return _download(out)


@router.get("/insights/{insight_id}/diff")
@router.get("/insights/{insight_id}/diff.json")
def insight_diff(
    request: Request,
    person: SignedIn,
    insight_id: Id,
    a: Annotated[int, Query(ge=1, le=1_000_000)],
    b: Annotated[int, Query(ge=1, le=1_000_000)],
) -> Response:
    detail = service.detail(_platform(request), person, insight_id)
    changes = service.diff(_platform(request), person, insight_id, a, b)
    data = {"insight": detail, "a": a, "b": b, "changes": changes}
    return page(
        request,
        "insight_diff.html",
        data,
        person=person,
        title=i18n.Text("%(title)s: changes", {"title": detail.title}),
        nav="insights",
    )


@router.post("/insights/{insight_id}/{action}")
def insight_action(
    request: Request,
    person: SignedIn,
    insight_id: Id,
    action: str,
    body: Annotated[str, Form(max_length=5000)] = "",
    schedule: Annotated[str, Form(max_length=100)] = "",
    board: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
    csrf: Csrf = "",
) -> Response:
    """rerun, fork, comment, subscribe, unsubscribe, schedule, archive, pin (to a board)."""
    check_csrf(request, csrf)
    platform = _platform(request)
    target = f"/insights/{insight_id}"
    if action == "rerun":
        runs.rerun(platform, person, insight_id, interface="web")
    elif action == "fork":
        target = service.fork(platform, person, insight_id).link + "?forked=1"
    elif action == "comment":
        service.comment(platform, person, insight_id, body)
        target += "#comments"
    elif action in ("subscribe", "unsubscribe"):
        service.subscribe(platform, person, insight_id, on=action == "subscribe")
    elif action == "schedule":
        service.set_schedule(platform, person, insight_id, schedule.strip() or None)
    elif action == "archive":
        service.archive(platform, person, insight_id)
        target = "/insights"
    elif action == "pin":
        if board is None:
            raise InvalidInput("choose a board to pin the insight to")
        target = boards.add(platform, person, board, insight_id).link
    else:
        raise InvalidInput(f"unknown action {action[:30]!r}")
    return RedirectResponse(target, status_code=303)


# --- boards ------------------------------------------------------------------------------------------------


@router.get("/boards")
@router.get("/boards.json")
def board_list(request: Request, person: SignedIn) -> Response:
    data = {"boards": boards.listing(_platform(request), person), "domains": sorted(person.domains)}
    return page(request, "boards.html", data, person=person, title=i18n.Text("Boards"), nav="insights")


@router.post("/boards")
def board_create(
    request: Request,
    person: SignedIn,
    title: Short,
    description: Annotated[str, Form(max_length=5000)] = "",
    parameter: Annotated[str, Form(max_length=40)] = "",
    default: Short = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    shared = {"name": parameter, "default": default or None} if parameter.strip() else None
    made = boards.create(_platform(request), person, title=title, description=description, parameter=shared)
    return RedirectResponse(made.link, status_code=303)


@router.get("/boards/{ref}")
def board_page(
    request: Request, person: SignedIn, ref: str, value: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    ref, _ = _strip_json(ref)
    shown = boards.show(_platform(request), person, ref, value=value or None, interface="web", locale=_locale(request))
    data = asdict(shown) | {"formats": exports.BOARD_FORMATS}
    return page(request, "board.html", data, person=person, title=shown.board.title, nav="insights")


@router.get("/boards/{board_id}/export/{fmt}")
def board_export(
    request: Request, person: SignedIn, board_id: Id, fmt: str, value: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    out = exports.export_board(_platform(request), person, board_id, fmt[:10], value=value or None,
                               locale=_locale(request), interface="web")  # fmt: skip
    return _download(out)


@router.post("/boards/{board_id}/{action}")
def board_action(
    request: Request,
    person: SignedIn,
    board_id: Id,
    action: str,
    insight: Annotated[int, Form(ge=1, le=MAX_ID)],
    csrf: Csrf = "",
) -> Response:
    """remove, up, down (an insight of the board)."""
    check_csrf(request, csrf)
    platform = _platform(request)
    if action == "remove":
        boards.remove(platform, person, board_id, insight)
    elif action in ("up", "down"):
        order = boards.visible_items(platform, person, board_id)
        if insight in order:
            i = order.index(insight)
            j = i - 1 if action == "up" else i + 1
            if 0 <= j < len(order):
                order[i], order[j] = order[j], order[i]
            boards.reorder(platform, person, board_id, order)
    else:
        raise InvalidInput(f"unknown action {action[:30]!r}")
    return RedirectResponse(f"/boards/{board_id}", status_code=303)
