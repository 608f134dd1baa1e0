"""Usage: the record of governed reads, and what it says (per dataset, org-wide, per person)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import distinct, func, insert, select
from sqlalchemy.orm import Session

from threshold.access import PersonRef, knowable, known_ref, may, require
from threshold.errors import NotFound
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.store.db import now_of
from threshold.store.models import Dataset, Domain, Membership, UsageEvent, UsageRead, User
from threshold.usage.journal import Pending, journal_of
from threshold.usage.journal import flush as journal_flush
from threshold.usage.results import DatasetUsage, OrgUsage, PersonUsage

KINDS = ("consumption", "browse", "platform")
"""What a read was (`UsageEvent.kind`): use of the data, a look at a dataset page, or the platform's own."""


def counted_kinds(platform: Platform) -> tuple[str, ...]:
    """The kinds of reads that count as use in every consumption figure (dataset usage, the long tail,
    patterns, candidates, producer views): consumption, and browsing when `products.include_browsing`."""
    return ("consumption", "browse") if platform.settings.products.include_browsing else ("consumption",)


@dataclass
class UsageRecord:
    user_id: int | None
    interface: str
    purpose: str | None
    fingerprint: str
    query_text: str
    rows: int
    duration_ms: float
    status: str
    reads: list[tuple[int, list[str], int | None]] = field(default_factory=list)
    """(dataset id, columns read, snapshot id) per dataset."""
    error: str | None = None
    at: datetime | None = None
    kind: str = "consumption"
    """One of KINDS."""
    engine: str = "duckdb"
    """The engine that answered (`duckdb`, `daft`)."""


RECENT_DAYS = 30
"""What "recently" means for consumers who are told about a change or an incident."""


def record(platform: Platform, rec: UsageRecord, *, audit: list[dict[str, Any]] | None = None) -> int:
    """Append one usage event: the event, its reads and the audit rows of its decisions in one transaction."""
    with platform.store.session() as s:
        event_id = s.execute(
            insert(UsageEvent)
            .values(
                at=rec.at or platform.clock(),
                user_id=rec.user_id,
                interface=rec.interface,
                purpose=rec.purpose,
                fingerprint=rec.fingerprint,
                query_text=rec.query_text,
                rows=rec.rows,
                duration_ms=rec.duration_ms,
                status=rec.status,
                error=rec.error,
                kind=rec.kind,
                engine=rec.engine,
            )
            .returning(UsageEvent.id)
        ).scalar_one()
        if rec.reads:
            s.execute(
                insert(UsageRead),
                [
                    {"event_id": event_id, "dataset_id": d, "columns": cols, "snapshot_id": snap}
                    for d, cols, snap in rec.reads
                ],
            )
        if audit:
            from threshold.store.models import AuditEntry

            for row in audit:
                row["detail"] = {**row.get("detail", {}), "event": int(event_id)}
            s.execute(insert(AuditEntry), audit)
        return int(event_id)


def record_soon(platform: Platform, rec: UsageRecord, *, audit: list[dict[str, Any]] | None = None) -> Pending:
    """As `record`, off the caller's critical path: the event is journalled (one local write) and reaches the
    store in the journal's next batch (`usage.journal`); `.id()` of the result waits for it. Raises when
    the event cannot be journalled."""
    return journal_of(platform).append(rec, audit)


def flush(platform: Platform) -> None:
    """Every usage event recorded so far is in the store (see `usage.journal`)."""
    journal_flush(platform)


def _week(d: datetime) -> str:
    d = d if d.tzinfo else d.replace(tzinfo=UTC)
    monday = (d - timedelta(days=d.weekday())).date()
    return monday.isoformat()


