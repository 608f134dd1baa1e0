"""Evaluate a dataset's checks on one snapshot, in as few scans as possible, and record the runs.

Every check that needs rows (row rules, unique, row count, freshness of a column) becomes one or two
aggregates of ONE query over the dataset: ten checks cost one scan, not ten. At an append's gate the
row rules get a second, small query over the appended files only. Custom SQL assertions run their own
query each. Failing rows are sampled only for checks that failed (one small query each).
If the combined query fails (a column a check names was dropped, a value does not cast), each check is
evaluated alone so that only the broken ones end as `error`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from threshold.errors import ThresholdError
from threshold.platform import Platform
from threshold.quality.kinds import KINDS, SAMPLE_ROWS, Context, CustomSql, Outcome
from threshold.quality.kinds.base import Facts, judge_rows
from threshold.quality.models import Check, CheckRun
from threshold.quality.reading import Reader, Target
from threshold.quality.samples import as_text, for_viewer
from threshold.store.db import now_of


@dataclass(frozen=True)
class CheckInfo:
    """A check as a run needs it (detached from the session)."""

    id: int
    dataset_id: int
    name: str
    kind: str
    options: dict[str, Any]
    blocking: bool
    created_by_id: int | None = None

    @classmethod
    def of(cls, c: Check) -> CheckInfo:
        return cls(c.id, c.dataset_id, c.name, c.kind, dict(c.options), c.blocking, c.created_by_id)

    @property
    def columns(self) -> list[str]:
        return KINDS[self.kind].columns(self.options)


@dataclass
class Result:
    check: CheckInfo
    outcome: Outcome
    scope: str
    duration_ms: float = 0.0
    run_id: int | None = None
    previous_status: str | None = None
    """The check's status before this run (a check that starts erroring is worth a word to its owners)."""


def scope_of(check: CheckInfo, target: Target) -> str:
    return "appended" if target.appended and KINDS[check.kind].row_rule else "whole"


def evaluate(reader: Reader, checks: list[CheckInfo], *, now: datetime | None = None) -> list[Result]:
    """Run `checks` on what `reader` reads; never raises for a check that cannot run (status `error`)."""
    target = reader.target
    now = now or datetime.now(UTC)
    results: dict[int, Result] = {}
    scans: dict[str, list[CheckInfo]] = {"whole": [], "appended": []}
    for c in checks:
        kind = KINDS[c.kind]
        missing = kind.missing_columns(c.options, target.types)
        if missing:
            results[c.id] = Result(
                c,
                Outcome("error", message=f"{missing[0]} is not a column of the dataset any more"),
                scope_of(c, target),
            )
        elif isinstance(kind, CustomSql):
            results[c.id] = _custom_sql(reader, c)
        elif kind.needs_rows(c.options):
            scans[scope_of(c, target)].append(c)
        else:  # metadata only: schema, freshness of the last snapshot
            ctx = Context(target.types, now, target.snapshot_at)
            results[c.id] = Result(c, _safe(lambda c=c, ctx=ctx: KINDS[c.kind].evaluate(c.options, [], ctx)), "whole")
    facts = reader.facts() if any(scans.values()) else None
    for scope, group in scans.items():
        if not group:
            continue
        if scope == "whole" and facts is not None and facts.rows is not None and all(_counts_rows(c) for c in group):
            # only row counts: the footers say it, no scan needed
            for c in group:
                ctx = Context(target.types, now, target.snapshot_at, rows=facts.rows)
                outcome = _safe(lambda c=c, ctx=ctx: KINDS[c.kind].evaluate(c.options, [], ctx))
                outcome.detail.setdefault("scope", "whole dataset")
                results[c.id] = Result(c, outcome, scope)
            continue
        for r in _scan(reader, group, scope, now, facts):
            results[r.check.id] = r
    for r in results.values():
        if r.outcome.status == "fail" and not r.outcome.sample:
            _sample(reader, r)
    return [results[c.id] for c in checks]


def _counts_rows(c: CheckInfo) -> bool:
    return c.kind == "row_count"


