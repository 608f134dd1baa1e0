"""Checking a contract against the real table, through the gateway, as the product's owner.

- schema: every dataset and column of the contract exists with a compatible type; `required`
  columns have no empty value, `unique` ones no repeated value;
- quality: ODCS library metrics (`rowCount`, `nullValues`, `missingValues`, `invalidValues`,
  `duplicateValues`, in rows or percent) and `sql` rules (a query returning one number, which may
  only read the contract's own datasets) compared with `mustBe`, `mustBeLessThan`, ...;
  `text` and `custom` rules are listed, not run;
- SLA: the freshness SLO against the time of the newest share.
Check queries declare the purpose `contract check`, which the consumption views do not count.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from open_data_contract_standard.model import DataQuality, OpenDataContractStandard
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from threshold.errors import ThresholdError
from threshold.platform import Platform
from threshold.products.contract_document import datasets_of, freshness_hours, logical_type
from threshold.store.models import Dataset, Share, User

PURPOSE = "contract check"
_OPS = (
    "mustBe",
    "mustNotBe",
    "mustBeGreaterThan",
    "mustBeGreaterOrEqualTo",
    "mustBeLessThan",
    "mustBeLessOrEqualTo",
    "mustBeBetween",
    "mustNotBeBetween",
)


def run(platform: Platform, contract: OpenDataContractStandard, *, as_user: int) -> list[dict[str, Any]]:
    """Every check of the contract, each {kind, object, property, rule, status, expected, actual, message}."""
    from threshold.identity.service import get_person

    with platform.store.session() as s:
        name = s.scalar(select(User.name).where(User.id == as_user))
    person = get_person(platform, name or "admin")
    names = datasets_of(contract)
    with platform.store.session() as s:
        rows = {
            d.full_name: d
            for d in s.scalars(
                select(Dataset).where(Dataset.full_name.in_(names)).options(selectinload(Dataset.columns))
            )
        }
        last_share = dict(
            s.execute(
                select(Dataset.full_name, func.max(Share.at))
                .join(Share, Share.dataset_id == Dataset.id)
                .where(Dataset.full_name.in_(names))
                .group_by(Dataset.full_name)
            ).all()
        )
    runner = _Runner(platform, person, names)
    results: list[dict[str, Any]] = []
    for obj, name in zip(contract.schema_ or [], names, strict=False):
        d = rows.get(name)
        if d is None or d.snapshot_id is None:
            results.append(
                _r("schema", name, None, "exists", "failed", "the dataset", "missing", f"{name} is not in the lake")
            )
            continue
        columns = {c.name: c for c in d.columns}
        for prop in obj.properties or []:
            results.extend(_schema_checks(runner, name, prop, columns))
            for rule in prop.quality or []:
                if prop.name in columns:
                    results.append(_quality(runner, name, prop.name, rule))
        for rule in obj.quality or []:
            results.append(_quality(runner, name, None, rule))
    hours = freshness_hours(contract)
    if hours is not None:
        results.extend(_freshness(names, last_share, hours))
    return results


def status_of(results: list[dict[str, Any]]) -> str:
    if any(r["status"] in ("failed", "error") for r in results):
        return "failed"
    return "passed" if results else "unchecked"


def _r(
    kind: str, obj: str, prop: str | None, rule: str, status: str, expected: Any, actual: Any, message: str
) -> dict[str, Any]:
    return {
        "kind": kind,
        "object": obj,
        "property": prop,
        "rule": rule,
        "status": status,
        "expected": expected,
        "actual": actual,
        "message": message,
    }


class _Runner:
    """Runs one-number queries through the gateway as the checking person (purpose `contract check`)."""

    def __init__(self, platform: Platform, person: Any, names: list[str]) -> None:
        self.platform, self.person, self.names = platform, person, names

    def number(self, sql: str) -> float | None:
        from threshold.gateway.service import query

        result = query(
            self.platform, sql, user=self.person, purpose=PURPOSE, interface="job", max_rows=1, kind="platform"
        )
        if result.table.num_rows == 0 or result.table.num_columns == 0:
            return None
        value = result.table.column(0)[0].as_py()
        return None if value is None else float(value)

    def allowed(self, sql: str) -> str | None:
        """Why an `sql` rule may not run (it reads datasets outside the contract), or None."""
        from threshold.sql.check import check

        try:
            read = check(sql).datasets
        except ThresholdError as e:
            return str(e)
        outside = sorted(set(read) - set(self.names))
        return f"a contract's sql rule may only read its own datasets, not {', '.join(outside)}" if outside else None


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(v: Any) -> str:
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


def _schema_checks(runner: _Runner, obj: str, prop: Any, columns: dict[str, Any]) -> list[dict[str, Any]]:
    col = columns.get(prop.name)
    if col is None:
        return [
            _r(
                "schema",
                obj,
                prop.name,
                "exists",
                "failed",
                "a column",
                "missing",
                f"{obj}.{prop.name} is in the contract but not in the table (restore it, or publish a new "
                "major version without it)",
            )
        ]
    out = []
    want_logical = prop.logicalType
    have_logical = logical_type(col.type)
    if want_logical and want_logical != have_logical:
        out.append(
            _r(
                "schema",
                obj,
                prop.name,
                "type",
                "failed",
                want_logical,
                have_logical,
                f"{obj}.{prop.name} is {col.type} ({have_logical}), the contract says {want_logical}",
            )
        )
    elif (
        prop.physicalType
        and prop.physicalType.replace(" ", "").upper() != col.type.replace(" ", "").upper()
        and (not want_logical and logical_type(prop.physicalType) != have_logical)
    ):
        out.append(
            _r(
                "schema",
                obj,
                prop.name,
                "type",
                "failed",
                prop.physicalType,
                col.type,
                f"{obj}.{prop.name} is {col.type}, the contract says {prop.physicalType}",
            )
        )
    else:
        out.append(
            _r(
                "schema",
                obj,
                prop.name,
                "type",
                "passed",
                want_logical or prop.physicalType,
                col.type,
                f"{obj}.{prop.name} is {col.type}",
            )
        )
    col_sql, table = _q(prop.name), obj
    if prop.required:
        out.append(
            _measure(
                runner,
                "quality",
                obj,
                prop.name,
                "required",
                f"SELECT count(*) FROM {table} WHERE {col_sql} IS NULL",
                {"mustBe": 0},
                f"{obj}.{prop.name} has no empty value",
            )
        )
    if prop.unique:
        out.append(
            _measure(
                runner,
                "quality",
                obj,
                prop.name,
                "unique",
                f"SELECT count({col_sql}) - count(DISTINCT {col_sql}) FROM {table}",
                {"mustBe": 0},
                f"{obj}.{prop.name} has no repeated value",
            )
        )
    return out


def _quality(runner: _Runner, obj: str, prop: str | None, rule: DataQuality) -> dict[str, Any]:
    kind = (rule.type or ("library" if (rule.metric or rule.rule) else "text")).lower()
    label = rule.name or rule.description or rule.metric or rule.rule or kind
    if kind in ("text", "custom"):
        return _r(
            "quality",
            obj,
            prop,
            label,
            "skipped",
            None,
            None,
            f"{kind} rule, for people to follow: {rule.description or rule.name or ''}".strip(),
        )
    ops = {k: getattr(rule, k) for k in _OPS if getattr(rule, k) is not None}
    if kind == "sql":
        sql = (rule.query or "").replace("${object}", obj).replace("{object}", obj).replace("${table}", obj)
        sql = sql.replace("${property}", _q(prop or "")).replace("${column}", _q(prop or ""))
        why_not = runner.allowed(sql)
        if why_not:
            return _r("quality", obj, prop, label, "error", ops, None, why_not)
        return _measure(runner, "quality", obj, prop, label, sql, ops, rule.description or label)
    metric = rule.metric or rule.rule or ""
    expr = _metric_expr(prop, metric, rule.arguments or {})
    if expr is None:
        return _r("quality", obj, prop, label, "skipped", ops, None, f"metric {metric!r} is not one Threshold runs")
    percent = (rule.unit or "").lower() in ("percent", "%") and metric != "rowCount"
    sql = f"SELECT 100.0 * ({expr}) / nullif(count(*), 0) FROM {obj}" if percent else f"SELECT {expr} FROM {obj}"
    default = {} if metric == "rowCount" else {"mustBe": 0}
    return _measure(runner, "quality", obj, prop, label, sql, ops or default, rule.description or label)


def _metric_expr(prop: str | None, metric: str, args: dict[str, Any]) -> str | None:
    """The aggregate that measures a library metric over the dataset (a count of rows)."""
    col = _q(prop) if prop else None
    if metric == "rowCount":
        return "count(*)"
    if metric == "duplicateValues":
        cols = [_q(c) for c in args.get("properties") or []] or ([col] if col else [])
        if not cols:
            return None
        key = cols[0] if len(cols) == 1 else f"({', '.join(cols)})"
        return f"count(*) - count(DISTINCT {key})"
    if col is None:
        return None
    if metric == "nullValues":
        return f"count(*) FILTER (WHERE {col} IS NULL)"
    if metric == "missingValues":
        missing = [v for v in args.get("missingValues") or [] if v is not None]
        extra = f" OR {col} IN ({', '.join(_lit(v) for v in missing)})" if missing else ""
        return f"count(*) FILTER (WHERE {col} IS NULL{extra})"
    if metric == "invalidValues":
        if args.get("validValues"):
            valid = ", ".join(_lit(v) for v in args["validValues"])
            return f"count(*) FILTER (WHERE {col} IS NOT NULL AND {col} NOT IN ({valid}))"
        if args.get("pattern"):
            pattern = _lit(str(args["pattern"]))
            matches = f"regexp_full_match(CAST({col} AS VARCHAR), {pattern})"
            return f"count(*) FILTER (WHERE {col} IS NOT NULL AND NOT {matches})"
    return None


def _measure(
    runner: _Runner, kind: str, obj: str, prop: str | None, rule: str, sql: str, ops: dict[str, Any], what: str
) -> dict[str, Any]:
    try:
        value = runner.number(sql)
    except ThresholdError as e:
        return _r(kind, obj, prop, rule, "error", ops, None, f"{what}: could not run ({e})")
    except Exception as e:  # the engine failed: a check that cannot run is reported, not fatal
        first = str(e).splitlines()[0][:200] if str(e) else ""
        return _r(kind, obj, prop, rule, "error", ops, None, f"{what}: could not run ({type(e).__name__}: {first})")
    ok = _compare(value, ops)
    shown = None if value is None else (int(value) if float(value).is_integer() else round(value, 4))
    expected = ", ".join(f"{k} {v}" for k, v in ops.items()) or "a value"
    where = f"{obj}.{prop}" if prop else obj
    return _r(
        kind,
        obj,
        prop,
        rule,
        "passed" if ok else "failed",
        ops,
        shown,
        f"{where}: {what} — measured {shown}, expected {expected}",
    )


def _compare(value: float | None, ops: dict[str, Any]) -> bool:
    if value is None:
        return False
    for op, target in ops.items():
        if op == "mustBe" and not value == float(target):
            return False
        if op == "mustNotBe" and value == float(target):
            return False
        if op == "mustBeGreaterThan" and not value > float(target):
            return False
        if op == "mustBeGreaterOrEqualTo" and not value >= float(target):
            return False
        if op == "mustBeLessThan" and not value < float(target):
            return False
        if op == "mustBeLessOrEqualTo" and not value <= float(target):
            return False
        if op == "mustBeBetween" and not float(target[0]) <= value <= float(target[1]):
            return False
        if op == "mustNotBeBetween" and float(target[0]) <= value <= float(target[1]):
            return False
    return True


def _freshness(names: list[str], last_share: dict[str, Any], hours: int) -> list[dict[str, Any]]:
    out = []
    now = datetime.now(UTC)
    for name in names:
        at = last_share.get(name)
        if at is None:
            out.append(_r("sla", name, None, "freshness", "failed", f"<= {hours} h", None, f"{name} has no data yet"))
            continue
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        age = round((now - at).total_seconds() / 3600, 1)
        status = "passed" if age <= hours else "failed"
        out.append(
            _r(
                "sla",
                name,
                None,
                "freshness",
                status,
                f"<= {hours} h",
                age,
                f"{name} was last updated {age} h ago (SLO {hours} h)",
            )
        )
    return out