def dataset_usage(platform: Platform, full_name: str, *, viewer: Person | None = None, weeks: int = 12) -> DatasetUsage:
    """Queries, distinct users and their domains, purposes, last use and a weekly series of one dataset.

    Counts per domain and purpose for everyone who may know it; the names of the people who use it only
    for those `dataset.usage.names` allows (its producers, the governance group); a viewer always sees
    their own use. `viewer=None`: the platform itself (everything)."""
    flush(platform)
    ref = known_ref(platform, viewer, full_name)  # kept per metadata version: a page looked it up already
    with platform.store.session() as s:
        names = bool(may(viewer, "dataset.usage.names", ref, platform=platform))
        ok = (
            (UsageRead.dataset_id == ref.id)
            & (UsageEvent.status == "ok")
            & UsageEvent.kind.in_(counted_kinds(platform))
        )
        queries, users, last = s.execute(
            select(func.count(UsageEvent.id), func.count(distinct(UsageEvent.user_id)), func.max(UsageEvent.at))
            .join(UsageRead, UsageRead.event_id == UsageEvent.id)
            .where(ok)
        ).one()
        domains = s.execute(
            select(Domain.name, func.count(distinct(UsageEvent.user_id)), func.count(UsageEvent.id))
            .select_from(UsageEvent)
            .join(UsageRead, UsageRead.event_id == UsageEvent.id)
            .join(Membership, Membership.user_id == UsageEvent.user_id)
            .join(Domain, Domain.id == Membership.domain_id)
            .where(ok)
            .group_by(Domain.name)
            .order_by(func.count(UsageEvent.id).desc())
        ).all()
        purposes = s.execute(
            select(func.coalesce(UsageEvent.purpose, ""), func.count(UsageEvent.id))
            .join(UsageRead, UsageRead.event_id == UsageEvent.id)
            .where(ok)
            .group_by(UsageEvent.purpose)
            .order_by(func.count(UsageEvent.id).desc())
        ).all()
        who = ok if names else ok & (UsageEvent.user_id == (viewer.id if viewer else -1))
        top_users = s.execute(
            select(User.name, func.count(UsageEvent.id))
            .select_from(UsageEvent)
            .join(UsageRead, UsageRead.event_id == UsageEvent.id)
            .join(User, User.id == UsageEvent.user_id)
            .where(who)
            .group_by(User.name)
            .order_by(func.count(UsageEvent.id).desc(), User.name)
            .limit(20)
        ).all()
        since = now_of(s) - timedelta(weeks=weeks)
        rows = s.execute(
            select(UsageEvent.at, UsageEvent.user_id)
            .join(UsageRead, UsageRead.event_id == UsageEvent.id)
            .where(ok & (UsageEvent.at >= since))
        ).all()
        columns = s.execute(select(UsageRead.columns).join(UsageEvent).where(ok)).scalars().all()
        full_name = ref.name
    series: dict[str, dict[str, Any]] = {}
    for at, uid in rows:
        w = series.setdefault(_week(at), {"queries": 0, "users": set()})
        w["queries"] += 1
        w["users"].add(uid)
    col_counts: dict[str, int] = {}
    for cols in columns:
        for c in cols or []:
            col_counts[c] = col_counts.get(c, 0) + 1
    return DatasetUsage(
        dataset=full_name,
        queries=int(queries or 0),
        users=int(users or 0),
        last_used=_iso(last),
        domains=[{"domain": d, "users": int(u), "queries": int(q)} for d, u, q in domains],
        purposes=[{"purpose": p or "(none declared)", "queries": int(n)} for p, n in purposes],
        names_visible=names,
        top_users=[{"user": u, "queries": int(n)} for u, n in top_users],
        columns=[{"column": c, "queries": n} for c, n in sorted(col_counts.items(), key=lambda kv: (-kv[1], kv[0]))],
        weekly=[{"week": w, "queries": v["queries"], "users": len(v["users"])} for w, v in sorted(series.items())],
    )


def org_usage(platform: Platform, *, limit: int = 20, viewer: Person | None = None) -> OrgUsage:
    """Most used datasets and datasets never used (the long tail), from recorded events: of the datasets
    `viewer` may know (`viewer=None`: all); use only (browsing and the platform's own reads are not use,
    see `counted_kinds`)."""
    flush(platform)
    counted = UsageEvent.kind.in_(counted_kinds(platform))
    with platform.store.session() as s:
        used = s.execute(
            select(
                Dataset.full_name,
                func.count(UsageEvent.id),
                func.count(distinct(UsageEvent.user_id)),
                func.max(UsageEvent.at),
            )
            .select_from(Dataset)
            .join(UsageRead, UsageRead.dataset_id == Dataset.id)
            .join(UsageEvent, (UsageEvent.id == UsageRead.event_id) & (UsageEvent.status == "ok") & counted)
            .where(knowable(viewer))
            .group_by(Dataset.full_name)
            .order_by(func.count(UsageEvent.id).desc(), Dataset.full_name)
        ).all()
        all_names = s.execute(
            select(Dataset.full_name, Dataset.created_at).where(knowable(viewer)).order_by(Dataset.full_name)
        ).all()
        totals = s.execute(
            select(func.count(UsageEvent.id), func.count(distinct(UsageEvent.user_id))).where(
                UsageEvent.status == "ok", counted
            )
        ).one()
    used_names = {r[0] for r in used}
    return OrgUsage(
        queries=int(totals[0] or 0),
        users=int(totals[1] or 0),
        most_used=[
            {"dataset": n, "queries": int(q), "users": int(u), "last_used": _iso(last)}
            for n, q, u, last in used[:limit]
        ],
        never_used=[{"dataset": n, "shared_at": _iso(at)} for n, at in all_names if n not in used_names],
    )


