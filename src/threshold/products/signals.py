"""Each dataset's consumption signals over a window: people, outside domains, repeat use, purposes,
recurring questions, refused reads; and, all time, how many people ever read it and when last.

`compute` aggregates them from the weekly rollups for any window. For the settings' window they are
also kept in `usage_signals`, updated by every rollup refresh for the datasets its new events touched
(and recomputed whole when the window moves into a new week or a setting changes), so that the
candidates, the producer view and the long tail read one small row per dataset.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Text, case, delete, func, insert, select, type_coerce
from sqlalchemy.orm import Session

from threshold.platform import Platform
from threshold.products.lookup import as_consumer
from threshold.products.models import UsageQuestionSummary, UsageSignals, UsageWeekly
from threshold.store.models import Dataset, Domain, Membership

W = UsageWeekly
CHUNK = 500


@dataclass
class Values:
    people: int = 0
    outside_people: int = 0
    domains: set[str] = field(default_factory=set)
    repeat: int = 0
    questions: int = 0
    purposes: set[str] = field(default_factory=set)
    denied_people: int = 0
    queries: int = 0
    people_ever: int = 0
    last_at: datetime | None = None
    by_domain: dict[str, list[int]] = field(default_factory=dict)
    by_purpose: dict[str, list[int]] = field(default_factory=dict)
    top: list[list[int]] = field(default_factory=list)


def window_since(platform: Platform, weeks: int | None = None, today: date | None = None) -> date:
    from threshold.products.lookup import monday

    n = platform.settings.products.window_weeks if weeks is None else weeks
    this = monday(today or platform.clock().date())
    return date(1970, 1, 5) if n == 0 else this - timedelta(weeks=n - 1)


def key(platform: Platform) -> str:
    """What the stored signals depend on: the window's first week and the settings that shape them."""
    p = platform.settings.products
    text = f"{window_since(platform)}|{p.repeat_weeks}|{p.recurring_people}|v1"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def compute(s: Session, platform: Platform, since: date, ids: list[int] | None = None) -> dict[int, Values]:
    """Signals of the datasets `ids` (all used ones when None) over the weeks from `since`."""
    settings = platform.settings.products
    conn = s.connection()
    since_at = datetime.combine(since, datetime.min.time(), UTC)
    owner = dict(conn.execute(select(Dataset.id, Domain.name).join(Domain, Domain.id == Dataset.domain_id)).all())
    members: dict[int, tuple[str, ...]] = defaultdict(tuple)
    for uid, name in conn.execute(
        select(Membership.user_id, Domain.name).join(Domain, Domain.id == Membership.domain_id)
    ):
        members[uid] = (*members[uid], name)
    out: dict[int, Values] = {}

    def chunks() -> Any:
        if ids is None:
            yield None
        else:
            for i in range(0, len(ids), CHUNK):
                yield ids[i : i + CHUNK]

    for chunk in chunks():
        only = _only(chunk)
        for d, uid, weeks, queries, denied in conn.execute(
            select(
                W.dataset_id,
                W.user_id,
                func.count(func.distinct(case((W.queries > 0, W.week)))),
                func.sum(W.queries),
                func.sum(W.denied),
            )
            .where(W.week >= since, only(W.dataset_id))
            .group_by(W.dataset_id, W.user_id)
        ):
            v = out.setdefault(d, Values())
            if queries:
                v.people += 1
                v.queries += int(queries)
                mine = members.get(uid, ())
                if owner.get(d) not in mine:
                    v.outside_people += 1
                    v.domains.update(mine)
                for dom in as_consumer(mine, owner.get(d, "")):
                    acc = v.by_domain.setdefault(dom, [0, 0])
                    acc[0] += 1
                    acc[1] += int(queries)
                v.top.append([int(uid), int(queries)])
                if weeks >= settings.repeat_weeks:
                    v.repeat += 1
            elif denied:
                v.denied_people += 1
        for d, purpose, people, queries in conn.execute(
            select(W.dataset_id, W.purpose, func.count(func.distinct(W.user_id)), func.sum(W.queries))
            .where(W.week >= since, W.queries > 0, only(W.dataset_id))
            .group_by(W.dataset_id, W.purpose)
        ):
            v = out.setdefault(d, Values())
            v.by_purpose[purpose or ""] = [int(people), int(queries or 0)]
            if purpose:
                v.purposes.add(purpose)
        Q = UsageQuestionSummary
        for d, n in conn.execute(
            select(Q.dataset_id, func.count())
            .where(
                Q.last_at >= since_at, Q.browse.is_(False), Q.people >= settings.recurring_people, only(Q.dataset_id)
            )
            .group_by(Q.dataset_id)
        ):
            out.setdefault(d, Values()).questions = int(n)
        for d, people, last in conn.execute(
            select(
                W.dataset_id,
                func.count(func.distinct(case((W.queries > 0, W.user_id)))),
                func.max(case((W.queries > 0, W.last_at))),
            )
            .where(only(W.dataset_id))
            .group_by(W.dataset_id)
        ):
            v = out.setdefault(d, Values())
            v.people_ever, v.last_at = int(people), last
    for v in out.values():
        v.top = sorted(v.top, key=lambda t: (-t[1], t[0]))[:5]
    return out


