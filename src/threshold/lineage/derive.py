"""Derived datasets: SQL over the lake, run through the gateway as its owner, stored as a dataset.

`derive` runs the query once and creates `domain.name` (one snapshot); `refresh` runs it again and
replaces the data (one more snapshot, a share in mode replace). A scheduled derivation is a job of
kind `derivation.refresh` on the jobs core (`refresh_jobs`, declared in `registration.py`);
`refresh_due` runs the due ones, upstream derivations first. A run always reads as the derivation's OWNER,
whoever triggers it: masks and row filters that apply to the owner apply to the derived data (which
then carries the source columns' tags, so outsiders see it masked too), and triggering a refresh
never lends anyone else's rights to it. Every run records its column lineage (`query_lineage`),
inherited tags (`tags`) and, when configured, its OpenLineage events.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from threshold.access import (
    DatasetRef,
    DerivationRef,
    DomainRef,
    find_dataset,
    knowable,
    no_dataset,
    require,
    sees_every_dataset,
)
from threshold.errors import Conflict, Denied, NotFound, ThresholdError
from threshold.identity.service import Person, get_person
from threshold.jobs import schedule
from threshold.jobs import service as jobs
from threshold.lineage import naming, openlineage_out
from threshold.lineage.derivation_runs import DerivationRunSpec, deriving
from threshold.lineage.models import Derivation, DerivationRun, LineageEdge, LineageNode
from threshold.lineage.query_lineage import analyze
from threshold.lineage.registration import REFRESH
from threshold.lineage.results import DerivationRecord, DerivationRow, DerivationRunRow, DerivationSchedule
from threshold.names import check_name
from threshold.platform import Platform
from threshold.sql.check import check
from threshold.store.models import Column, Dataset, Domain, UsageRead, User


@dataclass
class RunResult:
    dataset: str
    run_id: str
    trigger: str
    status: str
    snapshot_id: int | None
    rows: int
    columns: list[str]
    inputs: list[str]
    gaps: list[dict[str, Any]] = field(default_factory=list)
    """Output columns whose origin is unresolved, with the reason."""
    tags: list[tuple[str, str]] = field(default_factory=list)
    """(column, tag) inherited from the source columns."""
    notes: list[str] = field(default_factory=list)
    schedule: str | None = None
    next_run_at: str | None = None
    seconds: float = 0.0
    error: str | None = None


def derive(
    platform: Platform,
    name: str,
    *,
    domain: str,
    sql: str,
    user: Person,
    schedule_text: str | None = None,
    purpose: str | None = None,
    description: str = "",
    replace: bool = False,
) -> RunResult:
    """Create `domain.name` from `sql` (run as `user`), or with `replace` redefine an existing derivation."""
    check_name("domain", domain)
    check_name("dataset", name)
    full = f"{domain}.{name}".lower()
    require_member(user, domain)
    check(sql)  # fail on what the gateway would refuse before anything else
    sched = schedule.parse(schedule_text)
    purpose = (purpose or "").strip()[:200] or None
    with platform.store.reader() as s:
        ds = s.scalars(select(Dataset).where(Dataset.full_name == full)).one_or_none()
        existing = s.scalars(select(Derivation).where(Derivation.dataset_id == ds.id)).one_or_none() if ds else None
        if ds is None and s.scalar(select(Domain.id).where(Domain.name == domain)) is None:
            raise NotFound(f"no domain {domain!r}; add it with `threshold domain add {domain}`")
    if ds is not None and ds.snapshot_id is not None and not replace:
        what = "a derived dataset" if existing else "a dataset shared from a file"
        hint = f"refresh it with `threshold refresh {full}`" if existing else "choose another name"
        raise Conflict(f"{full} exists already ({what}); {hint}, or derive again with --replace")
    if replace and existing is None and ds is not None:
        raise Conflict(f"{full} was not derived; --replace only redefines a derived dataset")
    if existing is not None:
        _check_may_refresh(platform, user, full, existing)
    return _run(
        platform,
        full,
        sql=sql,
        owner=user,
        purpose=purpose,
        sched=sched,
        trigger="create",
        triggered_by=user.id,
        mode="replace" if ds is not None and ds.snapshot_id is not None else "create",
        description=description,
    )


def require_member(user: Person, domain: str) -> None:
    """Deriving into a domain is writing into it (`domain.member`)."""
    from threshold.access import may

    answer = may(user, "domain.member", DomainRef(domain))
    if not answer:
        raise Denied(f"{user.name} is not a member of domain {domain!r}, so cannot derive into it (rule: share.member)")


def refresh(platform: Platform, dataset: str, *, user: Person | None, trigger: str = "manual") -> RunResult:
    """Run a derivation again as its owner; one new snapshot (mode replace). `user` None: the scheduler."""
    full = dataset.lower()
    with platform.store.reader() as s:
        d = _derivation(s, full, user)
        owner_name = s.scalar(select(User.name).where(User.id == d.owner_id))
        sql, purpose, sched_text = d.sql, d.purpose, d.schedule
    if user is not None:
        _check_may_refresh(platform, user, full, d)
    owner = get_person(platform, str(owner_name))
    return _run(
        platform,
        full,
        sql=sql,
        owner=owner,
        purpose=purpose,
        sched=schedule.parse(sched_text),
        trigger=trigger,
        triggered_by=user.id if user else None,
        mode="replace",
    )


def set_schedule(platform: Platform, dataset: str, schedule_text: str | None, *, user: Person) -> DerivationSchedule:
    """Set (or with None clear) a derived dataset's schedule; its refresh job is planned accordingly."""
    sched = schedule.parse(schedule_text)
    with platform.store.session() as s:
        d = _derivation(s, dataset.lower(), user)
        _check_may_refresh(platform, user, dataset.lower(), d)
        d.schedule = sched.text if sched else None
        d.updated_at = platform.clock()
        job = jobs.plan(s, REFRESH, dataset.lower(), d.schedule, label=dataset.lower(), now=d.updated_at)
        return DerivationSchedule(dataset=dataset.lower(), schedule=d.schedule, next_run_at=_iso(job.next_run_at))


