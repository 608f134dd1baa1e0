"""A contract's checks at work: evaluated by the one runner, kept as checks of the datasets it describes,
and read back from the one run history for the contract view.

- `evaluate(platform, contract, readable=...)` plans the contract (`contract_rules.plan`), makes each spec
  a check of its dataset (validated against the published schema) and runs every dataset's checks in
  its one scan, as the dataset's owner, through the gateway (`reading.PublishedReader`: parse wall,
  decision, usage event with the purpose `data quality`). Nothing is stored yet: a contract whose
  schema does not match the table is refused before anything changes.
- `keep(s, evaluation, ...)` makes them the datasets' contract checks (reusing the checks of the same
  contract when it is checked again; the previous contract's checks are deactivated, their history
  stays) and records their runs, in the caller's transaction; `follow_up` after the commit does what
  any run leads to (incidents, `check_failed`).
- `results(platform, rules)` is the contract view: each rule with its check's newest run.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from threshold.errors import InvalidInput, NotFound, ThresholdError
from threshold.jobs import service as jobs
from threshold.jobs.schedule import normalise as normalise_schedule
from threshold.platform import Platform
from threshold.quality.contract_rules import ContractPlan, ContractRule, plan
from threshold.quality.dataset_checks import CHECK_JOB, fill_sql
from threshold.quality.kinds import KINDS, kind_of
from threshold.quality.kinds.schema import ODCS_LOGICAL, logical_type
from threshold.quality.models import Check, CheckRun
from threshold.quality.reading import PublishedReader, Target, published_target, run_as
from threshold.quality.runner import CheckInfo, Result, record_in
from threshold.quality.runner import evaluate as run_checks
from threshold.store.models import Dataset


@dataclass(frozen=True)
class ContractResult:
    """One rule of a contract with its newest result, as the contract view lists it."""

    kind: str
    object: str
    property: str | None
    rule: str
    status: str
    """`passed`, `failed`, `error` or `skipped`."""
    expected: Any
    actual: Any
    message: str


@dataclass(frozen=True)
class RunView:
    """What the contract view reads of a check's run."""

    status: str
    failing: int | None
    metric: float | None
    message: str
    detail: dict[str, Any]
    at: datetime | None

    @classmethod
    def of_result(cls, r: Result, at: datetime) -> RunView:
        o = r.outcome
        return cls(o.status, o.failing, o.metric, o.message, o.detail, at)


@dataclass
class DatasetRun:
    target: Target
    specs: list[int]
    """The plan's spec of each result, in order."""
    results: list[Result]


@dataclass
class ContractEvaluation:
    plan: ContractPlan
    datasets: list[DatasetRun]
    errors: dict[int, str]
    """Spec -> why it cannot be a check (a value that does not fit the column, a query reading elsewhere)."""
    missing: set[str]
    """Datasets the contract describes that are not in the lake."""
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def results(self) -> list[ContractResult]:
        runs = {
            i: RunView.of_result(r, self.at) for d in self.datasets for i, r in zip(d.specs, d.results, strict=True)
        }
        return render(self.plan.rules, runs, self.missing, self.errors)

    @property
    def status(self) -> str:
        return status_of(self.results)


def status_of(results: list[ContractResult]) -> str:
    if any(r.status in ("failed", "error") for r in results):
        return "failed"
    return "passed" if results else "unchecked"


def evaluate(
    platform: Platform, contract: Any, *, readable: Collection[str], fallback_user_id: int | None = None
) -> ContractEvaluation:
    """Every check of the contract run on the published datasets (nothing stored); see the module doc."""
    p = plan(contract)
    errors: dict[int, str] = {}
    missing: set[str] = set()
    runs: list[DatasetRun] = []
    for dataset in dict.fromkeys(p.datasets.values()):
        try:
            target = published_target(platform, dataset)
        except NotFound:
            missing.add(dataset)
            continue
        infos: list[tuple[int, CheckInfo]] = []
        for i, spec in enumerate(p.specs):
            if p.datasets.get(spec.object_name or "", spec.object_name) != dataset:
                continue
            try:
                kind, options = _normalised(spec.kind, spec.options, target, readable)
            except ThresholdError as e:
                errors[i] = str(e)
                continue
            name = (spec.name or KINDS[kind].title(options)).strip()[:200]
            infos.append((i, CheckInfo(-1 - i, target.dataset_id, name, kind, options, spec.blocking)))
        if not infos:
            runs.append(DatasetRun(target, [], []))
            continue
        owner = run_as(platform, target.dataset_id, fallback_user_id)
        results = run_checks(PublishedReader(platform, target, owner), [c for _i, c in infos])
        runs.append(DatasetRun(target, [i for i, _c in infos], results))
    return ContractEvaluation(p, runs, errors, missing, at=platform.clock())