def _only(chunk: list[int] | None) -> Any:
    """A filter on a dataset id column: these datasets, or every one."""
    return (lambda col: col.in_(chunk)) if chunk is not None else (lambda col: col.is_not(None))


def store(s: Session, platform: Platform, ids: set[int] | None) -> None:
    """Recompute the stored signals of `ids` (None: every dataset) for the settings' window."""
    since = window_since(platform)
    wanted = sorted(ids) if ids is not None else None
    if wanted is not None and not wanted:
        return
    values = compute(s, platform, since, wanted)
    if wanted is None:
        s.execute(delete(UsageSignals))
    else:
        for i in range(0, len(wanted), CHUNK):
            s.execute(delete(UsageSignals).where(UsageSignals.dataset_id.in_(wanted[i : i + CHUNK])))
    rows = [
        {
            "dataset_id": d,
            "since": since,
            "people": v.people,
            "outside_people": v.outside_people,
            "domains": sorted(v.domains),
            "repeat": v.repeat,
            "questions": v.questions,
            "purposes": sorted(v.purposes),
            "denied_people": v.denied_people,
            "queries": v.queries,
            "people_ever": v.people_ever,
            "last_at": v.last_at,
            "by_domain": v.by_domain,
            "by_purpose": v.by_purpose,
            "top": v.top,
        }
        for d, v in values.items()
    ]
    conn = s.connection()
    for i in range(0, len(rows), 5000):
        conn.execute(insert(UsageSignals), rows[i : i + 5000])


def stored(s: Session, ids: list[int] | None = None, *, detail: bool = False) -> dict[int, Values]:
    """The stored signals (of `ids`, or all); `detail` adds the per domain / purpose / top reader figures."""
    S = UsageSignals
    text = [type_coerce(c, Text) for c in (S.domains, S.purposes)]
    more = [type_coerce(c, Text) for c in (S.by_domain, S.by_purpose, S.top)] if detail else []
    q = select(
        S.dataset_id,
        S.people,
        S.outside_people,
        S.repeat,
        S.questions,
        S.denied_people,
        S.queries,
        S.people_ever,
        S.last_at,
        *text,
        *more,
    )
    out = {}
    chunks = [None] if ids is None else [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]
    for chunk in chunks:
        for r in s.connection().execute(q.where(_only(chunk)(S.dataset_id))):
            v = Values(r[1], r[2], set(_json(r[9])), r[3], r[4], set(_json(r[10])), r[5], r[6], r[7], r[8])
            if detail:
                v.by_domain, v.by_purpose, v.top = _json(r[11]) or {}, _json(r[12]) or {}, _json(r[13]) or []
            out[r[0]] = v
    return out


def _json(value: Any) -> Any:
    """JSON text as stored (or already decoded by the driver, as psycopg does)."""
    if value is None:
        return None
    return json.loads(value) if isinstance(value, str) else value