def _derivation(s: Session, full: str, viewer: Person | None = None) -> Derivation:
    """The derivation of `full`; a dataset `viewer` may not know exists is refused as one that does not."""
    exists = s.scalar(select(Dataset.id).where(Dataset.full_name == full, knowable(viewer))) is not None
    if not exists:
        raise no_dataset(full)
    d = s.scalars(select(Derivation).join(Dataset).where(Dataset.full_name == full)).one_or_none()
    if d is None:
        raise NotFound(f"{full} is not a derived dataset; `threshold derive` creates one")
    return d


def _check_may_refresh(platform: Platform, user: Person, full: str, d: Derivation) -> None:
    with platform.store.reader() as s:
        ref = DatasetRef.of(find_dataset(s, None, full))
    require(user, "derivation.run", DerivationRef(ref, d.owner_id))


def _run(
    platform: Platform,
    full: str,
    *,
    sql: str,
    owner: Person,
    purpose: str | None,
    sched: schedule.Schedule | None,
    trigger: str,
    triggered_by: int | None,
    mode: str,
    description: str = "",
) -> RunResult:
    from threshold.gateway.service import query
    from threshold.sharing.service import share

    started_clock = time.perf_counter()
    started = datetime.now(UTC)
    run_id = str(uuid.uuid4())
    domain, name = full.split(".", 1)
    job = naming.derive_job(full)
    _emit(
        platform,
        openlineage_out.run_event(
            platform, state="START", run_id=run_id, job=job, job_type="DERIVE", sql=sql, owner=owner.name, at=started
        ),
    )
    try:
        result = query(platform, sql, user=owner, purpose=purpose, interface="job", max_rows=None)
        _keeps_scope(platform, full, result.datasets, owner)
        analysis = analyze(sql, _schemas(platform, result.datasets))
        spec = DerivationRunSpec(
            dataset=full,
            sql=sql,
            owner_id=owner.id,
            owner=owner.name,
            purpose=purpose,
            schedule=sched.text if sched else None,
            next_run_at=sched.next_after(started) if sched else None,
            trigger=trigger,
            triggered_by=triggered_by,
            run_id=run_id,
            started_at=started,
            analysis=analysis,
            inputs=_snapshots_read(platform, result.event_id, result.datasets),
            masked=result.masked,
            owner_domains=owner.domains,
        )
        with deriving(spec):
            shared = share(
                platform,
                result.table,
                domain=domain,
                user=owner,
                name=name,
                mode=mode,
                description=description or (f"Derived from {', '.join(result.datasets)}" if mode == "create" else ""),
            )[0]
    except ThresholdError as e:
        _record_failure(platform, full, run_id, trigger, triggered_by, started, e, sql=sql, owner=owner)
        raise
    recorded = spec.recorded
    return RunResult(
        dataset=full,
        run_id=run_id,
        trigger=trigger,
        status="ok",
        snapshot_id=shared.snapshot_id,
        rows=shared.rows_total,
        columns=shared.columns,
        inputs=sorted(spec.inputs),
        gaps=recorded.get("gaps", []),
        tags=recorded.get("tags", []),
        notes=shared.notes,
        schedule=spec.schedule,
        next_run_at=_iso(spec.next_run_at),
        seconds=round(time.perf_counter() - started_clock, 3),
    )