def _scan(reader: Reader, checks: list[CheckInfo], scope: str, now: datetime, facts: Facts | None) -> list[Result]:
    """All `checks` in one aggregate query; on failure, once more without the footers' facts (a value
    outside the bounds they stated), then one query each to isolate the broken ones."""
    started = time.perf_counter()
    try:
        rows, per_check = _aggregate(reader, checks, scope, facts)
    except ThresholdError as e:
        if facts is not None and facts.bounds:
            return _scan(reader, checks, scope, now, None)
        if len(checks) > 1:
            return [r for c in checks for r in _scan(reader, [c], scope, now, None)]
        return [Result(checks[0], Outcome("error", message=str(e)), scope)]
    elapsed = (time.perf_counter() - started) * 1000 / len(checks)
    out = []
    for c in checks:
        ctx = Context(reader.target.types, now, reader.target.snapshot_at, rows=rows)
        outcome = _safe(lambda c=c, ctx=ctx: KINDS[c.kind].evaluate(c.options, per_check[c.id], ctx))
        outcome.detail.setdefault("scope", "appended rows" if scope == "appended" else "whole dataset")
        out.append(Result(c, outcome, scope, elapsed))
    return out


def aggregate_sql(
    full_name: str, checks: list[CheckInfo], types: dict[str, str], facts: Facts | None = None
) -> tuple[str, dict[int, list[str]]]:
    """The single query that evaluates `checks` (row count first), and each check's result columns."""
    exprs = ["count(*) AS n"]
    slots: dict[int, list[str]] = {}
    for i, c in enumerate(checks):
        slots[c.id] = []
        for expr in KINDS[c.kind].aggregates(c.options, types, facts):
            alias = f"c{i}_{len(slots[c.id])}"
            slots[c.id].append(alias)
            exprs.append(f"{expr} AS {alias}")
    return f"SELECT {', '.join(exprs)} FROM {full_name}", slots


def _aggregate(
    reader: Reader, checks: list[CheckInfo], scope: str, facts: Facts | None
) -> tuple[int, dict[int, list[Any]]]:
    sql, slots = aggregate_sql(reader.target.full_name, checks, reader.target.types, facts)
    row = reader.run(sql, scope=scope, max_rows=1).to_pylist()[0]
    return int(row["n"]), {cid: [row[a] for a in aliases] for cid, aliases in slots.items()}


def _custom_sql(reader: Reader, c: CheckInfo) -> Result:
    started = time.perf_counter()
    sql = c.options["sql"]
    try:
        if CustomSql.value_mode(c.options):
            table = reader.run(sql, max_rows=2)
            outcome = _judge_value(table, c.options)
        else:
            wrapped = f"SELECT *, count(*) OVER () AS __failing_total FROM ({sql}) AS failing_rows LIMIT {SAMPLE_ROWS}"
            table = reader.run(wrapped, max_rows=SAMPLE_ROWS)
            failing = int(table.column("__failing_total")[0].as_py()) if table.num_rows else 0
            outcome = judge_rows(failing, failing, c.options, "returned by the query")
            outcome.checked, outcome.metric = None, None
            outcome.message = f"the query returned {failing:,} failing row{'s' if failing != 1 else ''}" + (
                f" (at most {outcome.detail['allowed']:,} allowed)" if outcome.detail.get("allowed") else ""
            )
            if failing:
                outcome.sample = sample_of(table.drop_columns(["__failing_total"]), reader.target.types)
    except ThresholdError as e:
        outcome = Outcome("error", message=str(e))
    outcome.detail.setdefault("scope", "whole dataset")
    return Result(c, outcome, "whole", (time.perf_counter() - started) * 1000)


def _judge_value(table: pa.Table, options: dict[str, Any]) -> Outcome:
    if table.num_rows != 1 or table.num_columns < 1:
        return Outcome("error", message=f"the assertion must return one value; it returned {table.num_rows} rows")
    value = table.column(0)[0].as_py()
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return Outcome("error", message=f"the assertion must return a number; it returned {type(value).__name__}")
    v, lo, hi = float(value), options.get("min"), options.get("max")
    ok = (lo is None or v >= lo) and (hi is None or v <= hi)
    parts = ([f"≥ {lo:g}"] if lo is not None else []) + ([f"≤ {hi:g}"] if hi is not None else [])
    bounds = f"; expected {' and '.join(parts)}" if parts else ""
    return Outcome("pass" if ok else "fail", metric=v, message=f"the query returned {v:g}{bounds}")


def _sample(reader: Reader, r: Result) -> None:
    kind = KINDS[r.check.kind]
    sql = kind.sample_sql(reader.target.full_name, r.check.options, reader.target.types)
    if sql is None:
        return
    try:
        r.outcome.sample = sample_of(reader.run(sql, scope=r.scope, max_rows=SAMPLE_ROWS), reader.target.types)
    except ThresholdError as e:
        r.outcome.detail["sample_error"] = str(e)