def _normalised(
    kind_name: str, options: dict[str, Any], target: Target, readable: Collection[str]
) -> tuple[str, dict[str, Any]]:
    kind = kind_of(kind_name)
    out = kind.normalise(dict(options), target.types)
    if kind.name == "sql":
        out["sql"], read = fill_sql(out["sql"], target.full_name)
        outside = sorted(set(read) - set(readable))
        if outside:
            raise InvalidInput(f"a contract's sql rule may only read its own datasets, not {', '.join(outside)}")
    return kind.name, out


def keep(
    s: Session, evaluation: ContractEvaluation, *, user_id: int | None, reuse: Collection[int] = ()
) -> list[dict[str, Any]]:
    """Make the evaluated checks their datasets' contract checks and record their runs (in `s`); returns the
    contract's rules to store, each naming its check. Active contract checks of those datasets that this
    contract does not keep are deactivated (their history stays); `reuse`: checks of the same contract."""
    ids: dict[int, int] = {}
    for d in evaluation.datasets:
        existing = list(
            s.scalars(
                select(Check).where(
                    Check.dataset_id == d.target.dataset_id, Check.source == "contract", Check.active.is_(True)
                )
            )
        )
        reusable = {_same(c.kind, c.options): c for c in existing if c.id in reuse}
        kept: set[int] = set()
        for i, r in zip(d.specs, d.results, strict=True):
            spec = evaluation.plan.specs[i]
            row = reusable.pop(_same(r.check.kind, r.check.options), None)
            if row is None:
                row = Check(
                    dataset_id=d.target.dataset_id,
                    name=r.check.name,
                    kind=r.check.kind,
                    options=r.check.options,
                    blocking=r.check.blocking,
                    schedule=normalise_schedule(spec.schedule),
                    source="contract",
                    contract_ref=spec.contract_ref,
                    created_by_id=user_id,
                    created_at=evaluation.at,
                    updated_at=evaluation.at,
                )
                s.add(row)
                s.flush()
                jobs.plan(s, CHECK_JOB, str(row.id), row.schedule, label=d.target.full_name, now=evaluation.at)
            else:
                row.name, row.blocking, row.contract_ref = r.check.name, r.check.blocking, spec.contract_ref
                row.updated_at = evaluation.at
            ids[i] = row.id
            kept.add(row.id)
            r.check = replace(r.check, id=row.id)
        for c in existing:
            if c.id not in kept:
                c.active, c.updated_at = False, evaluation.at
                jobs.unplan(s, CHECK_JOB, str(c.id))
        record_in(s, d.target, d.results, trigger="manual", user_id=user_id, at=evaluation.at)
    stored = []
    for rule in evaluation.plan.rules:
        if rule.check is not None and rule.check in evaluation.errors:
            rule = replace(rule, check=None, note=evaluation.errors[rule.check], status="error")
        elif rule.check is not None:
            rule = replace(rule, check=ids.get(rule.check))
        stored.append(asdict(rule))
    return stored


def _same(kind: str, options: dict[str, Any]) -> str:
    return kind + json.dumps(options, sort_keys=True, default=str)


def follow_up(platform: Platform, evaluation: ContractEvaluation) -> None:
    """What the kept runs lead to, after the commit: incidents for failures, verified fixes, `check_failed`."""
    from threshold.quality.outcomes import after_runs

    for d in evaluation.datasets:
        if d.results:
            after_runs(platform, d.target, d.results)


def results(platform: Platform, stored: list[dict[str, Any]]) -> tuple[list[ContractResult], datetime | None]:
    """A kept contract's rules with their checks' newest runs, and when the newest of those ran."""
    views = many_results(platform, {0: stored})
    return views[0]


