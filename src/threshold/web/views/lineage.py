"""Lineage pages: a dataset's supply chain drawn as a server-side SVG (`/lineage/{dataset}`), the
impact of changing one of its columns, and the graph's gaps (`/lineage`); each with its `.json` twin.

The drawing is a layered left-to-right layout: one column of boxes per level (sources on the left,
what is built on the dataset on the right), boxes ordered within a level by the average position
of their neighbours (two barycenter sweeps, which removes most crossings), edges as curves. No
script is needed: boxes and column rows are links, the column selector is a plain GET form.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from threshold.errors import ThresholdError
from threshold.identity.service import Person
from threshold.interface.permissions import Requires, SignedIn
from threshold.lineage import derive as derivation
from threshold.lineage.impact import impact
from threshold.lineage.results import ChainNode, Lineage
from threshold.lineage.supply_chain import lineage, overview
from threshold.platform import Platform
from threshold.store.models import Column, Dataset
from threshold.web import i18n
from threshold.web.session import check_csrf
from threshold.web.templating import page

router = APIRouter()

BOX_W, BOX_H, ROW_H, GAP_X, GAP_Y, MARGIN = 230, 50, 17, 90, 18, 16
MAX_ROWS = 12
KIND_STYLE = {
    # kind: (fill, stroke, dash)
    "dataset": ("#ffffff", "#667085", ""),
    "root": ("#eef4ff", "#3538cd", ""),
    "source": ("#ecfdf3", "#067647", ""),
    "file": ("#f2f4f7", "#98a2b3", ""),
    "external": ("#f9f5ff", "#6941c6", "4 3"),
    "job": ("#fffaeb", "#b54708", "4 3"),
    "insight": ("#fdf2fa", "#c11574", ""),
    "deleted": ("#f2f4f7", "#d0d5dd", "2 3"),
    "hidden": ("#f2f4f7", "#d0d5dd", ""),
}
EDGE_STYLE = {"direct": ("#475467", ""), "indirect": ("#98a2b3", "5 4")}
DIRECT = ("identity", "transform", "aggregate")


@router.get("/lineage")
@router.get("/lineage.json")
def gaps_page(request: Request, person: SignedIn) -> Response:
    data = overview(request.app.state.platform, viewer=person).to_json()
    return page(request, "lineage_index.html", data, person=person, title=i18n.Text("Lineage"))


@router.get("/lineage/{name}")
def lineage_page(
    request: Request,
    person: Annotated[Person, Requires("dataset.know", on="name")],
    name: str,
    column: Annotated[str | None, Query(max_length=255)] = None,
    direction: Literal["upstream", "downstream", "both"] = "both",
    depth: Annotated[int, Query(ge=1, le=20)] = 5,
    change: Literal["drop", "rename", "retype"] = "drop",
) -> Response:
    """`/lineage/domain.name` (or `.json`): the graph; with `?column=` the column's lineage and impact."""
    if name.endswith(".json") and name.count(".") >= 2:
        name = name[: -len(".json")]
    platform: Platform = request.app.state.platform
    column = column or None
    view = lineage(platform, name, column=column, direction=direction, depth=depth, viewer=person, limit=400)
    data = view.to_json()  # with the page's extras
    data["columns_of_dataset"] = _columns(platform, view.dataset)
    data["change"] = change
    data["impact"] = impact(platform, view.dataset, column, change=change, viewer=person).to_json() if column else None
    try:
        data["derivation"] = derivation.describe_derivation(platform, view.dataset, runs=5, viewer=person).to_json()
    except ThresholdError:
        data["derivation"] = None
    data["svg"] = layout(view)
    return page(
        request,
        "lineage.html",
        data,
        person=person,
        title=i18n.Text("Lineage of %(dataset)s", {"dataset": view.dataset}),
    )


