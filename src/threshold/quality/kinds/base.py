"""What every check kind shares: the spec of a check, the outcome of a run, the kind interface, SQL literals."""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import duckdb

from threshold.errors import InvalidInput
from threshold.lake import _quote_ident, _quote_str

SAMPLE_ROWS = 10
"""Failing rows kept with a run (as the owner read them; re-masked for each viewer)."""
_NUMERIC = re.compile(
    r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|REAL|DOUBLE|DECIMAL.*)$"
)


@dataclass(frozen=True)
class CheckSpec:
    """A check before it is stored: what `checks.add` takes and `checks_from_odcs` returns."""

    kind: str
    options: dict[str, Any] = field(default_factory=dict)
    blocking: bool = False
    name: str = ""
    schedule: str | None = "daily"
    source: str = "manual"
    contract_ref: str | None = None
    object_name: str | None = None
    """The contract's schema object it is about (checks from a contract with several objects)."""


@dataclass
class Outcome:
    status: str  # pass, fail, error
    failing: int | None = None
    checked: int | None = None
    metric: float | None = None
    message: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    sample: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Facts:
    """What a snapshot's Parquet footers say without reading a row (`quality/footers.py`)."""

    rows: int | None = None
    """Rows of the snapshot (every data file's row count), None when unknown."""
    bounds: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Exact (min, max) of integer columns whose every row group carries statistics."""


@dataclass
class Context:
    """What a kind may look at besides its aggregates: the snapshot's schema and time, and now."""

    types: dict[str, str]
    now: datetime
    snapshot_at: datetime | None = None
    rows: int = 0


def q(column: str) -> str:
    return _quote_ident(column)


def is_numeric(typ: str) -> bool:
    return bool(_NUMERIC.match(typ.upper()))


def literal(value: Any, typ: str) -> str:
    """`value` as a SQL literal of the column's type (validated when the check is added)."""
    upper = typ.upper()
    if is_numeric(upper):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise InvalidInput(f"{str(value)[:40]!r} is not a number") from None
        if not number.is_finite():
            raise InvalidInput(f"{value!r} is not a finite number")
        return str(number)
    if upper == "BOOLEAN":
        text = str(value).strip().lower()
        if text not in ("true", "false", "1", "0", "yes", "no"):
            raise InvalidInput(f"{str(value)[:40]!r} is not true or false")
        return "true" if text in ("true", "1", "yes") else "false"
    if upper == "VARCHAR":
        return _quote_str(str(value))
    return f"CAST({_quote_str(str(value))} AS {typ})"


def try_literals(expressions: list[str]) -> None:
    """Evaluate literal-only SQL on an empty in-memory DuckDB: a bad date, bound or pattern fails here."""
    if not expressions:
        return
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET enable_external_access = false")
        con.execute("SELECT " + ", ".join(expressions)).fetchall()
    except duckdb.Error as e:
        reason = " ".join(str(e).split("\n")[0].split()).split(": ", 1)[-1]
        raise InvalidInput(f"the check's values do not fit: {reason[:200]}") from e
    finally:
        con.close()


def _columns(options: dict[str, Any]) -> list[str]:
    raw = options.get("columns", options.get("column"))
    if raw is None:
        return []
    if isinstance(raw, str):
        return [c.strip() for c in raw.split(",") if c.strip()]
    return [str(c).strip() for c in raw if str(c).strip()]


def _need_columns(options: dict[str, Any], types: dict[str, str], *, many: bool) -> list[str]:
    cols = _columns(options)
    if not cols:
        raise InvalidInput("name the column with --column")
    if len(cols) > 1 and not many:
        raise InvalidInput("this kind of check takes one column")
    missing = [c for c in cols if c not in types]
    if missing:
        raise InvalidInput(f"no column {missing[0]!r} in the dataset; it has {', '.join(sorted(types))}")
    return cols


