"""Rollups of the usage log: what the consumption views read instead of millions of raw events.

They are derived data, never typed in. `refresh()` counts the events recorded since the last
refresh (the *watermark*), so recording a usage event costs nothing more in the gateway and a view
pays only for what is new. A database trigger (migration 0005) marks the rollups dirty when an
event they already counted is changed or deleted (the demo and tests move events back in time);
the next refresh then rebuilds them from the whole log, as it does when the settings they depend
on change. Refreshes take the state row's lock first, so two processes never count an event twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import combinations, groupby
from typing import Any

from sqlalchemy import Table, Text, case, delete, func, select, type_coerce, update
from sqlalchemy.orm import Session

from threshold.platform import Platform
from threshold.products.lookup import monday
from threshold.products.models import (
    RollupState,
    UsageColumn,
    UsageDatasetWeekly,
    UsageDomainWeekly,
    UsagePair,
    UsageQuestion,
    UsageQuestionSummary,
    UsageSignals,
    UsageWeekly,
)
from threshold.store.db import now_of
from threshold.store.models import Dataset, UsageEvent, UsageRead
from threshold.usage.service import counted_kinds

CHUNK_EVENTS = 200_000
"""Events counted per transaction: a rebuild of a large log commits as it goes."""
_BROWSE = re.compile(r"^select \* from [a-z0-9_\"]+\.[a-z0-9_\"]+( as [a-z0-9_\"]+)? limit \?$")


def aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _settings_key(platform: Platform) -> str:
    p = platform.settings.products
    text = f"{p.session_minutes}|{counted_kinds(platform)}|v2"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def refresh(platform: Platform) -> int:
    """Bring the rollups up to date with the usage log; returns how many events were counted."""
    key = _settings_key(platform)
    with platform.store.session() as s:
        state = s.get(RollupState, 1)
        top = int(s.scalar(select(func.max(UsageEvent.id))) or 0)
        fresh = state is not None and not state.dirty and state.settings_key == key and state.watermark == top
        if fresh and state is not None and state.signals_key == _signals_key(platform):
            return 0  # the common case: nothing new, no write, no lock
    counted = 0
    while True:
        with platform.store.session() as s:
            state = lock_state(s)
            top = int(s.scalar(select(func.max(UsageEvent.id))) or 0)
            if state.dirty or state.settings_key != key or state.watermark > top:
                _clear(s, state, key)
            if state.watermark >= top:
                _signals(s, platform, state, None)
                return counted
            upto = min(top, _nth_event_after(s, state.watermark, CHUNK_EVENTS))
            n, touched = _count(s, platform, after=state.watermark, upto=upto)
            counted += n
            _signals(s, platform, state, touched)  # in the same transaction as the counts they follow
            state.watermark = upto
            state.updated_at = platform.clock()


def _signals(s: Session, platform: Platform, state: RollupState, touched: set[int] | None) -> None:
    """Keep `usage_signals` current. Recomputed whole for a new window or new settings (or after a rebuild,
    once the whole log is counted: `touched` is None then); otherwise only for the datasets just touched."""
    from threshold.products import signals

    key = signals.key(platform)
    if state.signals_key == key:
        if touched:
            signals.store(s, platform, touched)
    elif touched is None:
        signals.store(s, platform, None)
        state.signals_key = key


def _signals_key(platform: Platform) -> str:
    from threshold.products import signals

    return signals.key(platform)


def rebuild(platform: Platform) -> int:
    """Count the whole usage log again (after changing history by hand, or to check the rollups)."""
    with platform.store.session() as s:
        _clear(s, lock_state(s), _settings_key(platform))
    return refresh(platform)


def lock_state(s: Session) -> RollupState:
    """The state row, locked for this transaction (written first: SQLite then holds the write lock)."""
    touched = getattr(s.execute(update(RollupState).where(RollupState.id == 1).values(id=1)), "rowcount", 0)
    if not touched:
        s.add(RollupState(id=1, watermark=0, dirty=False, settings_key=""))
        s.flush()
    state = s.get(RollupState, 1, populate_existing=True)
    assert state is not None
    return state


def _clear(s: Session, state: RollupState, key: str) -> None:
    if state.watermark or state.dirty:
        state.rebuilt_at = now_of(s)  # a real rebuild (the first count is not one)
    for model in (
        UsageWeekly,
        UsageQuestion,
        UsageQuestionSummary,
        UsageColumn,
        UsagePair,
        UsageDatasetWeekly,
        UsageDomainWeekly,
        UsageSignals,
    ):
        s.execute(delete(model))
    state.signals_key = ""
    state.watermark = 0
    state.dirty = False
    state.settings_key = key


def _nth_event_after(s: Session, after: int, n: int) -> int:
    found = s.scalar(select(UsageEvent.id).where(UsageEvent.id > after).order_by(UsageEvent.id).offset(n - 1).limit(1))
    return int(found) if found is not None else 2**62


@dataclass
class _Event:
    id: int
    at: datetime
    user_id: int
    purpose: str
    fingerprint: str
    status: str
    reads: list[tuple[int, list[str]]] = field(default_factory=list)


@dataclass
class _Sums:
    weekly: dict[tuple[int, int, date, str], list[Any]] = field(default_factory=dict)
    questions: dict[tuple[int, str, int], list[Any]] = field(default_factory=dict)
    columns: dict[tuple[int, str, int], list[Any]] = field(default_factory=dict)
    pairs: dict[tuple[int, int, int], list[Any]] = field(default_factory=dict)


def _events(rows: Iterable[tuple[Any, ...]], columns: _Columns) -> Iterator[_Event]:
    """Rows (event id, at, user, purpose, fingerprint, status, dataset, columns), sorted by user, time and
    id, folded into events."""
    for _eid, group in groupby(rows, key=lambda r: r[0]):
        items = list(group)
        eid, at, user_id, purpose, fingerprint, status = items[0][:6]
        purpose = (purpose or "").strip()
        reads = [(r[6], columns(r[7])) for r in items]
        yield _Event(eid, aware(at), user_id, purpose, fingerprint or "", status, reads)


class _Columns:
    """Columns read, decoded once per distinct JSON text (most reads repeat a handful of lists)."""

    def __init__(self) -> None:
        self.cache: dict[str, list[str]] = {}

    def __call__(self, value: Any) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, str):
            return [str(c) for c in value]
        found = self.cache.get(value)
        if found is None:
            found = self.cache[value] = [str(c) for c in json.loads(value)]
        return found


def _fetch(s: Session, kinds: tuple[str, ...], *where: Any) -> list[tuple[Any, ...]]:
    """(event x read) rows of the counted `kinds` matching `where`, sorted by user, time and event id
    (sorted here: the range is read by primary key, which is cheap however large the log)."""
    q = (
        select(
            UsageEvent.id,
            UsageEvent.at,
            UsageEvent.user_id,
            UsageEvent.purpose,
            UsageEvent.fingerprint,
            UsageEvent.status,
            UsageRead.dataset_id,
            type_coerce(UsageRead.columns, Text),
        )
        .join(UsageRead, UsageRead.event_id == UsageEvent.id)
        .where(UsageEvent.user_id.is_not(None), UsageEvent.kind.in_(kinds), *where)
    )
    rows: list[tuple[Any, ...]] = [tuple(r) for r in s.connection().execute(q)]
    rows.sort(key=lambda r: (r[2], aware(r[1]), r[0]))
    return rows


def _count(s: Session, platform: Platform, *, after: int, upto: int) -> tuple[int, set[int]]:
    """Add the events in (after, upto] to the rollups; returns how many and the datasets they read."""
    settings = platform.settings.products
    kinds = counted_kinds(platform)
    gap = timedelta(minutes=settings.session_minutes)
    rows = _fetch(s, kinds, UsageEvent.id > after, UsageEvent.id <= upto, UsageEvent.status.in_(("ok", "denied")))
    if not rows:
        return 0, set()
    domain_of = dict(s.connection().execute(select(Dataset.id, Dataset.domain_id)).all())
    columns = _Columns()
    context = _context(s, after, rows, gap, kinds, columns)
    sums = _Sums()
    events = 0
    for user_id, user_rows in groupby(rows, key=lambda r: r[2]):
        recent: deque[tuple[datetime, frozenset[int]]] = deque(context.get(user_id, ()))
        for e in _events(user_rows, columns):
            events += 1
            _add(sums, e, domain_of, recent, gap)
    _flush(s, sums)
    return events, {d for d, _u, _w, _p in sums.weekly}


def _context(
    s: Session, after: int, rows: Sequence[tuple[Any, ...]], gap: timedelta, kinds: tuple[str, ...], columns: _Columns
) -> dict[int, list[Any]]:
    """Per person, the datasets they read shortly before the first new event (sessions span refreshes)."""
    if after == 0:
        return {}
    first: dict[int, datetime] = {}
    for r in rows:
        first.setdefault(r[2], aware(r[1]))
    since = min(first.values()) - gap
    out: dict[int, list[Any]] = defaultdict(list)
    users = sorted(first)
    for i in range(0, len(users), 500):
        old = _fetch(
            s,
            kinds,
            UsageEvent.id <= after,
            UsageEvent.at >= since,
            UsageEvent.user_id.in_(users[i : i + 500]),
            UsageEvent.status == "ok",
        )
        for e in _events(old, columns):
            if first[e.user_id] - gap <= e.at <= first[e.user_id]:
                out[e.user_id].append((e.at, frozenset(d for d, _ in e.reads)))
    return out


def _add(sums: _Sums, e: _Event, domain_of: dict[int, int], recent: deque[Any], gap: timedelta) -> None:
    week = monday(e.at)
    ok = e.status == "ok"
    for dataset_id, columns in e.reads:
        if dataset_id not in domain_of:
            continue  # deleted since
        w = sums.weekly.setdefault((dataset_id, e.user_id, week, e.purpose[:200]), [0, 0, e.at, domain_of[dataset_id]])
        w[0 if ok else 1] += 1
        w[2] = max(w[2], e.at)
        if not ok:
            continue
        if e.fingerprint:
            q = sums.questions.setdefault((dataset_id, e.fingerprint, e.user_id), [0, e.at, e.at])
            q[0] += 1
            q[1], q[2] = min(q[1], e.at), max(q[2], e.at)
        for c in dict.fromkeys(str(c)[:127] for c in columns):
            col = sums.columns.setdefault((dataset_id, c, e.user_id), [0, e.at])
            col[0] += 1
            col[1] = max(col[1], e.at)
    if not ok:
        return
    mine = frozenset(d for d, _ in e.reads if d in domain_of)
    while recent and e.at - recent[0][0] > gap:
        recent.popleft()
    before = frozenset().union(*(ds for _, ds in recent)) - mine if recent else frozenset()
    for a, b in combinations(sorted(mine), 2):
        _pair(sums, a, b, e, in_query=True)
    for a in mine:
        for b in before:
            _pair(sums, min(a, b), max(a, b), e, in_query=False)
    recent.append((e.at, mine))


def _pair(sums: _Sums, a: int, b: int, e: _Event, *, in_query: bool) -> None:
    p = sums.pairs.setdefault((a, b, e.user_id), [0, 0, e.at])
    p[0 if in_query else 1] += 1
    p[2] = max(p[2], e.at)


def _flush(s: Session, sums: _Sums) -> None:
    pg = s.get_bind().dialect.name == "postgresql"
    weekly = [
        {
            "dataset_id": d,
            "user_id": u,
            "week": w,
            "purpose": p,
            "queries": v[0],
            "denied": v[1],
            "last_at": v[2],
            "domain_id": v[3],
        }
        for (d, u, w, p), v in sums.weekly.items()
    ]
    _upsert(
        s,
        _table(UsageWeekly),
        weekly,
        ["dataset_id", "user_id", "week", "purpose"],  # type: ignore[arg-type]
        add=["queries", "denied"],
        greatest=["last_at"],
        pg=pg,
    )
    by_user_domain: dict[tuple[int, int, date], int] = defaultdict(int)
    for (_d, u, w, _p), v in sums.weekly.items():
        if v[0]:
            by_user_domain[(u, v[3], w)] += v[0]
    _upsert(
        s,
        _table(UsageDomainWeekly),
        [{"user_id": u, "domain_id": dom, "week": w, "queries": n} for (u, dom, w), n in by_user_domain.items()],
        ["user_id", "domain_id", "week"],
        add=["queries"],
        pg=pg,
    )
    _dataset_weeks(s, {(d, w) for d, _u, w, _p in sums.weekly}, pg)
    browse = _browse_fingerprints(s, {fp for _, fp, _ in sums.questions})
    questions = [
        {
            "dataset_id": d,
            "fingerprint": fp,
            "user_id": u,
            "queries": v[0],
            "first_at": v[1],
            "last_at": v[2],
            "browse": fp in browse,
        }
        for (d, fp, u), v in sums.questions.items()
    ]
    _upsert(
        s,
        _table(UsageQuestion),
        questions,
        ["dataset_id", "fingerprint", "user_id"],  # type: ignore[arg-type]
        add=["queries"],
        greatest=["last_at"],
        least=["first_at"],
        pg=pg,
    )
    _question_summaries(s, sums, browse, pg)
    columns = [
        {"dataset_id": d, "column": c, "user_id": u, "queries": v[0], "last_at": v[1]}
        for (d, c, u), v in sums.columns.items()
    ]
    _upsert(
        s,
        _table(UsageColumn),
        columns,
        ["dataset_id", "column", "user_id"],  # type: ignore[arg-type]
        add=["queries"],
        greatest=["last_at"],
        pg=pg,
    )
    pairs = [
        {"dataset_a": a, "dataset_b": b, "user_id": u, "in_query": v[0], "in_session": v[1], "last_at": v[2]}
        for (a, b, u), v in sums.pairs.items()
    ]
    _upsert(
        s,
        _table(UsagePair),
        pairs,
        ["dataset_a", "dataset_b", "user_id"],  # type: ignore[arg-type]
        add=["in_query", "in_session"],
        greatest=["last_at"],
        pg=pg,
    )


def _dataset_weeks(s: Session, touched: set[tuple[int, date]], pg: bool) -> None:
    """Recount the touched (dataset, week) totals from the weekly rows (people and domains are distinct
    counts, not additive)."""
    from threshold.products.lookup import with_consumer_domain

    by_week: dict[date, list[int]] = defaultdict(list)
    for d, w in touched:
        by_week[w].append(d)
    conn = s.connection()
    W = UsageWeekly
    for week, ids in by_week.items():
        ids.sort()
        for i in range(0, len(ids), 500):
            mine = (W.week == week) & W.dataset_id.in_(ids[i : i + 500])
            rows = conn.execute(
                select(
                    W.dataset_id,
                    func.sum(W.queries),
                    func.sum(W.denied),
                    func.count(func.distinct(case((W.queries > 0, W.user_id)))),
                )
                .where(mine)
                .group_by(W.dataset_id)
            ).all()
            q, consumer = with_consumer_domain(select(W.dataset_id), W.user_id, W.domain_id)
            domains = dict(
                conn.execute(
                    q.add_columns(func.count(func.distinct(consumer))).where(mine, W.queries > 0).group_by(W.dataset_id)
                ).all()
            )
            _upsert(
                s,
                _table(UsageDatasetWeekly),
                [
                    {
                        "dataset_id": d,
                        "week": week,
                        "queries": int(q or 0),
                        "denied": int(n or 0),
                        "people": int(p),
                        "domains": int(domains.get(d, 0)),
                    }
                    for d, q, n, p in rows
                ],
                ["dataset_id", "week"],
                replace=["queries", "denied", "people", "domains"],
                pg=pg,
            )


def _question_summaries(s: Session, sums: _Sums, browse: set[str], pg: bool) -> None:
    """Recount the touched questions' people and reads; the first asker moves only to an earlier asking."""
    S, Q = UsageQuestionSummary, UsageQuestion
    first: dict[tuple[int, str], tuple[datetime, int]] = {}
    for (d, fp, u), v in sums.questions.items():
        if (d, fp) not in first or (v[1], u) < first[(d, fp)]:
            first[(d, fp)] = (v[1], u)
    conn = s.connection()
    rows: list[dict[str, Any]] = []
    for pairs in _batches(sorted(first), 500):
        ids = sorted({d for d, _ in pairs})
        fps = sorted({fp for _, fp in pairs})
        wanted = set(pairs)
        known: dict[tuple[int, str], tuple[datetime, int | None]] = {
            (d, fp): (aware(at), uid)
            for d, fp, at, uid in conn.execute(
                select(S.dataset_id, S.fingerprint, S.first_at, S.first_user_id).where(
                    S.dataset_id.in_(ids), S.fingerprint.in_(fps)
                )
            )
        }
        for d, fp, people, queries, first_at, last_at in conn.execute(
            select(
                Q.dataset_id,
                Q.fingerprint,
                func.count(Q.user_id),
                func.sum(Q.queries),
                func.min(Q.first_at),
                func.max(Q.last_at),
            )
            .where(Q.dataset_id.in_(ids), Q.fingerprint.in_(fps))
            .group_by(Q.dataset_id, Q.fingerprint)
        ):
            if (d, fp) not in wanted:
                continue
            at, uid = first[(d, fp)]
            asker: int | None = uid
            old = known.get((d, fp))
            if old is not None and old[0] <= aware(at):
                at, asker = old
            rows.append(
                {
                    "dataset_id": d,
                    "fingerprint": fp,
                    "people": int(people),
                    "queries": int(queries or 0),
                    "browse": fp in browse,
                    "first_at": first_at,
                    "first_user_id": asker,
                    "last_at": last_at,
                }
            )
    _upsert(
        s,
        _table(S),
        rows,
        ["dataset_id", "fingerprint"],
        replace=["people", "queries", "browse", "first_at", "first_user_id", "last_at"],
        pg=pg,
    )


