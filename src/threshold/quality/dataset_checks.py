"""Checks as people use them: add, remove, list with their history, run now.

Who may: members of the dataset's domain (and admins) add, remove and run its checks; anyone who may
know the dataset exists sees its checks, results and score; failing-row samples are shown as the viewer
may see them (`samples.for_viewer`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from threshold.access import DatasetRef, find_dataset, knows, may, written_by
from threshold.errors import Denied, InvalidInput, NotFound
from threshold.identity.service import Person
from threshold.jobs import service as jobs
from threshold.jobs.schedule import normalise as normalise_schedule
from threshold.platform import Platform
from threshold.quality import samples
from threshold.quality.check_results import (
    CheckHistory,
    CheckRecord,
    CheckRemoved,
    CheckResult,
    CheckRunRow,
    DatasetChecks,
    RunEntry,
)
from threshold.quality.kinds import CheckSpec, kind_of
from threshold.quality.models import CHECK_SOURCES, Check, CheckRun
from threshold.quality.outcomes import after_runs
from threshold.quality.reading import PublishedReader, published_target, run_as
from threshold.quality.registration import CHECK_JOB
from threshold.quality.runner import CheckInfo, Result, evaluate, record
from threshold.quality.score import dataset_scores
from threshold.store.models import Dataset, User

HISTORY = 20


def _dataset(s: Session, viewer: Person, full_name: str) -> Dataset:
    return find_dataset(s, viewer, full_name)


def may_manage(s: Session, person: Person, ds: Dataset) -> bool:
    """`dataset.write`: members of the dataset's domain (and admins) add, remove and run its checks."""
    return bool(may(person, "dataset.write", DatasetRef.of(ds)))


def _known(person: Person | None, ds: Dataset | None) -> bool:
    return ds is not None and ds.snapshot_id is not None and knows(person, DatasetRef.of(ds))


def _must_manage(s: Session, person: Person, ds: Dataset, verb: str) -> None:
    answer = may(person, "dataset.write", DatasetRef.of(ds))
    if not answer:
        raise Denied(
            f"{person.name} may not {verb} checks of {ds.full_name}: only members of {ds.domain.name} or an admin "
            f"can (rule: {answer.rule}); to tell its owners about a problem, use `threshold report {ds.full_name}`"
        )


def validate(platform: Platform, full_name: str, spec: CheckSpec) -> tuple[str, dict[str, Any]]:
    """(kind, normalised options) for a check on the published dataset; raises with the reason."""
    kind = kind_of(spec.kind)
    target = published_target(platform, full_name)
    options = kind.normalise(dict(spec.options), target.types)
    if kind.name == "sql":
        options["sql"] = _own_dataset_sql(options["sql"], full_name)
    return kind.name, options


SQL_PLACEHOLDERS = ("${object}", "{object}", "${table}", "{table}", "${dataset}", "{dataset}")
"""What a check's query may write for its own dataset."""


def fill_sql(sql: str, full_name: str) -> tuple[str, list[str]]:
    """A check's query with its dataset named for the placeholders, and the datasets it reads (through the
    gateway's parse wall); refused when it travels in time (a check judges the dataset as it is now)."""
    from threshold.sql.check import check

    for placeholder in SQL_PLACEHOLDERS:
        sql = sql.replace(placeholder, full_name)
    checked = check(sql)
    if any(r.time_travel is not None for r in checked.references):
        raise InvalidInput("a check judges the dataset as it is now: no FOR VERSION / TIMESTAMP AS OF")
    return sql, checked.datasets


def _own_dataset_sql(sql: str, full_name: str) -> str:
    """A custom assertion reads its own dataset only (`${object}` and `{table}` name it), as it is now."""
    sql, read = fill_sql(sql, full_name)
    if read != [full_name]:
        others = [d for d in read if d != full_name]
        raise InvalidInput(
            f"a check's query reads only {full_name}"
            + (f", not {', '.join(others)}" if others else "; it reads nothing")
        )
    return sql


