"""Checks from a data contract (ODCS v3): what the contract promises, checked on every share and schedule.

`checks_from_odcs(contract)` reads an `OpenDataContractStandard` model, a dict or the YAML text and
returns `CheckSpec`s (each with `object_name`, the contract's schema object it is about):
- per schema object: a `schema` check (its properties' names and logical or physical types);
- per property: `required` -> not null; `unique` -> unique; primary key columns -> not null each and
  unique together; `logicalTypeOptions` minimum/maximum -> range, pattern -> regex;
- `quality` rules (on a property or an object): library metrics `nullValues` -> not null,
  `missingValues` -> custom SQL (NULL or one of the listed values), `invalidValues` -> accepted values
  (`validValues`) or regex (`pattern`), `duplicateValues` -> unique, `rowCount` -> row count; thresholds
  (`mustBe`, `mustBeLessThan`, `mustBeLessOrEqualTo`, `mustBeBetween`...; `unit: percent`) become the
  check's tolerance or bounds; `type: sql` -> a custom SQL assertion (`${object}`/`${property}` filled
  in), a value in bounds when thresholds are given, else failing rows;
- SLA property `freshness` (or `latency`) with `value` + `unit` -> freshness of `element`'s column, or of
  the last snapshot;
- `severity` error/critical/blocker -> blocking.
Rules Threshold cannot execute (`type: text`, `custom` engines) are returned by `odcs_rules` as skipped,
with the reason. `sync_contract` replaces a dataset's contract checks with a contract's.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from threshold.errors import InvalidInput
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.quality.kinds import CheckSpec

_BLOCKING_SEVERITIES = {"error", "critical", "blocker", "blocking", "high"}
_UNITS = {
    "s": "s",
    "sec": "s",
    "second": "s",
    "seconds": "s",
    "m": "m",
    "min": "m",
    "minute": "m",
    "minutes": "m",
    "h": "h",
    "hr": "h",
    "hour": "h",
    "hours": "h",
    "d": "d",
    "day": "d",
    "days": "d",
    "w": "w",
    "week": "w",
    "weeks": "w",
}


def _as_dict(contract: Any) -> dict[str, Any]:
    if isinstance(contract, str):
        import yaml

        try:
            loaded = yaml.safe_load(contract)
        except yaml.YAMLError as e:  # e.g. text that is not valid YAML characters (a NUL byte)
            raise InvalidInput(f"the contract is not valid YAML: {str(e).splitlines()[0]}") from e
        if not isinstance(loaded, dict):
            raise InvalidInput("the contract is not a YAML mapping")
        return loaded
    if hasattr(contract, "model_dump"):
        return dict(contract.model_dump(by_alias=True, exclude_none=True))
    if isinstance(contract, dict):
        return contract
    raise InvalidInput(f"cannot read a contract from a {type(contract).__name__}")


def checks_from_odcs(contract: Any) -> list[CheckSpec]:
    """The executable checks of an ODCS v3 contract (model, dict or YAML); see the module doc."""
    return odcs_rules(contract)[0]


def odcs_rules(contract: Any) -> tuple[list[CheckSpec], list[str]]:
    """(checks, skipped rules with the reason)."""
    doc = _as_dict(contract)
    ref = f"contract {doc.get('id') or doc.get('name') or ''} {doc.get('version') or ''}".strip()
    specs: list[CheckSpec] = []
    skipped: list[str] = []
    objects = doc.get("schema") or []
    for obj in objects:
        oname = str(obj.get("physicalName") or obj.get("name") or "")
        props = obj.get("properties") or []
        expected = [
            {"name": str(p.get("physicalName") or p.get("name")), "type": _type_of(p)}
            for p in props
            if p.get("physicalName") or p.get("name")
        ]
        if expected:
            specs.append(
                CheckSpec(
                    "schema",
                    {"columns": expected},
                    name=f"{oname}: schema as in the contract",
                    source="contract",
                    contract_ref=f"{ref} schema {oname}",
                    object_name=oname,
                )
            )
        keys = sorted((p for p in props if p.get("primaryKey")), key=lambda p: p.get("primaryKeyPosition") or 0)
        key_cols = [_col(p) for p in keys]
        for p in props:
            col = _col(p)
            where = f"{ref} {oname}.{col}"
            if p.get("required") or col in key_cols:
                specs.append(_spec("not_null", {"columns": [col]}, where + " required", oname))
            if p.get("unique") and not (len(key_cols) == 1 and key_cols[0] == col):
                specs.append(_spec("unique", {"columns": [col]}, where + " unique", oname))
            opts = p.get("logicalTypeOptions") or {}
            lo = opts.get("minimum", opts.get("exclusiveMinimum"))
            hi = opts.get("maximum", opts.get("exclusiveMaximum"))
            if lo is not None or hi is not None:
                specs.append(_spec("range", {"column": col, "min": lo, "max": hi}, where + " range", oname))
            if opts.get("pattern"):
                specs.append(_spec("regex", {"column": col, "pattern": opts["pattern"]}, where + " pattern", oname))
            for i, rule in enumerate(p.get("quality") or []):
                _rule(rule, specs, skipped, oname, col, f"{where} quality {rule.get('id') or rule.get('name') or i}")
        if key_cols:
            specs.append(_spec("unique", {"columns": key_cols}, f"{ref} {oname} primary key", oname))
        for i, rule in enumerate(obj.get("quality") or []):
            _rule(rule, specs, skipped, oname, None, f"{ref} {oname} quality {rule.get('id') or rule.get('name') or i}")
    only = str(objects[0].get("physicalName") or objects[0].get("name") or "") if len(objects) == 1 else None
    for sla in doc.get("slaProperties") or []:
        if str(sla.get("property", "")).lower() in ("freshness", "latency"):
            unit = _UNITS.get(str(sla.get("unit") or "d").lower())
            if unit is None or sla.get("value") in (None, ""):
                skipped.append(f"{ref} SLA {sla.get('property')}: unit {sla.get('unit')!r} is not a time unit")
                continue
            element = str(sla.get("element") or "")
            oname, _, col = element.partition(".") if "." in element else (only or element, "", "")
            options: dict[str, Any] = {"max_age": f"{sla['value']}{unit}"} | ({"column": col} if col else {})
            specs.append(
                CheckSpec(
                    "freshness",
                    options,
                    source="contract",
                    contract_ref=f"{ref} SLA freshness",
                    object_name=oname or only,
                )
            )
    return specs, skipped


def _col(p: dict[str, Any]) -> str:
    return str(p.get("physicalName") or p.get("name"))


def _type_of(p: dict[str, Any]) -> str:
    return str(p.get("physicalType") or p.get("logicalType") or "")


def _spec(kind: str, options: dict[str, Any], ref: str, oname: str, blocking: bool = False) -> CheckSpec:
    return CheckSpec(kind, options, blocking=blocking, source="contract", contract_ref=ref[:200], object_name=oname)


def _rule(
    rule: dict[str, Any], specs: list[CheckSpec], skipped: list[str], oname: str, col: str | None, ref: str
) -> None:
    kind = str(rule.get("type") or "library").lower()
    blocking = str(rule.get("severity") or "").lower() in _BLOCKING_SEVERITIES
    name = str(rule.get("name") or rule.get("description") or "")[:200]
    metric = str(rule.get("metric") or rule.get("rule") or "")
    args = rule.get("arguments") or {}
    tolerance = _tolerance(rule)
    spec: CheckSpec | None = None
    if kind == "sql" and rule.get("query"):
        sql = str(rule["query"]).replace("${property}", col or "").replace("{property}", col or "")
        bounds = _bounds(rule)
        options = {"sql": sql} | ({k: v for k, v in bounds.items() if v is not None} if bounds else tolerance)
        spec = _spec("sql", options, ref, oname, blocking)
    elif kind == "library" and metric == "rowCount":
        bounds = _bounds(rule) or {}
        options = {k: (math.ceil(v) if k == "min" else math.floor(v)) for k, v in bounds.items() if v is not None}
        spec = _spec("row_count", options, ref, oname, blocking) if options else None
    elif (
        kind == "library"
        and col is not None
        and metric in ("nullValues", "missingValues", "invalidValues", "duplicateValues")
    ):
        if metric == "nullValues":
            spec = _spec("not_null", {"columns": [col]} | tolerance, ref, oname, blocking)
        elif metric == "missingValues":
            listed = [v for v in (args.get("missingValues") or []) if v is not None]
            if listed:
                quoted = ", ".join("'" + str(v).replace("'", "''") + "'" for v in listed)
                sql = f'SELECT * FROM ${{object}} WHERE "{col}" IS NULL OR CAST("{col}" AS VARCHAR) IN ({quoted})'
                spec = _spec("sql", {"sql": sql} | tolerance, ref, oname, blocking)
            else:
                spec = _spec("not_null", {"columns": [col]} | tolerance, ref, oname, blocking)
        elif metric == "invalidValues" and args.get("validValues"):
            spec = _spec(
                "accepted_values",
                {"column": col, "values": list(args["validValues"])} | tolerance,
                ref,
                oname,
                blocking,
            )
        elif metric == "invalidValues" and args.get("pattern"):
            spec = _spec("regex", {"column": col, "pattern": args["pattern"]} | tolerance, ref, oname, blocking)
        elif metric == "duplicateValues":
            spec = _spec("unique", {"columns": [col]} | tolerance, ref, oname, blocking)
    if spec is None:
        what = f"metric {metric}" if metric else str(rule.get("description") or "")[:80]
        skipped.append(f"{ref}: a {kind} rule ({what}) cannot be run by Threshold")
        return
    specs.append(replace(spec, name=name) if name else spec)


def _bounds(rule: dict[str, Any]) -> dict[str, float | None] | None:
    """Thresholds on a measured value as inclusive bounds {min, max}; None when the rule has none."""
    lo: float | None = None
    hi: float | None = None
    if rule.get("mustBe") is not None:
        lo = hi = float(rule["mustBe"])
    if rule.get("mustBeGreaterThan") is not None:
        lo = float(rule["mustBeGreaterThan"]) + (1 if float(rule["mustBeGreaterThan"]).is_integer() else 1e-9)
    if rule.get("mustBeGreaterOrEqualTo") is not None:
        lo = float(rule["mustBeGreaterOrEqualTo"])
    if rule.get("mustBeLessThan") is not None:
        hi = float(rule["mustBeLessThan"]) - (1 if float(rule["mustBeLessThan"]).is_integer() else 1e-9)
    if rule.get("mustBeLessOrEqualTo") is not None:
        hi = float(rule["mustBeLessOrEqualTo"])
    if rule.get("mustBeBetween"):
        lo, hi = float(rule["mustBeBetween"][0]), float(rule["mustBeBetween"][1])
    if lo is None and hi is None:
        return None
    return {"min": lo, "max": hi}


def _tolerance(rule: dict[str, Any]) -> dict[str, Any]:
    """A metric counting bad rows with `mustBe 0`, `mustBeLessThan n`...: how many (or what percent) may fail."""
    bounds = _bounds(rule)
    if bounds is None or bounds.get("max") is None:
        return {}
    top = max(0.0, float(bounds["max"]))  # type: ignore[arg-type]
    if str(rule.get("unit") or "").lower() in ("percent", "%"):
        return {"max_failing_percent": top}
    return {"max_failing": math.floor(top)}


def sync_contract(
    platform: Platform, person: Person, full_name: str, contract: Any, *, object_name: str | None = None
) -> dict[str, Any]:
    """Make `full_name`'s contract checks exactly those of `contract` (its schema object named like the
    dataset, or `object_name`, or its only one). Manual checks are untouched. Returns what changed."""
    from sqlalchemy import select

    from threshold.quality.dataset_checks import add, remove
    from threshold.quality.models import Check
    from threshold.store.models import Dataset

    specs, skipped = odcs_rules(contract)
    dataset = full_name.lower().split(".", 1)[1]
    objects = {s.object_name for s in specs if s.object_name}
    wanted = object_name or (dataset if dataset in objects else (next(iter(objects)) if len(objects) == 1 else None))
    if objects and wanted not in objects:
        raise InvalidInput(f"the contract describes {', '.join(sorted(objects))}; say which one is {full_name}")
    mine = [s for s in specs if s.object_name in (wanted, None, "")]
    with platform.store.session() as s:
        old = list(
            s.scalars(
                select(Check.id)
                .join(Dataset, Dataset.id == Check.dataset_id)
                .where(Dataset.full_name == full_name.lower(), Check.source == "contract", Check.active.is_(True))
            )
        )
    removed = [remove(platform, person, cid)["id"] for cid in old]
    added, failed = [], []
    for spec in mine:
        try:
            added.append(add(platform, person, full_name, spec))
        except InvalidInput as e:
            failed.append(f"{spec.contract_ref}: {e}")
    return {
        "dataset": full_name.lower(),
        "added": [a["id"] for a in added],
        "removed": removed,
        "skipped": skipped,
        "invalid": failed,
    }


def sync_from_product(platform: Platform, person: Person, full_name: str) -> dict[str, Any]:
    """Take the checks of the newest contract the products capability holds for `full_name`."""
    from sqlalchemy import select

    from threshold.products.models import Contract
    from threshold.store.models import Dataset

    with platform.store.session() as s:
        doc = s.scalar(
            select(Contract.document)
            .join(Dataset, Dataset.id == Contract.dataset_id)
            .where(Dataset.full_name == full_name.lower())
            .order_by(Contract.created_at.desc(), Contract.id.desc())
            .limit(1)
        )
    if not doc:
        raise InvalidInput(f"{full_name} has no data contract yet; give one with --contract FILE")
    return sync_contract(platform, person, full_name, doc)
