"""Charts of results, rendered on the server: Altair builds the Vega-Lite spec, vl-convert draws SVG
(inline in pages) and PNG (downloads, slides, PDF).

The kind is chosen from the result's types (line over time, bar for categories, scatter for two
measures, heat map for two categories and a measure) and can be switched to any kind the types allow.
Every chart has a title and axis titles; pages put the data table beside it as its accessible
alternative. The SVG is checked before it is inlined: only drawing elements and attributes pass.
"""

from __future__ import annotations

import hashlib
import json
import threading
import xml.etree.ElementTree as ET
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

from threshold.errors import InvalidInput
from threshold.insights.formatting import Column, column_kinds, jsonable

KINDS = ("auto", "bar", "line", "scatter", "heatmap", "table")
WIDTH, HEIGHT = 560, 300
MAX_POINTS = 5000
"""Rows a chart draws (the first ones); the table and the exports keep every row of the result."""
MAX_SERIES = 12
"""A category with more values than this is not used for colour."""


@dataclass
class ChartSpec:
    kind: str = "auto"
    x: str | None = None
    y: str | None = None
    color: str | None = None
    title: str = ""
    x_title: str = ""
    y_title: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> ChartSpec:
        d = d or {}
        kind = str(d.get("kind") or "auto")
        if kind not in KINDS:
            raise InvalidInput(f"a chart is one of {', '.join(KINDS)}, not {kind[:20]!r}")
        text = {k: str(d[k])[:200] if d.get(k) else None for k in ("x", "y", "color")}
        return cls(
            kind,
            text["x"],
            text["y"],
            text["color"],
            str(d.get("title") or "")[:200],
            str(d.get("x_title") or "")[:100],
            str(d.get("y_title") or "")[:100],
        )

    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()[:16]


def _roles(cols: list[Column], table: pa.Table) -> tuple[list[Column], list[Column], list[Column]]:
    time = [c for c in cols if c.kind in ("date", "datetime")]
    measures = [c for c in cols if c.numeric]
    categories = [c for c in cols if c.kind in ("text", "bool") or (c.kind == "integer" and _few(table, c.name))]
    measures = [c for c in measures if c not in categories] or measures
    return time, measures, categories


def _few(table: pa.Table, name: str) -> bool:
    """An integer column with few values is a category (a year, a shift number), not a measure."""
    lower = name.lower()
    return lower in ("year", "month", "week", "quarter", "shift") or lower.endswith(("_id", "_year", "_no"))


def possible(table: pa.Table) -> list[str]:
    """The kinds this result's types allow (the table always)."""
    time, measures, categories = _roles(column_kinds(table), table)
    out = []
    if (categories or time) and measures:
        out.append("bar")
    if time and measures:
        out.append("line")
    if len(measures) >= 2:
        out.append("scatter")
    if len(categories) + len(time) >= 2 and measures:
        out.append("heatmap")
    return [*out, "table"]


def resolve(table: pa.Table, spec: ChartSpec) -> ChartSpec:
    """The spec with its kind and fields decided: the asked kind when the types allow it, else the best."""
    cols = column_kinds(table)
    by = {c.name: c for c in cols}
    time, measures, categories = _roles(cols, table)
    allowed = possible(table)
    kind = spec.kind if spec.kind in allowed else "auto"
    if kind == "auto":
        if time and measures:
            kind = "line"
        elif len(categories) >= 2 and measures:
            kind = "heatmap"
        elif categories and measures:
            kind = "bar"
        elif len(measures) >= 2:
            kind = "scatter"
        else:
            kind = "table"
    x, y, color = (spec.x if spec.x in by else None), (spec.y if spec.y in by else None), None
    if spec.color in by:
        color = spec.color
    if kind == "line":
        x = x if x and by[x].kind in ("date", "datetime") else time[0].name
        y = y if y and by[y].numeric else measures[0].name
        color = color or _series(table, [c for c in categories if c.name not in (x, y)])
    elif kind == "bar":
        axis = categories or time
        x = x if x and x != y else axis[0].name
        y = y if y and by[y].numeric and y != x else next(m.name for m in measures if m.name != x)
        color = color or _series(table, [c for c in categories if c.name not in (x, y)])
    elif kind == "scatter":
        x = x if x and by[x].numeric else measures[0].name
        y = y if y and by[y].numeric and y != x else next(m.name for m in measures if m.name != x)
        color = color or _series(table, categories)
    elif kind == "heatmap":
        axes = [c.name for c in categories + time]
        x = x if x in axes else axes[0]
        y = y if y in axes and y != x else next(a for a in axes if a != x)
        color = color if color and by[color].numeric else next(m.name for m in measures if m.name not in (x, y))
    else:
        x = y = color = None
    return ChartSpec(kind, x, y, color, spec.title, spec.x_title or (x or ""), spec.y_title or (y or ""))


def _series(table: pa.Table, candidates: list[Column]) -> str | None:
    for c in candidates:
        if len(set(table.column(c.name).to_pylist()[:MAX_POINTS])) <= MAX_SERIES:
            return c.name
    return None


