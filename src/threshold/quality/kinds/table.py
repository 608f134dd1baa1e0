"""Kinds judged on the whole dataset in its single scan: unique keys, row count, freshness."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

from threshold.errors import InvalidInput
from threshold.jobs.schedule import human_duration, parse_duration
from threshold.quality.kinds.base import (
    SAMPLE_ROWS,
    Context,
    Facts,
    Kind,
    Outcome,
    _columns,
    _need_columns,
    _tolerance,
    judge_rows,
    q,
)

_TIME_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE")
_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")
BITMAP_KEYS = 1 << 27
"""Most possible keys a unique check counts with a bitmap (16 MB per engine thread); more: a hash table."""


class Unique(Kind):
    name = "unique"
    label = "unique"
    on_append = "baseline"

    def normalise(self, options: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
        return {"columns": _need_columns(options, types, many=True)} | _tolerance(options)

    def title(self, options: dict[str, Any]) -> str:
        cols = self.columns(options)
        return f"{cols[0]} is unique" if len(cols) == 1 else f"({', '.join(cols)}) is unique"

    def _key(self, options: dict[str, Any]) -> tuple[str, str]:
        cols = [q(c) for c in self.columns(options)]
        return (cols[0] if len(cols) == 1 else f"({', '.join(cols)})"), " AND ".join(f"{c} IS NOT NULL" for c in cols)

    def aggregates(self, options: dict[str, Any], types: dict[str, str], facts: Facts | None = None) -> list[str]:
        key, present = self._key(options)
        packed = _packed_key(self.columns(options), types, facts)
        if packed is not None:
            # Exact as the DISTINCT below, and ~10x cheaper on millions of keys: one bit per possible key in
            # a bitmap instead of a hash table entry per key (a value outside the bounds fails the query,
            # and the runner then evaluates the check the DISTINCT way)
            expr, size = packed
            return [f"count_if({present}) - coalesce(bit_count(bitstring_agg({expr}, 0, {size - 1})), 0)"]
        if len(self.columns(options)) == 1:
            return [f"count({key}) - count(DISTINCT {key})"]
        # CASE rather than FILTER on the DISTINCT: DuckDB runs it about twice as fast (a NULL key is not counted)
        return [f"count_if({present}) - count(DISTINCT CASE WHEN {present} THEN {key} END)"]

    def evaluate(self, options: dict[str, Any], values: list[Any], ctx: Context) -> Outcome:
        failing = int(values[0] or 0)
        return judge_rows(failing, ctx.rows, options, "repeat a key seen before")

    def sample_sql(self, relation: str, options: dict[str, Any], types: dict[str, str]) -> str | None:
        cols = ", ".join(q(c) for c in self.columns(options))
        _, present = self._key(options)
        return (
            f"SELECT * FROM {relation} WHERE {present} QUALIFY count(*) OVER (PARTITION BY {cols}) > 1 "
            f"ORDER BY {cols} LIMIT {SAMPLE_ROWS}"
        )


def _packed_key(columns: list[str], types: dict[str, str], facts: Facts | None) -> tuple[str, int] | None:
    """(SQL numbering every possible key from 0, how many there are) for an integer key whose columns'
    exact bounds are known and whose possible keys fit a bitmap (`BITMAP_KEYS`, at most 64 per row); else None.
    A row with a NULL in the key gets NULL (bitstring_agg skips it)."""
    if facts is None or not columns:
        return None
    widths = []
    for c in columns:
        bounds = facts.bounds.get(c)
        if bounds is None or types.get(c, "").upper() not in _INTEGER_TYPES:
            return None
        lo, hi = bounds
        if lo > hi or hi >= 2**63 or lo < -(2**63):
            return None
        widths.append(hi - lo + 1)
    size = math.prod(widths)
    if size > BITMAP_KEYS or (facts.rows is not None and size > 64 * facts.rows + 65536):
        return None
    terms, stride = [], 1
    for c, width in reversed(list(zip(columns, widths, strict=True))):
        lo = facts.bounds[c][0]
        terms.append(f"(CAST({q(c)} AS BIGINT) - ({lo})) * {stride}")
        stride *= width
    present = " AND ".join(f"{q(c)} IS NOT NULL" for c in columns)
    return f"CASE WHEN {present} THEN {' + '.join(reversed(terms))} END", size


class RowCount(Kind):
    name = "row_count"
    label = "row count"

    def normalise(self, options: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for bound in ("min", "max"):
            if options.get(bound) not in (None, ""):
                try:
                    out[bound] = int(str(options[bound]).replace("_", "").replace(",", ""))
                except ValueError:
                    raise InvalidInput(f"--{bound} of a row count is a whole number") from None
        if not out:
            raise InvalidInput("give --min, --max or both")
        if "min" in out and "max" in out and out["min"] > out["max"]:
            raise InvalidInput("--min is larger than --max")
        return out

    def title(self, options: dict[str, Any]) -> str:
        lo, hi = options.get("min"), options.get("max")
        if lo is not None and hi is not None:
            return f"between {lo:,} and {hi:,} rows"
        if lo is not None:
            return f"at least {lo:,} row{'s' if lo != 1 else ''}"
        return f"at most {hi:,} row{'s' if hi != 1 else ''}"

    def evaluate(self, options: dict[str, Any], values: list[Any], ctx: Context) -> Outcome:
        n, lo, hi = ctx.rows, options.get("min"), options.get("max")
        ok = (lo is None or n >= lo) and (hi is None or n <= hi)
        message = f"{n:,} row{'s' if n != 1 else ''}; expected {self.title(options)}"
        return Outcome("pass" if ok else "fail", checked=n, metric=float(n), message=message)


class Freshness(Kind):
    name = "freshness"
    label = "freshness"

    def normalise(self, options: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
        raw = options.get("max_age")
        if raw in (None, ""):
            raise InvalidInput("give the largest age allowed with --max-age (e.g. 24h)")
        out: dict[str, Any] = {"max_age": parse_duration(raw)}
        if _columns(options):
            (col,) = _need_columns(options, types, many=False)
            if types[col].upper() not in _TIME_TYPES:
                raise InvalidInput(f"{col} is {types[col]}; freshness needs a DATE or TIMESTAMP column")
            out["column"] = col
        return out

    def needs_rows(self, options: dict[str, Any]) -> bool:
        return bool(options.get("column"))

    def title(self, options: dict[str, Any]) -> str:
        what = f"newest {options['column']}" if options.get("column") else "last snapshot"
        return f"{what} at most {human_duration(options['max_age'])} old"

    def aggregates(self, options: dict[str, Any], types: dict[str, str], facts: Facts | None = None) -> list[str]:
        return [f"max({q(options['column'])})"] if options.get("column") else []

    def evaluate(self, options: dict[str, Any], values: list[Any], ctx: Context) -> Outcome:
        newest = _as_utc(values[0]) if options.get("column") else ctx.snapshot_at
        what = f"the newest {options['column']}" if options.get("column") else "the last snapshot"
        if newest is None:
            return Outcome("fail", message=f"{what} is missing: no rows to judge")
        age = max(0.0, (ctx.now - newest).total_seconds())
        ok = age <= float(options["max_age"])
        return Outcome(
            "pass" if ok else "fail",
            metric=age,
            checked=ctx.rows if options.get("column") else None,
            message=f"{what} is {human_duration(age)} old (at most {human_duration(options['max_age'])} allowed)",
            detail={"newest": newest.isoformat(timespec="seconds")},
        )


def _as_utc(value: Any) -> datetime | None:
    """A DATE is taken at the start of its day, a TIMESTAMP without zone as UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise InvalidInput(f"freshness needs a date or time, got {type(value).__name__}")
