"""The gate of a share: checks judge the new snapshot after it is committed and before it is published.

`sharing.service` commits the shared rows to Iceberg as a new, unpublished snapshot, then announces
`dataset_publishing` with its publish step as the action; `judge` is quality's AROUND guard on it
(declared in `quality/registration.py`) and calls `publish_checked(..., publish=proceed)`. Here:
1. no active check on the dataset (or a first share): publish at once;
2. otherwise every active check runs on the new snapshot, as the owner (`reading.SnapshotReader`),
   in one scan (plus one over the appended files at an append, for row rules);
3. a blocking check that fails (or cannot run: fail closed) rejects the share: the runs are recorded,
   the file goes to quarantine, the sharer and the domain's owners are told, and `Conflict` is raised:
   the sharing service then rolls the lake back to the published snapshot, so nothing visible changed;
4. otherwise the runs are recorded, the share is published, and failures of non-blocking checks
   open incidents (after publishing, and never failing the share that is published already).

What a blocking check judges at an append: row rules (not null, accepted values, range, regex) judge the
appended rows only; unique and custom SQL judge what the append ADDS (failing rows of the new snapshot
minus those of the published one, so an old, tolerated duplicate does not block every later append); row
count, freshness and schema judge the new snapshot as a whole. A replace is judged as a whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from threshold.errors import Conflict, ThresholdError
from threshold.events import DatasetPublishing
from threshold.identity.service import Person
from threshold.notifications.service import emit, notify
from threshold.platform import Platform
from threshold.quality import quarantine
from threshold.quality.kinds import KINDS
from threshold.quality.kinds.base import allowed_failures
from threshold.quality.models import Check, CheckRun
from threshold.quality.reading import SnapshotReader, Target, run_as
from threshold.quality.recipients import owners
from threshold.quality.runner import CheckInfo, Result, evaluate, keep_last_status, mark_rejected, record
from threshold.store.models import Dataset, Domain

log = logging.getLogger(__name__)


def judge(platform: Platform, e: DatasetPublishing, proceed: Callable[[], None]) -> None:
    """The AROUND guard of `dataset_publishing`: publish the snapshot only if its blocking checks pass."""
    publish_checked(
        platform,
        e.dataset,
        e.snapshot_id,
        user=e.user,
        mode=e.mode,
        source=e.source,
        source_name=e.source_name,
        publish=proceed,
    )


def publish_checked(
    platform: Platform,
    ident: str,
    snapshot_id: int,
    *,
    user: Person,
    mode: str,
    source: Path | None,
    source_name: str,
    publish: Callable[[], None],
) -> None:
    """Run the dataset's checks on the committed snapshot, then publish it or reject it (see module doc)."""
    with platform.store.session() as s:
        row = s.execute(
            select(Dataset.id, Dataset.snapshot_id, Domain.name)
            .join(Domain, Domain.id == Dataset.domain_id)
            .where(Dataset.full_name == ident)
        ).one_or_none()
        checks = (
            [
                CheckInfo.of(c)
                for c in s.scalars(select(Check).where(Check.dataset_id == row[0], Check.active.is_(True)))
            ]
            if row is not None
            else []
        )
    if row is None or not checks:
        publish()
        return
    dataset_id, published, domain = row
    lake = platform.lake
    plan = lake.plan(ident, snapshot_id)
    old = set(lake.plan(ident, published).files) if published is not None else set()
    new_files = tuple(f for f in plan.files if f not in old)
    target = Target(
        dataset_id,
        ident,
        domain,
        snapshot_id,
        {f.name: f.duckdb_type for f in plan.fields},
        datetime.now(UTC),
        appended=(mode == "append"),
    )
    released = quarantine.is_released(ident)
    try:
        owner = run_as(platform, dataset_id, user.id)
        reader = SnapshotReader(platform, target, owner, new_files)
        results = evaluate(reader, checks)
    except ThresholdError as e:  # the checks cannot run at all: fail closed when one of them blocks
        if any(c.blocking for c in checks) and not released:
            raise Conflict(f"{ident}: the {mode} was not published because its blocking checks cannot run: {e}") from e
        log.warning("quality: checks of %s could not run at share: %s", ident, e)
        publish()
        return
    if mode == "append":
        for r in results:
            if r.check.blocking and r.outcome.status == "fail" and KINDS[r.check.kind].on_append == "baseline":
                _judge_against_published(platform, r, target, published, owner)
    blocked = [r for r in results if r.check.blocking and _blocks(r)]
    if blocked and not released:
        _reject(
            platform,
            target,
            results,
            blocked,
            user=user,
            mode=mode,
            source=source,
            source_name=source_name,
            files=[Path(f) for f in new_files],
        )
    run_ids = record(platform, target, results, trigger="share", user_id=user.id, keep_last=False)
    try:
        publish()
    except BaseException:
        mark_rejected(platform, run_ids)
        raise
    try:
        from threshold.quality.outcomes import after_runs

        keep_last_status(platform, results)
        after_runs(platform, target, results)
    except Exception:  # published already: a follow-up failure is logged, never turned into a failed share
        log.exception("quality: follow-up of the checks of %s failed", ident)


