"""Consumption patterns of one dataset: who uses it, from which domains, why, how often, with what.

Every figure comes from the usage rollups (`rollup.py`), themselves counted from the gateway's
usage events, and is aggregated in the database (a popular dataset has rollup rows for thousands of
people and weeks). Names of consumers are shown only to viewers who may see them (`visibility.py`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from threshold.access import knowable
from threshold.access.privacy import HIDDEN, Sight, sight, sights
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.products import dependents, rollup, signals
from threshold.products.consumer_results import (
    AskedQuestion,
    ConsumedColumn,
    Consumer,
    ConsumerWeek,
    DatasetConsumers,
    PurposeUse,
    UsedTogether,
    YourUse,
)
from threshold.products.lookup import (
    NO_DOMAIN,
    DatasetRef,
    Window,
    as_consumer,
    dataset_ref,
    domain_names,
    iso,
    memberships,
    user_names,
    with_consumer_domain,
)
from threshold.products.models import UsageColumn, UsageDatasetWeekly, UsagePair, UsageQuestionSummary, UsageWeekly
from threshold.products.producer_results import ConsumerDomain
from threshold.store.db import now_of
from threshold.store.models import Dataset, Grant, UsageEvent, UsageRead

W = UsageWeekly


def dataset_consumers(
    platform: Platform, full_name: str, *, viewer: Person | None = None, weeks: int | None = None
) -> DatasetConsumers:
    """Everything the usage record says about one dataset's consumers over the window."""
    rollup.refresh(platform)
    window = Window.of(platform, weeks)
    settings = platform.settings.products
    since_at = datetime.combine(window.since, datetime.min.time(), UTC)
    with platform.store.session() as s:
        ref = dataset_ref(s, full_name, viewer)
        seen = sight(s, viewer, ref.id, platform=platform)
        conn = s.connection()
        mine = (W.dataset_id == ref.id) & (W.week >= window.since)
        fast = window.since == signals.window_since(platform) and bool(window.weeks)
        stored = signals.stored(s, [ref.id], detail=True).get(ref.id, signals.Values()) if fast else None
        per_person: Any = []
        per_purpose: Any = []
        if not fast or seen.names or viewer is not None:
            only = mine if not fast or seen.names else mine & (W.user_id == viewer.id)  # type: ignore[union-attr]
            per_person = conn.execute(
                select(
                    W.user_id,
                    func.sum(W.queries),
                    func.sum(W.denied),
                    func.count(func.distinct(case((W.queries > 0, W.week)))),
                    func.max(W.last_at),
                )
                .where(only)
                .group_by(W.user_id)
            ).all()
            per_purpose = conn.execute(
                select(W.user_id, W.purpose, func.sum(W.queries))
                .where(only, W.queries > 0)
                .group_by(W.user_id, W.purpose)
            ).all()
        if fast:
            T = UsageDatasetWeekly
            weekly = conn.execute(
                select(T.week, T.queries, T.denied, T.people).where(T.dataset_id == ref.id, T.week >= window.since)
            ).all()
            week_domains = dict(
                conn.execute(select(T.week, T.domains).where(T.dataset_id == ref.id, T.week >= window.since)).all()
            )
        else:
            weekly = conn.execute(
                select(
                    W.week,
                    func.sum(W.queries),
                    func.sum(W.denied),
                    func.count(func.distinct(case((W.queries > 0, W.user_id)))),
                )
                .where(mine)
                .group_by(W.week)
            ).all()
            q, consumer = with_consumer_domain(select(W.week), W.user_id, ref.domain_id)
            week_domains = dict(
                conn.execute(
                    q.add_columns(func.count(func.distinct(consumer))).where(mine, W.queries > 0).group_by(W.week)
                ).all()
            )
        domains_of = memberships(s)
        granted = conn.execute(
            select(Grant.user_id, Grant.purposes).where(
                Grant.dataset_id == ref.id,
                Grant.revoked_at.is_(None),
                or_(Grant.expires_at.is_(None), Grant.expires_at > now_of(s)),
            )
        ).all()
        questions = _questions(s, viewer, ref.id, since_at, settings.recurring_people)
        together = _together(s, platform, viewer, ref.id, since_at)
        columns = _columns(s, ref, since_at)
        firsts = {q["_first"] for q in questions if q["_first"] is not None}
        names = user_names(s, {r[0] for r in per_person} | {u for u, _ in granted} | firsts) if seen.names else {}
    people = _people(per_person, per_purpose, domains_of, settings.repeat_weeks)
    if stored is not None:
        totals = _stored_totals(stored, sum(int(r[2] or 0) for r in weekly), settings.repeat_weeks)
        by_domain = _domains_list(stored.by_domain, ref.domain)
        declared = {p: (int(v[0]), int(v[1])) for p, v in stored.by_purpose.items()}
    else:
        totals = _totals(people, ref, settings.repeat_weeks)
        by_domain = _by_domain(people, ref.domain)
        declared = _declared(per_purpose)
    return DatasetConsumers(
        dataset=ref.full_name,
        domain=ref.domain,
        stage=ref.stage,
        visibility=ref.visibility,
        window=window.as_dict(),
        names_visible=seen.names,
        note=seen.why,
        **totals,
        domains=by_domain,
        purposes=_purposes(declared, granted),
        weekly=_weekly(weekly, week_domains, window),
        questions=_question_list(questions, names, seen),
        together=together,
        columns=columns,
        downstream=dependents.downstream(platform, ref.full_name, viewer=viewer).as_dict(),
        consumers=_people_list(people, names) if seen.names else None,
        you=_yours(people, viewer),
    )


