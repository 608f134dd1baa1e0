"""The rules of a data contract (ODCS v3) as checks: one walk of the contract says, for every promise, which
check evaluates it, or why none can.

`plan(contract)` reads an `OpenDataContractStandard` model, a dict or the YAML text and returns a
`ContractPlan`: the `specs` (`CheckSpec`s, each with `object_name`, the contract's schema object it is
about) and the `rules`, every promise in the order the contract view lists them, each naming the spec
that evaluates it (for the schema, also the column), or why it is not run:
- per schema object: a `schema` check (its properties' names and logical, else physical, types); the view
  lists one rule per property (`exists` / `type`);
- per property: `required` -> not null; `unique` -> unique; primary key columns -> not null each and
  unique together; `logicalTypeOptions` minimum/maximum -> range, pattern -> regex;
- `quality` rules (on a property or an object): library metrics `nullValues` -> not null,
  `missingValues` -> not null with the listed values as missing, `invalidValues` -> accepted values
  (`validValues`) or regex (`pattern`), `duplicateValues` -> unique (of `arguments.properties` or the
  property), `rowCount` -> row count; thresholds (`mustBe`, `mustBeLessThan`, `mustBeLessOrEqualTo`,
  `mustBeBetween`...; `unit: percent`) become the check's tolerance or bounds; `type: sql` -> a custom
  SQL assertion measuring one value (`${object}` / `${property}` filled in) in the rule's bounds;
- SLA property `freshness` (or `latency`) with `value` + `unit` -> freshness of `element`'s column, or of
  each dataset's last snapshot;
- `severity` error/critical/blocker -> blocking.
Rules Threshold cannot execute (`type: text`, `custom` engines, other metrics) are listed as skipped, with
the reason. Evaluating a plan, keeping its checks and reading its results: `contract_runs.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from threshold.errors import InvalidInput
from threshold.jobs.schedule import parse_duration
from threshold.quality.kinds import CheckSpec

_BLOCKING_SEVERITIES = {"error", "critical", "blocker", "blocking", "high"}
OPS = (
    "mustBe",
    "mustNotBe",
    "mustBeGreaterThan",
    "mustBeGreaterOrEqualTo",
    "mustBeLessThan",
    "mustBeLessOrEqualTo",
    "mustBeBetween",
    "mustNotBeBetween",
)
"""The threshold operators of an ODCS quality rule."""


@dataclass(frozen=True)
class ContractRule:
    """One promise of a contract as its view lists it, and what evaluates it."""

    kind: str
    """`schema`, `quality` or `sla`."""
    object: str
    """The dataset it is about (`domain.name`)."""
    property: str | None
    rule: str
    """`exists`/`type` (schema), `required`, `unique`, `primary key`, `range`, `pattern`, the quality
    rule's name (or description, or metric), `freshness` (SLA)."""
    expected: Any
    """As the contract states it: thresholds `{mustBe: 0}`, a type, `<= 24 h`."""
    what: str = ""
    """What the rule promises, in words (the message of its result)."""
    check: int | None = None
    """The spec that evaluates it (an index into `ContractPlan.specs`), or once kept, the check's id."""
    column: str | None = None
    """A schema rule: the column it is about in its object's schema check."""
    percent: bool = False
    """The rule measures a percent of the rows (its check's metric), not a count."""
    note: str | None = None
    """Why it is not run (`status` says how it ends)."""
    status: str | None = None
    """Set when it is not run: `skipped` (text rules, metrics Threshold does not run) or `error`."""

    @classmethod
    def of(cls, stored: dict[str, Any]) -> ContractRule:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in stored.items() if k in known})


@dataclass(frozen=True)
class ContractPlan:
    ref: str
    """`contract <id> <version>`: where each check came from (`Check.contract_ref`)."""
    specs: list[CheckSpec]
    rules: list[ContractRule]
    datasets: dict[str, str] = field(default_factory=dict)
    """Schema object name -> the dataset it describes."""
    not_run: list[str] = field(default_factory=list)
    """Rules no check evaluates, each with where it is in the contract and why."""