def add(platform: Platform, person: Person, full_name: str, spec: CheckSpec) -> CheckRecord:
    """Add a check to a published dataset and plan its schedule; answers with the check (no `last` run yet)."""
    full_name = full_name.lower()
    with platform.store.session() as s:
        ds = _dataset(s, person, full_name)
        _must_manage(s, person, ds, "add")
        dataset_id = ds.id
    if spec.source not in CHECK_SOURCES:
        raise InvalidInput(f"unknown check source {spec.source!r}")
    kind, options = validate(platform, full_name, spec)
    schedule = normalise_schedule(spec.schedule)
    from threshold.quality.kinds import KINDS

    name = (spec.name or KINDS[kind].title(options)).strip()[:200]
    now = platform.clock()
    with platform.store.session() as s:
        row = Check(
            dataset_id=dataset_id,
            name=name,
            kind=kind,
            options=options,
            blocking=spec.blocking,
            schedule=schedule,
            source=spec.source,
            contract_ref=spec.contract_ref,
            created_by_id=person.id,
            created_at=now,
            updated_at=now,
        )
        s.add(row)
        s.flush()
        job = jobs.plan(s, CHECK_JOB, str(row.id), schedule, label=full_name, now=now)
        return _check_record(row, None, job.next_run_at)


def remove(platform: Platform, person: Person, check_id: int) -> CheckRemoved:
    """Deactivate a check: it stops running, its history stays (the score of the past keeps its meaning)."""
    with platform.store.session() as s:
        row = s.get(Check, check_id)
        ds = s.get(Dataset, row.dataset_id) if row else None
        if row is None or ds is None or not row.active or not _known(person, ds):
            raise NotFound(f"no check #{check_id}")
        _must_manage(s, person, ds, "remove")
        row.active, row.updated_at = False, platform.clock()
        jobs.unplan(s, CHECK_JOB, str(row.id))
        return CheckRemoved(id=row.id, dataset=ds.full_name, name=row.name)


def run(
    platform: Platform,
    person: Person | None,
    full_name: str,
    *,
    check_ids: list[int] | None = None,
    trigger: str = "manual",
) -> list[CheckResult]:
    """Run a dataset's active checks (or `check_ids` of them) on its published snapshot, in one scan."""
    full_name = full_name.lower()
    with platform.store.session() as s:
        ds = find_dataset(s, person, full_name)
        if person is not None:
            _must_manage(s, person, ds, "run")
        q = select(Check).where(Check.dataset_id == ds.id, Check.active.is_(True)).order_by(Check.id)
        if check_ids is not None:
            q = q.where(Check.id.in_(check_ids))
        checks = [CheckInfo.of(c) for c in s.scalars(q)]
        dataset_id = ds.id
    if not checks:
        return []
    target = published_target(platform, full_name)
    reader = PublishedReader(platform, target, run_as(platform, dataset_id, checks[0].created_by_id))
    results = evaluate(reader, checks)
    record(platform, target, results, trigger=trigger, user_id=person.id if person else None)
    after_runs(platform, target, results)
    return [_check_result(full_name, r) for r in results]


def run_all(platform: Platform, person: Person) -> list[CheckResult]:
    """Every dataset's checks that `person` may run (all of them for an admin)."""
    with platform.store.session() as s:
        q = (
            select(Dataset.full_name)
            .join(Check, Check.dataset_id == Dataset.id)
            .where(Check.active.is_(True), Dataset.snapshot_id.is_not(None), written_by(person))
            .distinct()
            .order_by(Dataset.full_name)
        )
        names = list(s.scalars(q))
    return [row for name in names for row in run(platform, person, name)]


def _check_result(full_name: str, r: Result) -> CheckResult:
    o = r.outcome
    return CheckResult(
        dataset=full_name,
        check=r.check.id,
        name=r.check.name,
        kind=r.check.kind,
        blocking=r.check.blocking,
        status=o.status,
        failing=o.failing,
        checked=o.checked,
        metric=o.metric,
        message=o.message,
        run=r.run_id,
    )


def _check_fields(c: Check, next_run_at: datetime | None) -> dict[str, Any]:
    """A check's fields as `CheckRecord` (and `CheckHistory`) hold them, `last` left out."""
    return {
        "id": c.id,
        "name": c.name,
        "kind": c.kind,
        "options": c.options,
        "blocking": c.blocking,
        "schedule": c.schedule,
        "next_run_at": _iso(next_run_at),
        "source": c.source,
        "contract_ref": c.contract_ref,
        "active": c.active,
        "created_at": _iso(c.created_at),
        "last_status": c.last_status,
        "last_run_at": _iso(c.last_run_at),
    }