def _batches(pairs: list[tuple[int, str]], size: int) -> Iterator[list[tuple[int, str]]]:
    """(dataset, fingerprint) pairs in batches whose datasets and fingerprints each number at most `size`."""
    batch: list[tuple[int, str]] = []
    ids: set[int] = set()
    fps: set[str] = set()
    for d, fp in pairs:
        if batch and ((d not in ids and len(ids) >= size) or (fp not in fps and len(fps) >= size)):
            yield batch
            batch, ids, fps = [], set(), set()
        batch.append((d, fp))
        ids.add(d)
        fps.add(fp)
    if batch:
        yield batch


def _browse_fingerprints(s: Session, fingerprints: set[str]) -> set[str]:
    """Fingerprints whose text only looks at a dataset (`SELECT * FROM x LIMIT ?`); one sample text each."""
    known: dict[str, bool] = {}
    wanted = sorted(fingerprints)
    conn = s.connection()
    for i in range(0, len(wanted), 500):
        q = select(UsageQuestion.fingerprint, UsageQuestion.browse).where(
            UsageQuestion.fingerprint.in_(wanted[i : i + 500])
        )
        known.update(conn.execute(q.distinct()).all())
    unknown = [fp for fp in wanted if fp not in known]
    for i in range(0, len(unknown), 500):
        first = (
            select(func.min(UsageEvent.id))
            .where(UsageEvent.fingerprint.in_(unknown[i : i + 500]))
            .group_by(UsageEvent.fingerprint)
        )
        for fp, text in conn.execute(
            select(UsageEvent.fingerprint, UsageEvent.query_text).where(UsageEvent.id.in_(first))
        ):
            known[fp] = bool(_BROWSE.match(" ".join((text or "").lower().split())))
    return {fp for fp in fingerprints if known.get(fp)}


def _table(model: Any) -> Table:
    return model.__table__  # type: ignore[no-any-return]


def _upsert(
    s: Session,
    table: Table,
    rows: list[dict[str, Any]],
    keys: list[str],
    *,
    add: list[str] = (),  # type: ignore[assignment]
    greatest: list[str] = (),  # type: ignore[assignment]
    least: list[str] = (),  # type: ignore[assignment]
    replace: list[str] = (),  # type: ignore[assignment]
    pg: bool,
) -> None:
    """INSERT ... ON CONFLICT DO UPDATE: counts add up, times keep the latest (or earliest)."""
    if not rows:
        return
    if pg:
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table)
        hi: Any = func.greatest
        lo: Any = func.least
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table)
        hi, lo = func.max, func.min  # SQLite's two-argument max/min are scalar functions
    ex = stmt.excluded
    values: dict[str, Any] = {c: table.c[c] + ex[c] for c in add}
    values |= {c: hi(table.c[c], ex[c]) for c in greatest}
    values |= {c: lo(table.c[c], ex[c]) for c in least}
    values |= {c: ex[c] for c in replace}
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_=values)
    conn = s.connection()
    for i in range(0, len(rows), 5000):
        conn.execute(stmt, rows[i : i + 5000])