def column_use(
    platform: Platform, full_name: str, *, viewer: Person | None = None, weeks: int | None = None
) -> tuple[DatasetRef, list[ConsumedColumn]]:
    """How each of a dataset's columns is read over the window: `dataset_consumers`' `columns`, without the
    rest of its figures (for a question about one column)."""
    rollup.refresh(platform)
    window = Window.of(platform, weeks)
    since_at = datetime.combine(window.since, datetime.min.time(), UTC)
    with platform.store.session() as s:
        ref = dataset_ref(s, full_name, viewer)
        return ref, _columns(s, ref, since_at)


def _stored_totals(v: Any, denied: int, repeat_weeks: int) -> dict[str, Any]:
    return {
        "queries": v.queries,
        "people": v.people,
        "people_outside": v.outside_people,
        "consumer_domains": len(v.domains - {NO_DOMAIN}),
        "repeat_people": v.repeat,
        "repeat_weeks": repeat_weeks,
        "denied": denied,
        "denied_people": v.denied_people,
        "last_used": iso(v.last_at),
    }


def _domains_list(by_domain: dict[str, Any], owner: str) -> list[ConsumerDomain]:
    return [
        ConsumerDomain(domain=d, people=int(v[0]), queries=int(v[1]), outside=d != owner)
        for d, v in sorted(by_domain.items(), key=lambda kv: (-kv[1][1], kv[0]))
    ]


def _declared(per_purpose: Any) -> dict[str, tuple[int, int]]:
    acc: dict[str, list[Any]] = defaultdict(lambda: [set(), 0])
    for uid, purpose, n in per_purpose:
        acc[purpose or ""][0].add(uid)
        acc[purpose or ""][1] += int(n)
    return {p: (len(v[0]), v[1]) for p, v in acc.items()}


def _people(per_person: Any, per_purpose: Any, domains_of: dict[int, tuple[str, ...]], repeat: int) -> dict[int, Any]:
    people: dict[int, dict[str, Any]] = {}
    for uid, queries, denied, weeks, last_at in per_person:
        people[uid] = {
            "queries": int(queries or 0),
            "denied": int(denied or 0),
            "weeks": int(weeks or 0),
            "purposes": set(),
            "last_at": last_at,
            "domains": domains_of.get(uid, ()),
            "repeat": int(weeks or 0) >= repeat,
        }
    for uid, purpose, _n in per_purpose:
        if purpose and uid in people:
            people[uid]["purposes"].add(purpose)
    return people


def _totals(people: dict[int, dict[str, Any]], ref: DatasetRef, repeat_weeks: int) -> dict[str, Any]:
    users = [p for p in people.values() if p["queries"]]
    outside = [p for p in users if ref.domain not in p["domains"]]
    last = max((p["last_at"] for p in users), default=None)
    consumer_domains = {d for p in users for d in as_consumer(p["domains"], ref.domain)} - {ref.domain, NO_DOMAIN}
    return {
        "queries": sum(p["queries"] for p in users),
        "people": len(users),
        "people_outside": len(outside),
        "consumer_domains": len(consumer_domains),
        "repeat_people": sum(1 for p in users if p["repeat"]),
        "repeat_weeks": repeat_weeks,
        "denied": sum(p["denied"] for p in people.values()),
        "denied_people": sum(1 for p in people.values() if p["denied"] and not p["queries"]),
        "last_used": iso(last),
    }