def dataset_of(obj: dict[str, Any], domain: str | None) -> str:
    """The dataset a schema object describes: `physicalName` (`domain.dataset`; a bare name is in the
    contract's `domain`), else the contract's `domain` + the object's `name`; "" when neither says."""
    physical = str(obj.get("physicalName") or "").strip().lower()
    name = physical or str(obj.get("name") or "").strip().lower()
    if name and "." not in name and domain:
        return f"{str(domain).strip().lower()}.{name}"
    return name if physical or domain else ""


def as_dict(contract: Any) -> dict[str, Any]:
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
    return plan(contract).specs


def odcs_rules(contract: Any) -> tuple[list[CheckSpec], list[str]]:
    """(checks, rules not run with the reason)."""
    p = plan(contract)
    return p.specs, p.not_run


def plan(contract: Any) -> ContractPlan:
    """The checks and the rules of a contract (model, dict or YAML); see the module doc."""
    doc = as_dict(contract)
    ref = f"contract {doc.get('id') or doc.get('name') or ''} {doc.get('version') or ''}".strip()
    walk = _Walk(ref, doc.get("domain"))
    objects = doc.get("schema") or []
    for obj in objects:
        walk.object(obj)
    walk.slas(doc.get("slaProperties") or [], objects)
    return ContractPlan(ref, walk.specs, walk.rules, walk.datasets, walk.not_run)