def person_usage(platform: Platform, user: str, *, limit: int = 50, viewer: Person | None = None) -> PersonUsage:
    """What one person used: datasets with counts, and their latest queries (stripped text). A person sees
    their own; the governance group and administrators anyone's (`usage.person.read`). Datasets the viewer
    may not know (any more) are left out, and so is the text of a query that read one."""
    flush(platform)
    with platform.store.session() as s:
        uid = s.scalars(select(User.id).where(User.name == user)).one_or_none()
        if viewer is not None and (uid is None or uid != viewer.id):
            require(viewer, "usage.person.read", PersonRef(uid or -1, user))
        if uid is None:
            raise NotFound(f"no user {user[:60]!r}")
        datasets = s.execute(
            select(Dataset.full_name, func.count(UsageEvent.id), func.max(UsageEvent.at))
            .select_from(UsageEvent)
            .join(UsageRead, UsageRead.event_id == UsageEvent.id)
            .join(Dataset, Dataset.id == UsageRead.dataset_id)
            .where((UsageEvent.user_id == uid) & (UsageEvent.status == "ok") & knowable(viewer))
            .group_by(Dataset.full_name)
            .order_by(func.count(UsageEvent.id).desc())
        ).all()
        recent = (
            s.execute(
                select(UsageEvent)
                .where(UsageEvent.user_id == uid)
                .order_by(UsageEvent.at.desc(), UsageEvent.id.desc())
                .limit(limit)
            )
            .scalars()
            .all()
        )
        known = knowable(viewer).label("known")
        reads = s.execute(
            select(UsageRead.event_id, Dataset.full_name, known)
            .join(Dataset, Dataset.id == UsageRead.dataset_id)
            .where(UsageRead.event_id.in_([e.id for e in recent]))
        ).all()
    by_event: dict[int, list[str]] = {}
    hidden_text: set[int] = set()
    for eid, name, may_know in reads:
        if may_know:
            by_event.setdefault(eid, []).append(name)
        else:
            hidden_text.add(eid)
    return PersonUsage(
        user=user,
        datasets=[{"dataset": n, "queries": int(q), "last_used": _iso(at)} for n, q, at in datasets],
        recent=[
            {
                "at": _iso(e.at),
                "interface": e.interface,
                "purpose": e.purpose,
                "status": e.status,
                "rows": e.rows,
                "duration_ms": round(e.duration_ms, 1),
                "query": None if e.id in hidden_text else e.query_text,
                "datasets": sorted(by_event.get(e.id, [])),
            }
            for e in recent
        ],
    )


def recent_consumers(
    s: Session,
    dataset_ids: Iterable[int],
    *,
    columns: dict[int, set[str]] | None = None,
    days: int = RECENT_DAYS,
) -> dict[int, list[dict[str, Any]]]:
    """People who read each dataset (or, when `columns` names some, one of those columns) in the last
    `days` days, most frequent first: [{user, user_id, queries, last_read}]. Only governed reads that
    succeeded count, and only use (not browsing a dataset page); reads by jobs (derivations, checks:
    interface `job`) do not, their owners are told as owners. The one definition of "recent consumers"
    (lineage's impact and schema changes, quality's incidents)."""
    ids = sorted(set(dataset_ids))
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if not ids:
        return out
    since = now_of(s) - timedelta(days=days)
    rows = s.execute(
        select(UsageRead.dataset_id, UsageRead.columns, UsageEvent.user_id, User.name, UsageEvent.at)
        .join(UsageEvent, UsageEvent.id == UsageRead.event_id)
        .join(User, User.id == UsageEvent.user_id)
        .where(UsageRead.dataset_id.in_(ids), UsageEvent.at >= since, UsageEvent.status == "ok")
        .where(UsageEvent.interface != "job", UsageEvent.kind == "consumption")
    )
    tally: dict[tuple[int, int], dict[str, Any]] = {}
    for ds_id, cols, user_id, name, at in rows:
        wanted = (columns or {}).get(ds_id)
        if wanted and not wanted & set(cols or []):
            continue
        entry = tally.setdefault((ds_id, user_id), {"user": name, "user_id": user_id, "queries": 0, "last_read": at})
        entry["queries"] += 1
        entry["last_read"] = max(entry["last_read"], at, key=_aware)
    for (ds_id, _), entry in tally.items():
        entry["last_read"] = _aware(entry["last_read"]).isoformat(timespec="seconds")
        out[ds_id].append(entry)
    for entries in out.values():
        entries.sort(key=lambda e: (-e["queries"], e["user"]))
    return out


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def _iso(d: datetime | None) -> str | None:
    if d is None:
        return None
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).isoformat(timespec="seconds")