def _by_domain(people: dict[int, dict[str, Any]], owner: str) -> list[ConsumerDomain]:
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for p in people.values():
        if not p["queries"]:
            continue
        for d in as_consumer(p["domains"], owner):
            acc[d][0] += 1
            acc[d][1] += p["queries"]
    return [
        ConsumerDomain(domain=d, people=v[0], queries=v[1], outside=d != owner)
        for d, v in sorted(acc.items(), key=lambda kv: (-kv[1][1], kv[0]))
    ]


def _purposes(declared: dict[str, tuple[int, int]], granted: Any) -> list[PurposeUse]:
    grants: dict[str, set[int]] = defaultdict(set)
    for uid, purposes in granted:
        for p in purposes or []:
            grants[str(p)].add(uid)
    out = [
        PurposeUse(
            purpose=p or "(none declared)",
            source="declared",
            people=v[0],
            queries=v[1],
            granted_people=len(grants.get(p, set())),
        )
        for p, v in declared.items()
    ]
    out += [
        PurposeUse(purpose=p, source="granted", people=len(u), queries=0, granted_people=len(u))
        for p, u in grants.items()
        if p not in declared
    ]
    return sorted(out, key=lambda x: (-x.queries, -x.people, x.purpose))


def _weekly(rows: Any, domains: dict[Any, int], window: Window) -> list[ConsumerWeek]:
    by = {week: (int(q or 0), int(d or 0), int(p or 0)) for week, q, d, p in rows}
    first: date | None = min(by) if by else None
    out = []
    for m in window.mondays(first):
        q, d, p = by.get(m, (0, 0, 0))
        out.append(ConsumerWeek(week=m.isoformat(), queries=q, people=p, domains=int(domains.get(m, 0)), denied=d))
    return out


def _questions(
    s: Session, viewer: Person | None, dataset_id: int, since: datetime, recurring: int
) -> list[dict[str, Any]]:
    """The 20 questions to show: recurring ones first, then by people and reads (asked within the window;
    counted over all time). A question's text is its first asking's, kept only when the viewer may know every
    dataset that asking read (a question that joins another domain's restricted dataset would name it). Three
    queries, whatever the number of questions."""
    S = UsageQuestionSummary
    conn = s.connection()
    is_recurring = (S.people >= recurring) & S.browse.is_(False)
    rows = conn.execute(
        select(S.fingerprint, S.people, S.queries, S.browse, S.first_user_id)
        .where(S.dataset_id == dataset_id, S.last_at >= since)
        .order_by(case((is_recurring, 0), else_=1), S.people.desc(), S.queries.desc(), S.fingerprint)
        .limit(20)
    ).all()
    if not rows:
        return []
    firsts = (
        select(func.min(UsageEvent.id))
        .where(UsageEvent.fingerprint.in_(sorted({r[0] for r in rows})))
        .group_by(UsageEvent.fingerprint)
    )
    asked = {
        fp: (event_id, text)
        for event_id, fp, text in conn.execute(
            select(UsageEvent.id, UsageEvent.fingerprint, UsageEvent.query_text).where(UsageEvent.id.in_(firsts))
        )
    }
    hiding = set(
        conn.execute(
            select(UsageRead.event_id)
            .join(Dataset, Dataset.id == UsageRead.dataset_id)
            .where(UsageRead.event_id.in_(sorted(e for e, _ in asked.values())), ~knowable(viewer))
            .distinct()
        ).scalars()
    )
    out = []
    for fp, people, queries, browse, first in rows:
        event_id, text = asked.get(fp, (None, None))
        if event_id in hiding:
            text = None
        out.append(
            {
                "fingerprint": fp,
                "people": int(people),
                "queries": int(queries),
                "browse": bool(browse),
                "recurring": int(people) >= recurring and not browse,
                "_first": first,
                "text": text,
            }
        )
    return out