@dataclass
class _Walk:
    ref: str
    domain: str | None
    specs: list[CheckSpec] = field(default_factory=list)
    rules: list[ContractRule] = field(default_factory=list)
    datasets: dict[str, str] = field(default_factory=dict)
    not_run: list[str] = field(default_factory=list)
    key_rules: list[int] = field(default_factory=list)
    """Rules (`unique` of a lone primary key column) evaluated by the primary key's check, made last."""

    def spec(self, kind: str, options: dict[str, Any], ref: str, oname: str, *, name: str = "") -> int:
        self.specs.append(
            CheckSpec(kind, options, name=name, source="contract", contract_ref=ref[:200], object_name=oname)
        )
        return len(self.specs) - 1

    def object(self, obj: dict[str, Any]) -> None:
        oname = str(obj.get("physicalName") or obj.get("name") or "")
        dataset = dataset_of(obj, self.domain) or oname
        self.datasets[oname] = dataset
        props = [p for p in obj.get("properties") or [] if p.get("physicalName") or p.get("name")]
        if props:
            expected = [{"name": _col(p), "type": _type_of(p)} for p in props]
            name = f"{oname}: schema as in the contract"
            schema = self.spec("schema", {"columns": expected}, f"{self.ref} schema {oname}", oname, name=name)
            for p in props:
                self.rules.append(
                    ContractRule("schema", dataset, _col(p), "type", _type_of(p) or None, check=schema, column=_col(p))
                )
        keys = sorted((p for p in props if p.get("primaryKey")), key=lambda p: p.get("primaryKeyPosition") or 0)
        key_cols = [_col(p) for p in keys]
        self.key_rules = []
        for p in props:
            self.property(p, oname, dataset, key_cols)
        if key_cols:
            unique = self.spec("unique", {"columns": key_cols}, f"{self.ref} {oname} primary key", oname)
            for i in self.key_rules:
                self.rules[i] = replace(self.rules[i], check=unique)
            what = f"{', '.join(key_cols)} identif{'ies' if len(key_cols) == 1 else 'y'} a row"
            self.rules.append(
                ContractRule("quality", dataset, ", ".join(key_cols), "primary key", {"mustBe": 0}, what, unique)
            )
        for i, rule in enumerate(obj.get("quality") or []):
            label = rule.get("id") or rule.get("name") or i
            self.quality(rule, oname, dataset, None, f"{self.ref} {oname} quality {label}")

    def property(self, p: dict[str, Any], oname: str, dataset: str, key_cols: list[str]) -> None:
        col = _col(p)
        where = f"{self.ref} {oname}.{col}"
        qualified = f"{dataset}.{col}"
        if p.get("required") or col in key_cols:
            i = self.spec("not_null", {"columns": [col]}, where + " required", oname)
            label = "required" if p.get("required") else "primary key"
            self.rules.append(
                ContractRule("quality", dataset, col, label, {"mustBe": 0}, f"{qualified} has no empty value", i)
            )
        if p.get("unique"):
            what = f"{qualified} has no repeated value"
            if len(key_cols) == 1 and key_cols[0] == col:  # the primary key's unique check says it
                self.key_rules.append(len(self.rules))
                self.rules.append(ContractRule("quality", dataset, col, "unique", {"mustBe": 0}, what))
            else:
                i = self.spec("unique", {"columns": [col]}, where + " unique", oname)
                self.rules.append(ContractRule("quality", dataset, col, "unique", {"mustBe": 0}, what, i))
        opts = p.get("logicalTypeOptions") or {}
        lo = opts.get("minimum", opts.get("exclusiveMinimum"))
        hi = opts.get("maximum", opts.get("exclusiveMaximum"))
        if lo is not None or hi is not None:
            i = self.spec("range", {"column": col, "min": lo, "max": hi}, where + " range", oname)
            bounds = " and ".join(([f"≥ {lo}"] if lo is not None else []) + ([f"≤ {hi}"] if hi is not None else []))
            self.rules.append(ContractRule("quality", dataset, col, "range", {"mustBe": 0}, f"{col} is {bounds}", i))
        if opts.get("pattern"):
            i = self.spec("regex", {"column": col, "pattern": opts["pattern"]}, where + " pattern", oname)
            what = f"{col} matches {opts['pattern']}"
            self.rules.append(ContractRule("quality", dataset, col, "pattern", {"mustBe": 0}, what, i))
        for i, rule in enumerate(p.get("quality") or []):
            self.quality(rule, oname, dataset, col, f"{where} quality {rule.get('id') or rule.get('name') or i}")

    def quality(self, rule: dict[str, Any], oname: str, dataset: str, col: str | None, ref: str) -> None:
        kind = str(rule.get("type") or ("library" if (rule.get("metric") or rule.get("rule")) else "text")).lower()
        metric = str(rule.get("metric") or rule.get("rule") or "")
        label = str(rule.get("name") or rule.get("description") or metric or kind)
        what = str(rule.get("description") or label)
        ops = {k: rule[k] for k in OPS if rule.get(k) is not None}
        percent = str(rule.get("unit") or "").lower() in ("percent", "%") and metric != "rowCount"
        base = ContractRule("quality", dataset, col, label, ops, what, percent=percent)
        if kind in ("text", "custom"):
            said = str(rule.get("description") or rule.get("name") or "")
            note = f"{kind} rule, for people to follow: {said}".strip()
            self.rules.append(replace(base, expected=None, note=note, status="skipped"))
            self.not_run.append(f"{ref}: a {kind} rule ({(metric or said)[:80]}) cannot be run by Threshold")
            return
        spec = self._spec_of(kind, metric, rule, oname, col, ref)
        if spec is None:
            self.rules.append(replace(base, note=f"metric {metric!r} is not one Threshold runs", status="skipped"))
            what_not = metric or str(rule.get("description") or "")
            self.not_run.append(f"{ref}: a {kind} rule ({what_not[:80]}) cannot be run by Threshold")
            return
        name = str(rule.get("name") or rule.get("description") or "")[:200]
        self.specs.append(replace(spec, name=name) if name else spec)
        default = {} if metric == "rowCount" or kind == "sql" else {"mustBe": 0}
        self.rules.append(replace(base, expected=ops or default, check=len(self.specs) - 1))

    def _spec_of(
        self, kind: str, metric: str, rule: dict[str, Any], oname: str, col: str | None, ref: str
    ) -> CheckSpec | None:
        blocking = str(rule.get("severity") or "").lower() in _BLOCKING_SEVERITIES
        args = rule.get("arguments") or {}
        tolerance = _tolerance(rule)

        def spec(k: str, options: dict[str, Any]) -> CheckSpec:
            return CheckSpec(
                k, options, blocking=blocking, source="contract", contract_ref=ref[:200], object_name=oname
            )

        if kind == "sql" and rule.get("query"):
            prop = col or ""
            sql = str(rule["query"]).replace("${property}", prop).replace("{property}", prop)
            sql = sql.replace("${column}", prop)
            bounds = _bounds(rule)
            return spec(
                "sql",
                {"sql": sql} | ({k: v for k, v in bounds.items() if v is not None} if bounds else {"value": True}),
            )
        if kind != "library":
            return None
        if metric == "rowCount":
            bounds = _bounds(rule) or {"min": 0}
            options = {k: (math.ceil(v) if k == "min" else math.floor(v)) for k, v in bounds.items() if v is not None}
            return spec("row_count", options)
        if metric == "duplicateValues":
            cols = [str(c) for c in args.get("properties") or []] or ([col] if col else [])
            return spec("unique", {"columns": cols} | tolerance) if cols else None
        if col is None:
            return None
        if metric == "nullValues":
            return spec("not_null", {"columns": [col]} | tolerance)
        if metric == "missingValues":
            listed = [v for v in (args.get("missingValues") or []) if v is not None]
            return spec("not_null", {"columns": [col]} | ({"missing": listed} if listed else {}) | tolerance)
        if metric == "invalidValues" and args.get("validValues"):
            return spec("accepted_values", {"column": col, "values": list(args["validValues"])} | tolerance)
        if metric == "invalidValues" and args.get("pattern"):
            return spec("regex", {"column": col, "pattern": args["pattern"]} | tolerance)
        return None

    def slas(self, slas: list[dict[str, Any]], objects: list[dict[str, Any]]) -> None:
        names = [str(o.get("physicalName") or o.get("name") or "") for o in objects]
        for sla in slas:
            if str(sla.get("property", "")).lower() not in ("freshness", "latency"):
                continue
            unit = str(sla.get("unit") or "d").strip().lower()
            value = sla.get("value")
            try:
                seconds = parse_duration(f"{value}{unit}")
            except InvalidInput:
                note = f"SLA {sla.get('property')}: unit {sla.get('unit')!r} is not a time unit"
                self.rules.append(ContractRule("sla", "", None, "freshness", None, note=note, status="skipped"))
                self.not_run.append(f"{self.ref} {note}")
                continue
            hours = seconds / 3600
            expected = f"<= {int(hours) if float(hours).is_integer() else round(hours, 1)} h"
            element = str(sla.get("element") or "")
            oname, _, col = element.partition(".") if "." in element else ("", "", "")
            for name in [oname] if oname else names:
                options: dict[str, Any] = {"max_age": f"{value}{unit}"} | ({"column": col} if col else {})
                i = self.spec("freshness", options, f"{self.ref} SLA freshness", name)
                dataset = self.datasets.get(name, name)
                what = f"the newest {col}" if col else "the last update"
                self.rules.append(ContractRule("sla", dataset, col or None, "freshness", expected, what, i))