def _blocks(r: Result) -> bool:
    if r.outcome.status == "error":
        return True
    return r.outcome.status == "fail" and not r.outcome.detail.get("gate_passed", False)


def _judge_against_published(
    platform: Platform, r: Result, target: Target, published: int | None, owner: Person
) -> None:
    """An append is refused for what it adds: compare with the failing rows the published snapshot had."""
    if published is None or r.outcome.failing is None:
        return
    base = _published_failing(platform, r.check, target, published, owner)
    if base is None:
        return
    added = r.outcome.failing - base
    allowed = allowed_failures(r.check.options, r.outcome.checked or 0)
    r.outcome.detail |= {"baseline": base, "added": max(added, 0)}
    if r.outcome.failing <= allowed or added <= 0:
        r.outcome.detail["gate_passed"] = True
        r.outcome.detail["gate"] = f"the append adds no failing rows (the published snapshot had {base:,})"
    else:
        r.outcome.message += f"; the append adds {added:,} (the published snapshot had {base:,})"


def _published_failing(
    platform: Platform, check: CheckInfo, target: Target, published: int, owner: Person
) -> int | None:
    with platform.store.session() as s:
        known = s.scalar(
            select(CheckRun.failing)
            .where(
                CheckRun.check_id == check.id,
                CheckRun.snapshot_id == published,
                CheckRun.rejected.is_(False),
                CheckRun.status.in_(("pass", "fail")),
            )
            .order_by(CheckRun.id.desc())
            .limit(1)
        )
    if known is not None:
        return int(known)
    before = Target(target.dataset_id, target.full_name, target.domain, published, target.types, None)
    try:
        base = evaluate(SnapshotReader(platform, before, owner), [check])[0].outcome
    except ThresholdError:
        return None
    return base.failing if base.status in ("pass", "fail") else None


def _reject(
    platform: Platform,
    target: Target,
    results: list[Result],
    blocked: list[Result],
    *,
    user: Person,
    mode: str,
    source: Path | None,
    source_name: str,
    files: list[Path],
) -> None:
    run_ids = record(platform, target, results, trigger="share", user_id=user.id, rejected=True)
    reasons = "; ".join(f"{r.check.name}: {r.outcome.message}" for r in blocked)
    kept = [source] if source is not None and source.is_file() else files
    name = source.name if source is not None and source.is_file() else (f"{target.full_name.split('.', 1)[1]}.parquet")
    qid = quarantine.keep(
        platform,
        dataset_id=target.dataset_id,
        full_name=target.full_name,
        files=kept,
        name=name,
        user_id=user.id,
        mode=mode,
        snapshot_id=int(target.snapshot_id or 0),
        reason=reasons,
        run_ids=[rid for r, rid in zip(results, run_ids, strict=True) if r in blocked],
    )
    _tell_rejected(platform, target, user, mode, source_name, reasons, qid)
    n = len(blocked)
    raise Conflict(
        f"{target.full_name}: the {mode} of {source_name} was rejected by {n} blocking check{'s' if n > 1 else ''} "
        f"({reasons}); the dataset is unchanged and the file is kept in quarantine #{qid} "
        f"(`threshold quarantine list {target.full_name}`)"
    )


def _tell_rejected(
    platform: Platform, target: Target, user: Person, mode: str, source_name: str, reasons: str, qid: int
) -> None:
    try:
        with platform.store.session() as s:
            domain_id = s.scalar(select(Dataset.domain_id).where(Dataset.id == target.dataset_id))
        assert domain_id is not None
        people = [user.id, *owners(platform, [domain_id])[domain_id]]
        title = f"The {mode} of {source_name} into {target.full_name} was rejected by its checks"
        notify(
            platform,
            people,
            "quality.rejected",
            title,
            body=reasons,
            dataset_id=target.dataset_id,
            link=f"/datasets/{target.full_name}/quality",
            data={"quarantine": qid},
        )
        payload: dict[str, Any] = {
            "dataset": target.full_name,
            "mode": mode,
            "file": source_name,
            "by": user.name,
            "reasons": reasons,
            "quarantine": qid,
        }
        emit(platform, target.domain, "quality.rejected", payload)
    except Exception:  # telling people must never hide the rejection itself
        log.exception("quality: could not tell about the rejected share of %s", target.full_name)