@router.post("/lineage/{name}/refresh")
def refresh(
    request: Request,
    person: Annotated[Person, Requires("derivation.run")],
    name: str,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The refresh button: run the derivation now, then show the page again."""
    check_csrf(request, csrf)
    derivation.refresh(request.app.state.platform, name, user=person)
    return RedirectResponse(f"/lineage/{name}", status_code=303)


def _columns(platform: Platform, dataset: str) -> list[str]:
    from sqlalchemy import select

    with platform.store.reader() as s:
        q = select(Column.name).join(Dataset).where(Dataset.full_name == dataset).order_by(Column.position)
        return list(s.scalars(q))


# --- layout -----------------------------------------------------------------------------------


def layout(view: Lineage) -> dict[str, Any]:
    """Boxes, rows and curves for the SVG, from a `lineage()` answer."""
    nodes = {n.id: n for n in view.nodes}
    if not nodes:
        return {"width": 0, "height": 0, "boxes": [], "edges": []}
    rows_of = _rows(view)
    levels = sorted({n.level for n in nodes.values()})
    layers = {
        lv: sorted((n for n in nodes.values() if n.level == lv), key=lambda n: (n.domain or "", n.name))
        for lv in levels
    }
    links = [(e.from_, e.to) for e in view.edges] + [(e.from_, e.to) for e in view.column_edges]
    _order(layers, levels, links)
    heights = {nid: BOX_H + ROW_H * len(rows_of.get(nid, [])) for nid in nodes}
    layer_h = {lv: sum(heights[n.id] + GAP_Y for n in layers[lv]) - GAP_Y for lv in levels}
    total_h = max(layer_h.values())
    pos: dict[int, tuple[float, float]] = {}
    for i, lv in enumerate(levels):
        x = MARGIN + i * (BOX_W + GAP_X)
        y = MARGIN + (total_h - layer_h[lv]) / 2
        for n in layers[lv]:
            pos[n.id] = (x, y)
            y += heights[n.id] + GAP_Y
    boxes = [_box(n, pos[n.id], heights[n.id], rows_of.get(n.id, []), view) for n in view.nodes]
    edges = []
    drawn = set()
    if view.column:
        for c in view.column_edges:
            if c.from_ in pos and c.to in pos:
                a = _anchor(pos[c.from_], rows_of.get(c.from_, []), c.from_column, out=True)
                b = _anchor(pos[c.to], rows_of.get(c.to, []), c.to_column, out=False)
                style = "direct" if c.kind in DIRECT else "indirect"
                edges.append(_curve(a, b, style, f"{c.kind}{' (masking)' if c.masking else ''}"))
                drawn.add((c.from_, c.to))
    for e in view.edges:
        if e.from_ in pos and e.to in pos and (e.from_, e.to) not in drawn:
            a = _anchor(pos[e.from_], [], None, out=True)
            b = _anchor(pos[e.to], [], None, out=False)
            edges.append(_curve(a, b, "direct", f"job {e.job}" if e.job else "shared from"))
    width = MARGIN * 2 + len(levels) * BOX_W + (len(levels) - 1) * GAP_X
    return {"width": width, "height": total_h + MARGIN * 2, "boxes": boxes, "edges": edges}


def _rows(view: Lineage) -> dict[int, list[str]]:
    """The columns listed inside each box: the ones the column lineage passes through."""
    rows: dict[int, list[str]] = {}
    for e in view.column_edges:
        for nid, col in ((e.from_, e.from_column), (e.to, e.to_column or "(whole dataset)")):
            if col and col not in rows.setdefault(nid, []):
                rows[nid].append(col)
    if view.column and view.root:
        rows.setdefault(view.root, [])
        if view.column not in rows[view.root]:
            rows[view.root].insert(0, view.column)
    return {nid: sorted(cols)[:MAX_ROWS] for nid, cols in rows.items()}


def _order(layers: dict[int, list[ChainNode]], levels: list[int], links: list[tuple[int, int]]) -> None:
    """Barycenter ordering: each box moves towards the average position of its neighbours."""
    neighbours: dict[int, set[int]] = {}
    for a, b in links:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    for _ in range(2):
        for sweep in (levels, list(reversed(levels))):
            index = {n.id: i for lv in levels for i, n in enumerate(layers[lv])}
            for lv in sweep:

                def key(n: ChainNode, index: dict[int, int] = index) -> tuple[float, str]:
                    near = [index[m] for m in neighbours.get(n.id, ()) if m in index]
                    return (sum(near) / len(near) if near else index[n.id], n.name)

                layers[lv].sort(key=key)
                index.update({n.id: i for i, n in enumerate(layers[lv])})


def _box(node: ChainNode, xy: tuple[float, float], height: float, rows: list[str], view: Lineage) -> dict[str, Any]:
    kind = "root" if node.level == 0 and node.id == view.root else node.kind
    if node.hidden:
        kind = "hidden"
    fill, stroke, dash = KIND_STYLE.get(kind, KIND_STYLE["dataset"])
    owners = ", ".join(node.owners[:3]) + ("…" if len(node.owners) > 3 else "")
    sub = " · ".join(p for p in (node.domain or node.namespace, owners) if p)
    flags = []
    if node.derivation:
        d = node.derivation
        flags.append(f"derived · {d.schedule or 'on demand'}{' · FAILED' if d.status == 'failed' else ''}")
    if node.stage and node.stage != "shared":
        flags.append(node.stage)
    if node.gaps:
        flags.append(f"{node.gaps} unresolved")
    x, y = xy
    return {
        "x": x,
        "y": y,
        "w": BOX_W,
        "h": height,
        "fill": fill,
        "stroke": stroke,
        "dash": dash,
        "stroke_width": 2 if kind == "root" else 1,
        "title": _clip(node.name, 31),
        "full": f"{node.name} ({node.kind})",
        "sub": _clip(sub, 38),
        "flags": _clip(" · ".join(flags), 38),
        "link": node.link,
        "kind": node.kind,
        "rows": [
            {
                "name": _clip(c, 30),
                "y": y + BOX_H + i * ROW_H + 12,
                "link": f"{node.link}?column={c}" if node.link and not c.startswith("(") else None,
                "selected": node.id == view.root and c == view.column,
            }
            for i, c in enumerate(rows)
        ],
    }


def _anchor(xy: tuple[float, float], rows: list[str], column: str | None, *, out: bool) -> tuple[float, float]:
    x, y = xy
    if column and column in rows:
        cy = y + BOX_H + rows.index(column) * ROW_H + 8
    elif column and rows and column == "(whole dataset)":
        cy = y + BOX_H / 2
    else:
        cy = y + BOX_H / 2
    return (x + BOX_W if out else x, cy)


def _curve(a: tuple[float, float], b: tuple[float, float], style: str, title: str) -> dict[str, Any]:
    (x1, y1), (x2, y2) = a, b
    if x2 > x1:
        mid = (x1 + x2) / 2
        d = f"M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
    else:  # same level (or backwards): loop around the right side
        bend = max(x1, x2 + BOX_W) + GAP_X / 2
        d = f"M{x1:.1f},{y1:.1f} C{bend:.1f},{y1:.1f} {bend:.1f},{y2:.1f} {x2 + BOX_W:.1f},{y2:.1f}"
    color, dash = EDGE_STYLE[style]
    return {"d": d, "color": color, "dash": dash, "title": title, "end": (x2, y2)}


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
