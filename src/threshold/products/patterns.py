"""Organisation-wide patterns: who consumes whose data, what rises and falls, what nobody uses.

- the reuse matrix: consumer domain x producer domain, distinct people and reads (a query that reads
  two datasets is one read of each, so domain figures count reads, not queries);
- rising and falling datasets: the last `trend_weeks` complete weeks against the `trend_weeks` before, by
  person-weeks (each week's distinct readers, added up) and then by queries;
- the long tail: shared but never used (and used by one person only);
- the balance of each domain: what it shares, what others consume of it, what it consumes of others
  (domains that consume but never share stand out);
- usage by schema level: per domain totals, drilled down per dataset (`domain_datasets`).
Datasets a viewer may not know exist (another domain's restricted ones) are left out of every list;
they still count in domain totals, which name no dataset and no person.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, select

from threshold.access.privacy import sights
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.products import rollup
from threshold.products.lookup import NO_DOMAIN, Window, as_consumer, iso, memberships
from threshold.products.models import UsageDatasetWeekly, UsageDomainWeekly, UsageSignals
from threshold.products.results import (
    DomainBalance,
    DomainDatasetUse,
    LongTail,
    NeverUsed,
    OnePerson,
    OrgPatterns,
    PatternTotals,
    ReuseCell,
    ReuseMatrix,
    TrendPeriods,
    UsageChange,
)
from threshold.store.models import Dataset, Domain


def org_patterns(
    platform: Platform, *, viewer: Person | None = None, weeks: int | None = None, limit: int = 15
) -> OrgPatterns:
    """The organisation's consumption patterns over the window."""
    rollup.refresh(platform)
    window = Window.of(platform, weeks)
    trend = platform.settings.products.trend_weeks
    with platform.store.session() as s:
        conn = s.connection()
        domains = dict(conn.execute(select(Domain.id, Domain.name).order_by(Domain.name)).all())
        datasets = conn.execute(
            select(Dataset.id, Dataset.full_name, Dataset.domain_id, Dataset.created_at, Dataset.stage).where(
                Dataset.snapshot_id.is_not(None)
            )
        ).all()
        seen = sights(s, viewer, platform=platform)
        domains_of = memberships(s)
        D = UsageDomainWeekly
        per_user_domain = conn.execute(
            select(D.user_id, D.domain_id, func.sum(D.queries))
            .where(D.week >= window.since)
            .group_by(D.user_id, D.domain_id)
        ).all()
        recent_start = window.this_week - timedelta(weeks=trend)  # complete weeks: this one is not over
        prior_start = recent_start - timedelta(weeks=trend)
        T = UsageDatasetWeekly
        recent = T.week >= recent_start
        trends = conn.execute(
            select(
                T.dataset_id,
                func.sum(case((recent, T.queries), else_=0)),
                func.sum(case((recent, 0), else_=T.queries)),
                func.sum(case((recent, T.people), else_=0)),
                func.sum(case((recent, 0), else_=T.people)),
            )
            .where(T.week >= prior_start, T.week < window.this_week)
            .group_by(T.dataset_id)
        ).all()
        ever = conn.execute(
            select(UsageSignals.dataset_id, UsageSignals.people_ever, UsageSignals.last_at).where(
                UsageSignals.people_ever > 0
            )
        ).all()
    visible = {i for i, *_ in datasets if seen.get(i) is not None and seen[i].exists}
    matrix = _matrix(per_user_domain, domains, domains_of)
    balance = _balance(datasets, per_user_domain, domains, domains_of)
    ever_by = {d: (n, last) for d, n, last in ever}
    names = {i: (n, domains.get(dom, "?")) for i, n, dom, _c, _s in datasets}
    periods, rising, falling = _trends(trends, names, visible, limit, recent_start, prior_start)
    return OrgPatterns(
        window=window.as_dict(),
        trend_weeks=trend,
        totals=PatternTotals(
            reads=sum(int(q) for _u, _d, q in per_user_domain),
            people=len({u for u, _d, _q in per_user_domain}),
            datasets=len(datasets),
            datasets_used=sum(1 for i, *_ in datasets if i in ever_by),
        ),
        reuse_matrix=matrix,
        domains=balance,
        consume_not_share=[b.domain for b in balance if b.consumes_from_others and not b.datasets],
        periods=periods,
        rising=rising,
        falling=falling,
        long_tail=_long_tail(datasets, ever_by, domains, visible, limit),
    )


def _matrix(rows: Sequence[Any], domains: dict[int, str], domains_of: dict[int, tuple[str, ...]]) -> ReuseMatrix:
    people: dict[tuple[str, str], set[int]] = defaultdict(set)
    queries: dict[tuple[str, str], int] = defaultdict(int)
    for uid, producer_id, n in rows:
        producer = domains.get(producer_id, "?")
        for consumer in as_consumer(domains_of.get(uid, ()), producer):
            people[(consumer, producer)].add(uid)
            queries[(consumer, producer)] += int(n)
    names = sorted(domains.values())
    consumers = names + ([NO_DOMAIN] if any(c == NO_DOMAIN for c, _ in people) else [])
    cells = [
        ReuseCell(consumer=c, producer=p, people=len(people[(c, p)]), reads=queries[(c, p)], own=c == p)
        for c in consumers
        for p in names
        if (c, p) in people
    ]
    cross = [c for c in cells if not c.own]
    return ReuseMatrix(
        consumers=consumers,
        producers=names,
        cells=cells,
        cross_domain_reads=sum(c.reads for c in cross),
        cross_domain_pairs=len(cross),
    )