def _question_list(
    questions: list[dict[str, Any]], names: dict[int, tuple[str, str]], seen: Sight
) -> list[AskedQuestion]:
    out = []
    for q in questions[:20]:
        first_by = q["_first"]
        out.append(
            AskedQuestion(
                fingerprint=q["fingerprint"],
                people=q["people"],
                queries=q["queries"],
                browse=q["browse"],
                recurring=q["recurring"],
                # the shape of someone else's question is theirs: readers only
                text=q["text"] if seen.names else None,
                first_asked_by=names.get(first_by, ("", ""))[0] if seen.names and first_by is not None else None,
            )
        )
    return out


def _together(
    s: Session, platform: Platform, viewer: Person | None, dataset_id: int, since: datetime
) -> list[UsedTogether]:
    P = UsagePair
    conn = s.connection()
    acc: dict[int, list[int]] = {}
    for mine, other in ((P.dataset_a, P.dataset_b), (P.dataset_b, P.dataset_a)):
        for d, people, in_query, in_session in conn.execute(
            select(other, func.count(P.user_id), func.sum(P.in_query), func.sum(P.in_session))
            .where(mine == dataset_id, P.last_at >= since)
            .group_by(other)
        ):
            acc[int(d)] = [int(people), int(in_query or 0), int(in_session or 0)]
    if not acc:
        return []
    top = sorted(acc.items(), key=lambda kv: (-kv[1][0], -(kv[1][1] + kv[1][2]), kv[0]))[:50]
    ids = [d for d, _ in top]
    seen = sights(s, viewer, ids, platform=platform)
    names = dict(conn.execute(select(Dataset.id, Dataset.full_name).where(Dataset.id.in_(ids))).all())
    out = [
        UsedTogether(dataset=names[d], people=v[0], in_query=v[1], in_session=v[2])
        for d, v in top
        if d in names and seen.get(d, HIDDEN).exists
    ]
    return sorted(out, key=lambda x: (-x.people, -(x.in_query + x.in_session), x.dataset))[:15]


def _columns(s: Session, ref: DatasetRef, since: datetime) -> list[ConsumedColumn]:
    C = UsageColumn
    conn = s.connection()
    mine = (C.dataset_id == ref.id) & (C.last_at >= since)
    rows = conn.execute(
        select(C.column, func.count(C.user_id), func.sum(C.queries), func.max(C.last_at)).where(mine).group_by(C.column)
    ).all()
    q, consumer = with_consumer_domain(select(C.column), C.user_id, ref.domain_id)
    names = domain_names(s)
    doms: dict[str, set[str]] = defaultdict(set)
    for col, d in conn.execute(q.add_columns(consumer).where(mine).distinct()):
        doms[col].add(names.get(d, NO_DOMAIN) if d is not None else NO_DOMAIN)
    return [
        ConsumedColumn(
            column=c,
            people=int(n),
            queries=int(qn or 0),
            domains=sorted(doms.get(c, set())),
            last_used=iso(last),
        )
        for c, n, qn, last in sorted(rows, key=lambda r: (-r[1], -(r[2] or 0), r[0]))
    ]


def _people_list(people: dict[int, dict[str, Any]], names: dict[int, tuple[str, str]]) -> list[Consumer]:
    out = [
        Consumer(
            user=names.get(uid, (str(uid), ""))[0],
            display_name=names.get(uid, ("", ""))[1],
            domains=list(p["domains"]),
            queries=p["queries"],
            weeks=p["weeks"],
            purposes=sorted(p["purposes"]),
            repeat=p["repeat"],
            denied=p["denied"],
            last_used=iso(p["last_at"]),
        )
        for uid, p in people.items()
    ]
    return sorted(out, key=lambda x: (-x.queries, x.user))


def _yours(people: dict[int, dict[str, Any]], viewer: Person | None) -> YourUse | None:
    if viewer is None:
        return None
    p = people.get(viewer.id)
    if p is None:
        return YourUse(queries=0, weeks=0, purposes=[], last_used=None)
    return YourUse(queries=p["queries"], weeks=p["weeks"], purposes=sorted(p["purposes"]), last_used=iso(p["last_at"]))


def usage_since(platform: Platform, dataset_ids: list[int], since: datetime) -> dict[int, set[int]]:
    """People who read each dataset since `since` (for telling consumers about a deprecation)."""
    rollup.refresh(platform)
    out: dict[int, set[int]] = defaultdict(set)
    with platform.store.session() as s:
        q = select(W.dataset_id, W.user_id).where(W.dataset_id.in_(dataset_ids), W.last_at >= since, W.queries > 0)
        for d, u in s.connection().execute(q.distinct()):
            out[d].add(u)
    return dict(out)