def _keeps_scope(platform: Platform, full: str, inputs: list[str], owner: Person | None) -> None:
    """Derived data keeps the scope it was read under: a restricted dataset is derived only into its own
    domain (anywhere else, its values would reach people who may not know it exists)."""
    from threshold.access import may

    target = DomainRef(full.split(".", 1)[0])
    with platform.store.reader() as s:
        for name in inputs:
            ref = DatasetRef.of(find_dataset(s, None, name))
            answer = may(owner, "dataset.derive_from", (ref, target))
            if not answer:
                raise Denied(f"{full} cannot be derived from {ref.name}: {answer.reason} (rule: {answer.rule})")


def _schemas(platform: Platform, datasets: list[str]) -> dict[str, list[str]]:
    with platform.store.reader() as s:
        rows = s.execute(
            select(Dataset.full_name, Column.name)
            .join(Column, Column.dataset_id == Dataset.id)
            .where(Dataset.full_name.in_(datasets))
            .order_by(Dataset.full_name, Column.position)
        )
        out: dict[str, list[str]] = {d: [] for d in datasets}
        for full, col in rows:
            out[full].append(col)
        return out


def _snapshots_read(platform: Platform, event_id: int | None, datasets: list[str]) -> dict[str, int | None]:
    """The snapshot of each input the gateway read (from its usage event)."""
    out: dict[str, int | None] = dict.fromkeys(datasets)
    if event_id is None:
        return out
    with platform.store.reader() as s:
        for full, snap in s.execute(
            select(Dataset.full_name, UsageRead.snapshot_id).join(Dataset).where(UsageRead.event_id == event_id)
        ):
            out[full] = snap
    return out


def _record_failure(
    platform: Platform,
    full: str,
    run_id: str,
    trigger: str,
    triggered_by: int | None,
    started: datetime,
    error: ThresholdError,
    *,
    sql: str,
    owner: Person,
) -> None:
    """A failed run of an existing derivation: recorded, the owner told (once per failing streak)."""
    from threshold.notifications.models import Notification

    now = datetime.now(UTC)
    with platform.store.session() as s:
        d = s.scalars(select(Derivation).join(Dataset).where(Dataset.full_name == full)).one_or_none()
        if d is None:
            return  # a first derive that failed created nothing; the caller sees the error
        was_ok = d.status != "failed"
        d.status, d.last_error, d.updated_at = "failed", str(error)[:2000], now
        s.add(
            DerivationRun(
                derivation_id=d.id,
                run_id=run_id,
                trigger=trigger,
                user_id=triggered_by,
                started_at=started,
                finished_at=now,
                status="failed",
                error=str(error)[:2000],
            )
        )
        if was_ok:
            s.add(
                Notification(
                    user_id=d.owner_id,
                    kind="derivation.failed",
                    title=f"Refreshing {full} failed",
                    body=f"{error} The previous snapshot stays published.",
                    link=f"/lineage/{full}",
                    dataset_id=d.dataset_id,
                    data={"dataset": full, "error": str(error)},
                )
            )
        openlineage_out.enqueue(
            s,
            platform,
            openlineage_out.run_event(
                platform,
                state="FAIL",
                run_id=run_id,
                job=naming.derive_job(full),
                job_type="DERIVE",
                sql=sql,
                owner=owner.name,
                error=str(error),
                at=now,
            ),
        )
    openlineage_out.deliver_async(platform)


def _emit(platform: Platform, event: dict[str, Any]) -> None:
    if openlineage_out.enabled(platform):
        with platform.store.session() as s:
            openlineage_out.enqueue(s, platform, event)


def refresh_due(platform: Platform, *, now: datetime | None = None) -> list[RunResult | ThresholdError]:
    """Refresh every derivation whose schedule is due, upstream ones first (through the jobs core, which
    claims each run first, so several schedulers never run the same one twice)."""
    out: list[RunResult | ThresholdError] = []
    for o in jobs.run_due(platform, now=now, only=[REFRESH]):
        if isinstance(o.error, ThresholdError):
            out.append(o.error)
        elif o.error is not None:
            raise o.error
        elif o.result is not None:
            out.append(o.result)
    return out


def refresh_jobs(platform: Platform, keys: Sequence[str]) -> dict[str, Any]:
    """The `derivation.refresh` job kind: refresh the claimed derivations, upstream ones first."""
    with platform.store.reader() as s:
        order = _upstream_first(s, list(keys))
    results: dict[str, Any] = {}
    for full in order:
        try:
            results[full] = refresh(platform, full, user=None, trigger="schedule")
        except ThresholdError as e:
            results[full] = e
    return results


