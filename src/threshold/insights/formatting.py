"""Results for people: thousands separators, ratios as percentages, dates in the reader's locale, and
the few key numbers a slide or a page leads with.

Raw values stay in every download and export (Excel gets numbers and number formats, not text); this
is how a page, a slide or a PDF shows them. Locale names are Babel's (`en_GB`, `de_DE`, `fr`).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent

RATIO_WORDS = re.compile(
    r"(^|_)(rate|ratio|share|pct|percent|percentage|fraction|margin|yield|utili[sz]ation|efficiency|oee)(_|$)"
)
"""Name parts of columns that hold ratios (0.12 means 12%)."""


@dataclass
class Column:
    name: str
    type: str
    kind: str
    """`integer`, `number`, `percent`, `date`, `datetime`, `bool` or `text`."""

    @property
    def numeric(self) -> bool:
        return self.kind in ("integer", "number", "percent")


@dataclass
class FormattedTable:
    columns: list[Column]
    rows: list[list[str | None]]
    """Each value as text for people (None: empty)."""
    raw: list[list[Any]] = field(default_factory=list)
    """The same values, JSON-safe, for JSON twins and charts."""
    locale: str = "en_GB"


@dataclass
class KeyNumber:
    label: str
    value: str


def resolve_locale(wanted: str | None, default: str = "en_GB") -> str:
    """A locale Babel knows: the first of `wanted` (a name or an Accept-Language header) that parses."""
    for part in (wanted or "").split(","):
        tag = part.split(";")[0].strip().replace("-", "_")
        if not tag or tag == "*" or len(tag) > 20:
            continue
        try:
            return str(Locale.parse(tag))
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    return default


def column_kinds(table: pa.Table) -> list[Column]:
    out = []
    for f in table.schema:
        t = f.type
        if pa.types.is_integer(t):
            kind = "integer"
        elif pa.types.is_floating(t) or pa.types.is_decimal(t):
            kind = "percent" if _is_ratio(f.name, table.column(f.name)) else "number"
        elif pa.types.is_date(t):
            kind = "date"
        elif pa.types.is_timestamp(t):
            kind = "datetime"
        elif pa.types.is_boolean(t):
            kind = "bool"
        else:
            kind = "text"
        out.append(Column(f.name, str(t), kind))
    return out


def _is_ratio(name: str, values: pa.ChunkedArray) -> bool:
    if not RATIO_WORDS.search(name.lower()):
        return False
    import pyarrow.compute as pc

    lo, hi = pc.min_max(values.cast(pa.float64())).values()
    return lo.as_py() is None or (lo.as_py() >= -1.5 and hi.as_py() <= 1.5)


def format_table(table: pa.Table, locale: str, *, limit: int | None = None) -> FormattedTable:
    cols = column_kinds(table)
    shown = table.slice(0, limit) if limit is not None else table
    values = [shown.column(c.name).to_pylist() for c in cols]
    rows: list[list[str | None]] = []
    raw: list[list[Any]] = []
    for i in range(shown.num_rows):
        rows.append([value(c, values[j][i], locale) for j, c in enumerate(cols)])
        raw.append([jsonable(values[j][i]) for j in range(len(cols))])
    return FormattedTable(cols, rows, raw, locale)


def value(c: Column, v: Any, locale: str) -> str | None:
    """One value as people read it in `locale`."""
    if v is None:
        return None
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return "—"
    if c.kind == "integer":
        return format_decimal(v, locale=locale)
    if c.kind == "percent":
        return format_percent(v, format="#,##0.#%", locale=locale)
    if c.kind == "number":
        return format_decimal(v, format=_decimals(v), locale=locale)
    if c.kind == "date" and isinstance(v, dt.date):
        return format_date(v, format="medium", locale=locale)
    if c.kind == "datetime" and isinstance(v, dt.datetime):
        return format_datetime(v, format="medium", locale=locale)
    if c.kind == "bool":
        return "yes" if v else "no"
    if isinstance(v, (list, dict)):
        import json

        return json.dumps(jsonable(v), ensure_ascii=False)
    return str(v)


def _decimals(v: Any) -> str:
    """Two decimals for everyday numbers, more for small ones, none for large ones."""
    a = abs(float(v))
    if a >= 10_000:
        return "#,##0"
    if a >= 1 or a == 0:
        return "#,##0.##"
    return "#,##0.####"


def jsonable(v: Any) -> Any:
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, (dt.date, dt.datetime, dt.time)):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    return v


def key_numbers(table: pa.Table, x: str | None, y: str | None, locale: str, *, most: int = 4) -> list[KeyNumber]:
    """What a slide leads with: the single values of a one-row result; the highest and lowest of a
    category chart; the latest value and its change for a series over time; and the row count."""
    cols = {c.name: c for c in column_kinds(table)}
    if table.num_rows == 0:
        return [KeyNumber("Rows", "0")]
    if table.num_rows == 1:
        row = table.slice(0, 1).to_pylist()[0]
        return [KeyNumber(n, value(cols[n], v, locale) or "—") for n, v in row.items()][:most]
    out: list[KeyNumber] = []
    if x and y and x in cols and y in cols and cols[y].numeric:
        xs = table.column(x).to_pylist()
        ys = table.column(y).to_pylist()
        pairs = [(a, b) for a, b in zip(xs, ys, strict=True) if b is not None]
        if pairs and cols[x].kind in ("date", "datetime"):
            pairs.sort(key=lambda p: (p[0] is None, p[0]))
            last_x, last_y = pairs[-1]
            out.append(KeyNumber(f"{y} at {value(cols[x], last_x, locale)}", value(cols[y], last_y, locale) or "—"))
            if len(pairs) > 1 and pairs[-2][1]:
                prev = float(pairs[-2][1])
                change = (float(last_y) - prev) / abs(prev) if prev else 0.0
                out.append(KeyNumber("change on the one before", format_percent(change, "+#,##0.#%", locale=locale)))
        elif pairs:
            hi = max(pairs, key=lambda p: p[1])
            lo = min(pairs, key=lambda p: p[1])
            out.append(KeyNumber(f"highest {y}", f"{_label(cols[x], hi[0], locale)}: {value(cols[y], hi[1], locale)}"))
            out.append(KeyNumber(f"lowest {y}", f"{_label(cols[x], lo[0], locale)}: {value(cols[y], lo[1], locale)}"))
        if cols[y].kind != "percent" and pairs:
            total = sum(float(b) for _a, b in pairs)
            out.append(KeyNumber(f"total {y}", value(cols[y], total, locale) or "—"))
    out.append(KeyNumber("rows", format_decimal(table.num_rows, locale=locale)))
    return out[:most]


def _label(c: Column, v: Any, locale: str) -> str:
    return value(c, v, locale) or "—"