def vega_lite(table: pa.Table, spec: ChartSpec) -> dict[str, Any]:
    """The Vega-Lite document of a resolved spec (Altair), data inline."""
    import altair as alt

    if spec.kind == "table" or spec.x is None or spec.y is None:
        raise InvalidInput("this result is shown as a table: it has no chart")
    cols = {c.name: c for c in column_kinds(table)}
    names = [n for n in dict.fromkeys([spec.x, spec.y, spec.color]) if n]
    rows = table.select(names).slice(0, MAX_POINTS).to_pylist()
    data = alt.Data(values=[{k: jsonable(v) for k, v in r.items()} for r in rows])

    def encoding(name: str, title: str, role: str) -> Any:
        c = cols[name]
        if c.kind in ("date", "datetime"):
            return alt.X(f"{name}:T", title=title) if role == "x" else alt.Y(f"{name}:T", title=title)
        fmt = ".0~%" if c.kind == "percent" else ",.2~f"
        if c.numeric and spec.kind != "heatmap":
            axis = alt.Axis(format=fmt, labelOverlap=True)
            return (
                alt.X(f"{name}:Q", title=title, axis=axis)
                if role == "x"
                else alt.Y(f"{name}:Q", title=title, axis=axis)
            )
        return (
            alt.X(f"{name}:N", title=title, sort=None, axis=alt.Axis(labelLimit=160))
            if role == "x"
            else alt.Y(f"{name}:N", title=title, sort=None)
        )

    base = alt.Chart(data, title=spec.title or f"{spec.y} by {spec.x}").properties(width=WIDTH, height=HEIGHT)
    x = encoding(spec.x, spec.x_title or spec.x, "x")
    y = encoding(spec.y, spec.y_title or spec.y, "y")
    extra: dict[str, Any] = {}
    if spec.kind == "heatmap":
        assert spec.color is not None
        fmt = ".0~%" if cols[spec.color].kind == "percent" else ",.2~f"
        extra["color"] = alt.Color(f"{spec.color}:Q", title=spec.color, legend=alt.Legend(format=fmt))
        chart = base.mark_rect()
    elif spec.kind == "line":
        chart = base.mark_line(point=True)
    elif spec.kind == "scatter":
        chart = base.mark_circle(size=60, opacity=0.8)
    else:
        chart = base.mark_bar()
    if spec.color and spec.kind != "heatmap":
        extra["color"] = alt.Color(f"{spec.color}:N", title=spec.color)
    tooltip = [alt.Tooltip(f"{n}:{_vl_type(cols[n])}", format=_vl_format(cols[n])) for n in names]
    return dict(chart.encode(x=x, y=y, tooltip=tooltip, **extra).to_dict())


def _vl_type(c: Column) -> str:
    return "T" if c.kind in ("date", "datetime") else "Q" if c.numeric else "N"


def _vl_format(c: Column) -> Any:
    import altair as alt

    return ".1~%" if c.kind == "percent" else ",.2~f" if c.numeric else alt.Undefined


DRAWN_CHARACTERS = 8_000_000
"""SVGs kept in the process by what they draw, at most this many characters in all (the oldest go first)."""
_drawn: OrderedDict[str, str] = OrderedDict()
_drawn_lock = threading.Lock()


def svg(table: pa.Table, spec: ChartSpec) -> str:
    """The chart as a safe, accessible SVG for inlining: only drawing elements, a title, no scripts.

    Drawn once per process for the same rows and spec: results kept per reader (the same rows seen by several
    people) and boards showing one result to many would otherwise draw the same picture again (~50 ms each).
    """
    import vl_convert as vlc

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as stream:
        stream.write_table(table)
    key = hashlib.sha256(sink.getvalue().to_pybytes() + json.dumps(asdict(spec)).encode()).hexdigest()
    with _drawn_lock:
        if key in _drawn:
            _drawn.move_to_end(key)
            return _drawn[key]
    drawn = sanitise(vlc.vegalite_to_svg(vega_lite(table, spec)), spec.title or f"{spec.y} by {spec.x}")
    with _drawn_lock:
        _drawn[key] = drawn
        while sum(len(v) for v in _drawn.values()) > DRAWN_CHARACTERS and len(_drawn) > 1:
            _drawn.popitem(last=False)
    return drawn


def png(table: pa.Table, spec: ChartSpec, *, scale: float = 2.0) -> bytes:
    import vl_convert as vlc

    return bytes(vlc.vegalite_to_png(vega_lite(table, spec), scale=scale))


_SVG = "{http://www.w3.org/2000/svg}"
_ALLOWED = {
    "svg",
    "g",
    "path",
    "rect",
    "circle",
    "ellipse",
    "line",
    "polyline",
    "polygon",
    "text",
    "tspan",
    "title",
    "desc",
    "defs",
    "clipPath",
    "linearGradient",
    "radialGradient",
    "stop",
}


def sanitise(text: str, label: str) -> str:
    """Keep drawing elements and presentation attributes; drop scripts, foreign content, event handlers
    and links; give the SVG `role="img"` and a <title> for screen readers."""
    ET.register_namespace("", _SVG[1:-1])
    root = ET.fromstring(text)
    for parent in list(root.iter()):
        for child in list(parent):
            tag = child.tag.replace(_SVG, "") if isinstance(child.tag, str) else ""
            if tag not in _ALLOWED:
                parent.remove(child)
    for node in root.iter():
        for attr in list(node.attrib):
            name = attr.split("}")[-1].lower()
            if name.startswith("on") or name in ("href", "style") or "javascript:" in node.attrib[attr].lower():
                del node.attrib[attr]
    root.set("role", "img")
    root.set("aria-label", label[:200])
    title = ET.Element(f"{_SVG}title")
    title.text = label[:200]
    root.insert(0, title)
    return ET.tostring(root, encoding="unicode")