def many_results(
    platform: Platform, stored: Mapping[Any, list[dict[str, Any]]]
) -> dict[Any, tuple[list[ContractResult], datetime | None]]:
    """`results` of several contracts with one read of the history."""
    rules = {key: [ContractRule.of(d) for d in items] for key, items in stored.items()}
    ids = {r.check for rs in rules.values() for r in rs if r.check is not None and r.status is None}
    objects = {r.object for rs in rules.values() for r in rs}
    with platform.store.reader() as s:
        newest = (
            select(func.max(CheckRun.id))
            .where(CheckRun.check_id.in_(ids), CheckRun.rejected.is_(False))
            .group_by(CheckRun.check_id)
        )
        runs = {
            r.check_id: RunView(r.status, r.failing, r.metric, r.message, r.detail or {}, r.at)
            for r in s.scalars(select(CheckRun).where(CheckRun.id.in_(newest)))
        }
        present = set(
            s.scalars(select(Dataset.full_name).where(Dataset.full_name.in_(objects), Dataset.snapshot_id.is_not(None)))
        )
    out = {}
    for key, rs in rules.items():
        used = [runs[r.check] for r in rs if r.check in runs]
        at = max((_aware(v.at) for v in used if v.at is not None), default=None)
        out[key] = (render(rs, runs, objects - present, {}), at)
    return out


def render(
    rules: list[ContractRule], runs: Mapping[int, RunView], missing: Collection[str], errors: Mapping[int, str]
) -> list[ContractResult]:
    """Each rule as the contract view says it, from the run of its check."""
    out: list[ContractResult] = []
    told: set[str] = set()
    for rule in rules:
        if rule.object in missing:
            if rule.object not in told:
                told.add(rule.object)
                gone = f"{rule.object} is not in the lake"
                out.append(
                    ContractResult("schema", rule.object, None, "exists", "failed", "the dataset", "missing", gone)
                )
            continue
        if rule.status is not None:
            out.append(_result(rule, rule.status, None, rule.note or ""))
        elif rule.check is not None and rule.check in errors:
            out.append(_result(rule, "error", None, errors[rule.check]))
        elif rule.check is None or rule.check not in runs:
            out.append(_result(rule, "error", None, f"{rule.what or rule.rule}: not checked yet"))
        else:
            out.append(_from_run(rule, runs[rule.check]))
    return out


def _result(rule: ContractRule, status: str, actual: Any, message: str) -> ContractResult:
    return ContractResult(rule.kind, rule.object, rule.property, rule.rule, status, rule.expected, actual, message)


def _from_run(rule: ContractRule, run: RunView) -> ContractResult:
    stored = run.detail.get("contract")
    if isinstance(stored, dict):  # a result kept before checks and contracts shared one history
        return ContractResult(**{k: stored.get(k) for k in ContractResult.__dataclass_fields__})  # type: ignore[arg-type]
    if run.status == "error":
        return _result(rule, "error", None, f"{rule.what or rule.rule}: could not run ({run.message})")
    status = "passed" if run.status == "pass" else "failed"
    if rule.kind == "schema":
        return _schema(rule, run)
    if rule.kind == "sla":
        age = None if run.metric is None else round(run.metric / 3600, 1)
        slo = str(rule.expected).removeprefix("<= ")
        if age is None:
            return _result(rule, "failed", None, f"{rule.object} has no data yet")
        subject = f"the newest {rule.property} of {rule.object} is" if rule.property else f"{rule.object} was last"
        verb = f"{age} h old" if rule.property else f"updated {age} h ago"
        return _result(rule, status, age, f"{subject} {verb} (SLO {slo})")
    value = run.metric if run.metric is not None else run.failing
    shown = None if value is None else (int(value) if float(value).is_integer() else round(float(value), 4))
    ops = rule.expected if isinstance(rule.expected, dict) else {}
    expected = ", ".join(f"{k} {v}" for k, v in ops.items()) or "a value"
    where = f"{rule.object}.{rule.property}" if rule.property else rule.object
    return _result(rule, status, shown, f"{where}: {rule.what} — measured {shown}, expected {expected}")


def _schema(rule: ContractRule, run: RunView) -> ContractResult:
    where = f"{rule.object}.{rule.property}"
    column = next((c for c in run.detail.get("columns") or [] if c.get("name") == rule.column), None)
    if column is None or column.get("actual") is None:
        message = (
            f"{where} is in the contract but not in the table (restore it, or publish a new major version without it)"
        )
        return replace(_result(rule, "failed", "missing", message), rule="exists", expected="a column")
    actual, expected = str(column["actual"]), rule.expected
    if column.get("ok"):
        return _result(rule, "passed", actual, f"{where} is {actual}")
    have = logical_type(actual)
    if str(expected).strip().lower() in ODCS_LOGICAL:
        return _result(rule, "failed", have, f"{where} is {actual} ({have}), the contract says {expected}")
    return _result(rule, "failed", actual, f"{where} is {actual}, the contract says {expected}")


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)