def sample_of(table: pa.Table, types: dict[str, str] | None = None) -> dict[str, Any]:
    """Rows as text (None stays None): what is stored, and re-masked for each viewer when shown."""
    columns = [{"name": f.name, "type": (types or {}).get(f.name) or _duck_type(f.type)} for f in table.schema]
    rows = [[as_text(v) for v in row.values()] for row in table.to_pylist()[:SAMPLE_ROWS]]
    return {"columns": columns, "rows": rows}


def _duck_type(t: pa.DataType) -> str:
    """The lake type of a result column a custom query computed (its own columns keep the dataset's)."""
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_integer(t):
        return "BIGINT"
    if pa.types.is_floating(t):
        return "DOUBLE"
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    return "VARCHAR"


def _safe(fn: Any) -> Outcome:
    try:
        outcome: Outcome = fn()
    except ThresholdError as e:
        outcome = Outcome("error", message=str(e))
    return outcome


def record(
    platform: Platform,
    target: Target,
    results: list[Result],
    *,
    trigger: str,
    user_id: int | None,
    rejected: bool = False,
    keep_last: bool = True,
    at: datetime | None = None,
) -> list[int]:
    """Store one run per result (one transaction); returns run ids. `keep_last`: also remember each check's
    status as its last (not for a gate's runs until the snapshot is published, see `keep_last_status`)."""
    at = at or platform.clock()
    _as_authors_see_them(platform, target, results)
    with platform.store.session() as s:
        return record_in(
            s, target, results, trigger=trigger, user_id=user_id, rejected=rejected, keep_last=keep_last, at=at
        )


def record_in(
    s: Session,
    target: Target,
    results: list[Result],
    *,
    trigger: str,
    user_id: int | None,
    rejected: bool = False,
    keep_last: bool = True,
    at: datetime | None = None,
) -> list[int]:
    """`record` in the caller's transaction (the runs commit with what caused them, e.g. a contract)."""
    at = at or now_of(s)
    rows = []
    for r in results:
        o = r.outcome
        row = CheckRun(
            check_id=r.check.id,
            dataset_id=target.dataset_id,
            snapshot_id=target.snapshot_id,
            trigger=trigger,
            user_id=user_id,
            at=at,
            status=o.status,
            blocking=r.check.blocking,
            rejected=rejected,
            failing=o.failing,
            checked=o.checked,
            metric=o.metric,
            message=o.message[:4000],
            sample=o.sample,
            detail=o.detail,
            duration_ms=round(r.duration_ms, 3),
        )
        s.add(row)
        rows.append(row)
    s.flush()
    for r, row in zip(results, rows, strict=True):
        r.run_id = row.id
    if keep_last and not rejected:
        _keep_last(s, results, at)
    return [row.id for row in rows]


def _as_authors_see_them(platform: Platform, target: Target, results: list[Result]) -> None:
    """A failing-row sample is kept as its check's author may see the dataset (their masks and row filters,
    the guardrail judged against where each value comes from), never more: a sample outlives the run, and
    whoever looks at it later sees it through their own decision on top (`samples.for_viewer`)."""
    from threshold.identity.service import get_person
    from threshold.store.models import User

    authors: dict[int, Any] = {}
    for r in results:
        sample, author_id = r.outcome.sample, r.check.created_by_id
        if not sample or not sample.get("rows") or author_id is None:
            continue
        if author_id not in authors:
            with platform.store.session() as s:
                name = s.scalar(select(User.name).where(User.id == author_id))
            authors[author_id] = get_person(platform, name) if name else None
        author = authors[author_id]
        if author is None:
            continue
        seen = for_viewer(platform, author, target.full_name, sample, kind=r.check.kind)
        r.outcome.sample = {"columns": seen.columns, "rows": seen.rows} if seen.rows else {}
        if seen.hidden:
            r.outcome.detail["sample_hidden"] = seen.hidden


def keep_last_status(platform: Platform, results: list[Result], at: datetime | None = None) -> None:
    with platform.store.session() as s:
        _keep_last(s, results, at or platform.clock())


def _keep_last(s: Any, results: list[Result], at: datetime) -> None:
    previous = dict(
        s.execute(select(Check.id, Check.last_status).where(Check.id.in_([r.check.id for r in results]))).all()
    )
    for r in results:
        r.previous_status = previous.get(r.check.id)
        s.execute(update(Check).where(Check.id == r.check.id).values(last_status=r.outcome.status, last_run_at=at))


def mark_rejected(platform: Platform, run_ids: list[int]) -> None:
    """The snapshot these runs judged was never published after all."""
    if run_ids:
        with platform.store.session() as s:
            s.execute(update(CheckRun).where(CheckRun.id.in_(run_ids)).values(rejected=True))