def _col(p: dict[str, Any]) -> str:
    return str(p.get("physicalName") or p.get("name"))


def _type_of(p: dict[str, Any]) -> str:
    """What the contract says a column's type is: its logical type, else its physical one."""
    return str(p.get("logicalType") or p.get("physicalType") or "")


def _bounds(rule: dict[str, Any]) -> dict[str, float | None] | None:
    """Thresholds on a measured value as inclusive bounds {min, max}; None when the rule has none. A strict
    bound moves by one for a count (whole numbers), by a hair for a percent."""
    step = 1e-9 if str(rule.get("unit") or "").lower() in ("percent", "%") else None
    lo: float | None = None
    hi: float | None = None

    def past(v: float) -> float:
        return step if step is not None else (1 if v.is_integer() else 1e-9)

    if rule.get("mustBe") is not None:
        lo = hi = float(rule["mustBe"])
    if rule.get("mustBeGreaterThan") is not None:
        v = float(rule["mustBeGreaterThan"])
        lo = v + past(v)
    if rule.get("mustBeGreaterOrEqualTo") is not None:
        lo = float(rule["mustBeGreaterOrEqualTo"])
    if rule.get("mustBeLessThan") is not None:
        v = float(rule["mustBeLessThan"])
        hi = v - past(v)
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