def _upstream_first(s: Session, names: list[str]) -> list[str]:
    """`names` ordered so that a derivation comes after those it reads from (ties by name)."""
    q = select(LineageNode.name, LineageNode.id).where(
        LineageNode.name.in_(names), LineageNode.namespace == naming.LAKE
    )
    ids = dict(s.execute(q).all())
    back = {v: k for k, v in ids.items()}
    needs: dict[str, set[str]] = {n: set() for n in names}
    if ids:
        for src, dst in s.execute(
            select(LineageEdge.src_id, LineageEdge.dst_id).where(
                LineageEdge.dst_id.in_(list(ids.values())), LineageEdge.src_id.in_(list(ids.values()))
            )
        ):
            needs[back[dst]].add(back[src])
    order: list[str] = []
    while needs:
        ready = sorted(n for n, deps in needs.items() if not deps - set(order))
        if not ready:  # a cycle: break it by name
            ready = [sorted(needs)[0]]
        for n in ready:
            order.append(n)
            needs.pop(n)
    return order


def derivations(platform: Platform, *, viewer: Person | None = None, domain: str | None = None) -> list[DerivationRow]:
    """Every derivation the viewer may know exists (not other domains' restricted datasets)."""
    with platform.store.reader() as s:
        q = (
            select(Derivation, Dataset.full_name, User.name)
            .join(Dataset, Dataset.id == Derivation.dataset_id)
            .join(Domain, Domain.id == Dataset.domain_id)
            .join(User, User.id == Derivation.owner_id)
            .where(knowable(viewer))
            .order_by(Dataset.full_name)
        )
        if domain:
            q = q.where(Domain.name == domain)
        rows = list(s.execute(q))
        hidden_sql = _reads_hidden(s, viewer)
        nexts = jobs.next_runs(s, REFRESH, [full for _, full, _ in rows])
        return [_describe(d, full, owner, nexts.get(full), hide=d.dataset_id in hidden_sql) for d, full, owner in rows]


def _reads_hidden(s: Session, viewer: Person | None) -> set[int]:
    """Derived datasets whose SQL reads a dataset `viewer` may not know exists: their SQL is not shown."""
    if sees_every_dataset(viewer):
        return set()
    hidden = select(Dataset.id).where(~knowable(viewer))
    src = select(LineageNode.id).where(LineageNode.dataset_id.in_(hidden))
    dst = select(LineageEdge.dst_id).where(LineageEdge.src_id.in_(src), LineageEdge.origin == "derivation")
    return set(s.scalars(select(LineageNode.dataset_id).where(LineageNode.id.in_(dst))))


def describe_derivation(
    platform: Platform, dataset: str, *, runs: int = 20, viewer: Person | None = None
) -> DerivationRecord:
    """A derivation with its SQL and its last runs (its SQL only when the viewer may know all it reads)."""
    with platform.store.reader() as s:
        d = _derivation(s, dataset.lower(), viewer)
        hides_sql = d.dataset_id in _reads_hidden(s, viewer)
        owner = s.scalar(select(User.name).where(User.id == d.owner_id))
        history = s.scalars(
            select(DerivationRun)
            .where(DerivationRun.derivation_id == d.id)
            .order_by(DerivationRun.id.desc())
            .limit(runs)
        ).all()
        nxt = jobs.next_runs(s, REFRESH, [dataset.lower()]).get(dataset.lower())
        row = _describe(d, dataset.lower(), str(owner), nxt, hide=hides_sql)
        return DerivationRecord(
            **vars(row),
            sql=None if hides_sql else d.sql,
            runs=[
                DerivationRunRow(
                    run_id=r.run_id,
                    trigger=r.trigger,
                    status=r.status,
                    started_at=_iso(r.started_at),
                    finished_at=_iso(r.finished_at),
                    snapshot_id=r.snapshot_id,
                    rows=r.rows,
                    error=_error_text(r.error, hides_sql),
                )
                for r in history
            ],
        )


def _error_text(error: str | None, hide: bool) -> str | None:
    """A run's error may quote its SQL (a dataset name): not to a viewer who may not see the SQL."""
    return "the refresh failed" if error and hide else error


def _describe(
    d: Derivation, full: str, owner: str, next_run_at: datetime | None, *, hide: bool = False
) -> DerivationRow:
    return DerivationRow(
        dataset=full,
        owner=owner,
        schedule=d.schedule,
        purpose=d.purpose,
        status=d.status,
        last_run_at=_iso(d.last_run_at),
        next_run_at=_iso(next_run_at),
        snapshot_id=d.last_snapshot_id,
        error=_error_text(d.last_error, hide),
    )


def _iso(d: datetime | None) -> str | None:
    if d is None:
        return None
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).isoformat(timespec="seconds")