def _balance(
    datasets: Sequence[Any], rows: Sequence[Any], domains: dict[int, str], domains_of: dict[int, tuple[str, ...]]
) -> list[DomainBalance]:
    """Per domain: datasets shared (and used), use of its data (own and others'), its use of others' data."""
    shared: dict[str, int] = defaultdict(int)
    for _i, _n, dom, _c, _s in datasets:
        shared[domains.get(dom, "?")] += 1
    on_its_data: dict[str, list[Any]] = defaultdict(lambda: [set(), 0, set(), 0])  # people, queries, outside...
    consumes: dict[str, list[Any]] = defaultdict(lambda: [0, set()])
    for uid, producer_id, n in rows:
        producer = domains.get(producer_id, "?")
        mine = domains_of.get(uid, ())
        acc = on_its_data[producer]
        acc[0].add(uid)
        acc[1] += int(n)
        if producer not in mine:
            acc[2].add(uid)
            acc[3] += int(n)
            for consumer in mine:
                consumes[consumer][0] += int(n)
                consumes[consumer][1].add(producer)
    out = []
    for name in sorted(domains.values()):
        acc = on_its_data[name]
        out.append(
            DomainBalance(
                domain=name,
                datasets=shared[name],
                reads=acc[1],
                people=len(acc[0]),
                outside_people=len(acc[2]),
                outside_reads=acc[3],
                consumes_from_others=consumes[name][0],
                consumes_domains=sorted(consumes[name][1]),
                ratio=round(consumes[name][0] / acc[3], 2) if acc[3] else None,
            )
        )
    return out


def _trends(
    rows: Sequence[Any], names: dict[int, tuple[str, str]], visible: set[int], limit: int, recent: Any, prior: Any
) -> tuple[TrendPeriods, list[UsageChange], list[UsageChange]]:
    """The periods compared, and the datasets rising and falling (at most `limit` each)."""
    items: list[UsageChange] = []
    for dataset_id, r_q, p_q, r_p, p_p in rows:
        if dataset_id not in visible or dataset_id not in names:
            continue
        r_q, p_q = int(r_q or 0), int(p_q or 0)
        items.append(
            UsageChange(
                dataset=names[dataset_id][0],
                domain=names[dataset_id][1],
                recent_queries=r_q,
                prior_queries=p_q,
                recent_person_weeks=int(r_p or 0),
                prior_person_weeks=int(p_p or 0),
                change_queries=r_q - p_q,
                change_person_weeks=int(r_p or 0) - int(p_p or 0),
                change=round((r_q - p_q) / p_q, 2) if p_q else None,
            )
        )

    def change(i: UsageChange) -> tuple[int, int]:
        return i.change_person_weeks, i.change_queries

    rising = sorted(
        (i for i in items if change(i) > (0, 0)),
        key=lambda i: (-i.change_person_weeks, -i.change_queries, i.dataset),
    )
    falling = sorted(
        (i for i in items if change(i) < (0, 0)),
        key=lambda i: (i.change_person_weeks, i.change_queries, i.dataset),
    )
    periods = TrendPeriods(
        prior_since=prior.isoformat(),
        recent_since=recent.isoformat(),
        recent_until=(recent + timedelta(weeks=(recent - prior).days // 7)).isoformat(),
    )
    return periods, rising[:limit], falling[:limit]


def _long_tail(
    datasets: Sequence[Any], ever: dict[int, tuple[int, Any]], domains: dict[int, str], visible: set[int], limit: int
) -> LongTail:
    never = [
        NeverUsed(dataset=n, domain=domains.get(dom, "?"), shared_at=iso(created), stage=stage)
        for i, n, dom, created, stage in datasets
        if i not in ever and i in visible
    ]
    once = [
        OnePerson(dataset=n, domain=domains.get(dom, "?"), people=ever[i][0], last_used=iso(ever[i][1]))
        for i, n, dom, _c, _s in datasets
        if i in ever and ever[i][0] == 1 and i in visible
    ]
    never.sort(key=lambda x: (x.shared_at or "", x.dataset))
    once.sort(key=lambda x: (x.last_used or "", x.dataset))
    total = len(datasets)
    return LongTail(
        never_used=never,
        never_used_count=len(never),
        one_person=once[: limit * 4],
        one_person_count=len(once),
        share_never_used=round(sum(1 for i, *_ in datasets if i not in ever) / total, 3) if total else None,
    )


def domain_datasets(
    platform: Platform, domain: str, *, viewer: Person | None = None, weeks: int | None = None
) -> list[DomainDatasetUse]:
    """Usage by schema level, one level down: each dataset of a domain with its totals in the window."""
    rollup.refresh(platform)
    window = Window.of(platform, weeks)
    with platform.store.session() as s:
        rows = s.execute(
            select(Dataset.id, Dataset.full_name, Dataset.stage)
            .join(Domain, Domain.id == Dataset.domain_id)
            .where(Domain.name == domain, Dataset.snapshot_id.is_not(None))
            .order_by(Dataset.full_name)
        ).all()
        seen = sights(s, viewer, [r[0] for r in rows], platform=platform)
        values = window_values(s, platform, window, [r[0] for r in rows])
    by = {d: (v.queries, v.people) for d, v in values.items()}
    return [
        DomainDatasetUse(dataset=n, stage=stage, queries=by.get(i, (0, 0))[0], people=by.get(i, (0, 0))[1])
        for i, n, stage in rows
        if seen[i].exists
    ]


def window_values(s: Any, platform: Platform, window: Window, ids: list[int]) -> dict[int, Any]:
    """Signals of these datasets over the window: stored ones for the settings' window, else computed."""
    from threshold.products import signals

    if window.since == signals.window_since(platform) and window.weeks:
        wanted = set(ids)
        return {d: v for d, v in signals.stored(s).items() if d in wanted}
    return signals.compute(s, platform, window.since, ids)