def _check_record(c: Check, last: RunEntry | None, next_run_at: datetime | None = None) -> CheckRecord:
    return CheckRecord(**_check_fields(c, next_run_at), last=last)


def dataset_checks(
    platform: Platform, viewer: Person, full_name: str, *, history: int = HISTORY, purpose: str | None = None
) -> DatasetChecks:
    """A dataset's active checks with their newest run, its recent runs and its score, for `viewer`."""
    full_name = full_name.lower()
    with platform.store.session() as s:
        ds = _dataset(s, viewer, full_name)
        checks = list(
            s.scalars(select(Check).where(Check.dataset_id == ds.id, Check.active.is_(True)).order_by(Check.id))
        )
        runs = list(
            s.scalars(select(CheckRun).where(CheckRun.dataset_id == ds.id).order_by(CheckRun.id.desc()).limit(history))
        )
        names = {c.id: c for c in s.scalars(select(Check).where(Check.dataset_id == ds.id))}
        users = dict(s.execute(select(User.id, User.name)).all())
        nexts = jobs.next_runs(s, CHECK_JOB, [str(c.id) for c in checks])
        latest: dict[int, CheckRun] = {}
        for c in checks:
            newest = s.scalars(
                select(CheckRun).where(CheckRun.check_id == c.id).order_by(CheckRun.id.desc()).limit(1)
            ).one_or_none()
            if newest is not None:
                latest[c.id] = newest
        manage = may_manage(s, viewer, ds)
        dataset_id = ds.id
    kinds = {c.id: c.kind for c in names.values()}
    decided: dict[str, Any] = {}  # the viewer's decision, made once for every sample of the page

    def run_entry(r: CheckRun) -> RunEntry:
        c = names.get(r.check_id)
        return RunEntry(
            id=r.id,
            check=r.check_id,
            name=c.name if c else "",
            at=_iso(r.at),
            status=r.status,
            trigger=r.trigger,
            by=users.get(r.user_id) if r.user_id else None,
            snapshot_id=r.snapshot_id,
            blocking=r.blocking,
            rejected=r.rejected,
            failing=r.failing,
            checked=r.checked,
            metric=r.metric,
            message=r.message,
            detail=r.detail,
            duration_ms=r.duration_ms,
            sample=samples.for_viewer(
                platform,
                viewer,
                full_name,
                r.sample,
                kind=kinds.get(r.check_id, ""),
                purpose=purpose,
                decisions=decided,
            ),
        )

    score = dataset_scores(platform, [dataset_id])[dataset_id]
    return DatasetChecks(
        dataset=full_name,
        can_manage=manage,
        score=score["score"],
        score_detail=score,
        checks=[
            _check_record(c, run_entry(latest[c.id]) if c.id in latest else None, nexts.get(str(c.id))) for c in checks
        ],
        history=[run_entry(r) for r in runs],
    )


def check_history(
    platform: Platform, viewer: Person, check_id: int, *, limit: int = 100, purpose: str | None = None
) -> CheckHistory:
    """One check of a dataset `viewer` may know exists, with its newest `limit` runs."""
    with platform.store.session() as s:
        c = s.get(Check, check_id)
        ds = s.get(Dataset, c.dataset_id) if c else None
        if c is None or ds is None or not _known(viewer, ds):
            raise NotFound(f"no check #{check_id}")
        runs = list(
            s.scalars(select(CheckRun).where(CheckRun.check_id == c.id).order_by(CheckRun.id.desc()).limit(limit))
        )
        nxt = jobs.next_runs(s, CHECK_JOB, [str(c.id)]).get(str(c.id))
        full_name, fields = ds.full_name, _check_fields(c, nxt)
    decided: dict[str, Any] = {}
    history = [
        CheckRunRow(
            id=r.id,
            at=_iso(r.at),
            status=r.status,
            trigger=r.trigger,
            snapshot_id=r.snapshot_id,
            rejected=r.rejected,
            failing=r.failing,
            checked=r.checked,
            metric=r.metric,
            message=r.message,
            sample=samples.for_viewer(
                platform, viewer, full_name, r.sample, kind=fields["kind"], purpose=purpose, decisions=decided
            ),
        )
        for r in runs
    ]
    return CheckHistory(**fields, last=None, runs=history, dataset=full_name)


def _iso(d: datetime | None) -> str | None:
    if d is None:
        return None
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).isoformat(timespec="seconds")