class Kind(ABC):
    name: ClassVar[str]
    label: ClassVar[str]
    row_rule: ClassVar[bool] = False
    """Failing rows are the rows a predicate marks (judged on the appended rows at an append)."""
    on_append: ClassVar[str] = "whole"
    """At an append: `appended` (row rules), `baseline` (judge what the append adds), `whole`."""

    @abstractmethod
    def normalise(self, options: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
        """Each kind defines it."""

    def columns(self, options: dict[str, Any]) -> list[str]:
        return _columns(options)

    def needs_rows(self, options: dict[str, Any]) -> bool:
        """Evaluated in the dataset's single scan (False: from metadata, or by its own query)."""
        return True

    @abstractmethod
    def title(self, options: dict[str, Any]) -> str:
        """Each kind defines it."""

    def aggregates(self, options: dict[str, Any], types: dict[str, str], facts: Facts | None = None) -> list[str]:
        """SQL aggregates over the dataset evaluated in its single scan (none: not a scan kind); `facts` may
        make one cheaper (a unique key within known bounds), never change what it computes."""
        return []

    def evaluate(self, options: dict[str, Any], values: list[Any], ctx: Context) -> Outcome:
        """Judge the kind from its aggregates in the dataset's single scan (kinds that run their own query,
        such as custom SQL, are never evaluated this way)."""
        raise TypeError(f"{self.name} checks are not evaluated from the shared scan")

    def sample_sql(self, relation: str, options: dict[str, Any], types: dict[str, str]) -> str | None:
        return None

    def missing_columns(self, options: dict[str, Any], types: dict[str, str]) -> list[str]:
        return [c for c in self.columns(options) if c not in types]


class RowRule(Kind):
    """A predicate marking failing rows, with a tolerance (`max_failing` rows or `max_failing_percent`)."""

    row_rule = True
    on_append = "appended"

    @abstractmethod
    def predicate(self, options: dict[str, Any], types: dict[str, str]) -> str:
        """Each kind defines it."""

    @abstractmethod
    def normalise_rule(self, options: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
        """Each kind defines it."""

    def normalise(self, options: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
        out = self.normalise_rule(options, types)
        out.update(_tolerance(options))
        return out

    def aggregates(self, options: dict[str, Any], types: dict[str, str], facts: Facts | None = None) -> list[str]:
        # count_if rather than count(*) FILTER (WHERE ...): with several in one query DuckDB runs it ~2x faster
        return [f"count_if({self.predicate(options, types)})"]

    def evaluate(self, options: dict[str, Any], values: list[Any], ctx: Context) -> Outcome:
        failing = int(values[0] or 0)
        return judge_rows(failing, ctx.rows, options, self.failing_phrase(options))

    def failing_phrase(self, options: dict[str, Any]) -> str:
        return "break the rule"

    def sample_sql(self, relation: str, options: dict[str, Any], types: dict[str, str]) -> str | None:
        return f"SELECT * FROM {relation} WHERE {self.predicate(options, types)} LIMIT {SAMPLE_ROWS}"


def _tolerance(options: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if options.get("max_failing") not in (None, ""):
        n = int(options["max_failing"])
        if n < 0:
            raise InvalidInput("--max-failing cannot be negative")
        out["max_failing"] = n
    if options.get("max_failing_percent") not in (None, ""):
        p = float(options["max_failing_percent"])
        if not 0 <= p <= 100:
            raise InvalidInput("--max-failing-percent is between 0 and 100")
        out["max_failing_percent"] = p
    return out


def allowed_failures(options: dict[str, Any], rows: int) -> int:
    """Failing rows tolerated: `max_failing`, or `max_failing_percent` of the rows judged (rounded down)."""
    if "max_failing_percent" in options:
        return math.floor(float(options["max_failing_percent"]) * rows / 100 + 1e-9)
    return int(options.get("max_failing", 0))


def judge_rows(failing: int, rows: int, options: dict[str, Any], phrase: str) -> Outcome:
    """Failing rows against the tolerance. A tolerance in percent also measures the failing percent (the
    value a contract's `unit: percent` rule states), None when no row was judged."""
    allowed = allowed_failures(options, rows)
    status = "pass" if failing <= allowed else "fail"
    tolerance = f" (at most {allowed:,} allowed)" if allowed else ""
    message = f"{failing:,} of {rows:,} rows {phrase}{tolerance}"
    percent = (100 * failing / rows if rows else None) if "max_failing_percent" in options else None
    return Outcome(status, failing=failing, checked=rows, metric=percent, message=message, detail={"allowed": allowed})


def _scalar(col: str, types: dict[str, str]) -> None:
    t = types[col].upper()
    if t.endswith("]") or t.startswith(("STRUCT", "MAP", "LIST", "UNION")):
        raise InvalidInput(f"{col} is a nested column ({types[col]}); this check needs a plain one")
