"""Producer visibility: a domain's whole supply chain downstream, "who uses my data and why".

For each dataset of the domain: its consumers by domain and purpose, the trend, what depends on it
downstream, requests waiting, its candidate or product status, and what a change to each column
would affect (who reads it, from which domains, which contracts promise it, what is derived from it).
Producers (members of the domain, administrators, governance) see names and waiting requests;
others see the same aggregates, names only where they may read the dataset, and their own use.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from threshold.access import DomainRef, may
from threshold.access.privacy import sights
from threshold.errors import InvalidInput, NotFound
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.products import contracts, dependents, rollup
from threshold.products.lookup import NO_DOMAIN, Window, domain_names, iso, owners_of, user_names, with_consumer_domain
from threshold.products.models import (
    Candidate,
    Contract,
    Product,
    UsageColumn,
    UsageDatasetWeekly,
    UsageDomainWeekly,
    UsageWeekly,
)
from threshold.products.producer_results import (
    CandidateBadge,
    ColumnImpact,
    ColumnUse,
    ConsumerDomain,
    ConsumerPurpose,
    DomainView,
    ProducedDataset,
    ProducerTotals,
    ProductBadge,
    ReadTrend,
    TopConsumer,
    WaitingRequest,
    WeekReads,
)
from threshold.store.models import AccessRequest, Column, Dataset, Domain, Grant, Membership, User

W = UsageWeekly


def domain_view(
    platform: Platform,
    domain: str,
    *,
    viewer: Person | None = None,
    weeks: int | None = None,
    page: int = 1,
    per_page: int = 25,
) -> DomainView:
    """Every dataset of `domain` with who uses it and why, as `viewer` may see it, most used first.

    Every dataset is ranked and counted; the details (consumers by domain and purpose, weekly trend,
    top consumers, column impact, downstream, waiting requests) come for one page of them."""
    if page < 1 or not 1 <= per_page <= 500:
        raise InvalidInput("page starts at 1; per_page is between 1 and 500")
    rollup.refresh(platform)
    window = Window.of(platform, weeks)
    trend = platform.settings.products.trend_weeks
    recent_start = window.this_week - timedelta(weeks=trend)  # complete weeks: this one is not over
    with platform.store.session() as s:
        dom = s.scalars(select(Domain).where(Domain.name == domain.strip().lower())).one_or_none()
        if dom is None:
            raise NotFound(f"no domain {domain[:60]!r}; `threshold domain list` lists them")
        producer = bool(may(viewer, "domain.usage.names", DomainRef(dom.name), platform=platform))
        conn = s.connection()
        datasets = conn.execute(
            select(
                Dataset.id,
                Dataset.full_name,
                Dataset.stage,
                Dataset.row_count,
                Dataset.created_at,
                func.coalesce(Dataset.visibility, dom.default_visibility),
            ).where(Dataset.domain_id == dom.id, Dataset.snapshot_id.is_not(None))
        ).all()
        seen = sights(s, viewer, [d[0] for d in datasets], platform=platform)
        visible = {d[0]: d for d in datasets if seen[d[0]].exists}
        from threshold.products.patterns import window_values

        values = window_values(s, platform, window, list(visible))
        D = UsageDomainWeekly
        in_window = (D.domain_id == dom.id) & (D.week >= window.since)
        own = aliased(Membership, name="own_m")
        overall = conn.execute(
            select(
                func.count(func.distinct(D.user_id)),
                func.count(func.distinct(case((own.user_id.is_(None), D.user_id)))),
            )
            .outerjoin(own, and_(own.user_id == D.user_id, own.domain_id == dom.id))
            .where(in_window)
        ).one()
        q, consumer = with_consumer_domain(select(), D.user_id, dom.id)
        consumer_domains = {
            d for (d,) in conn.execute(q.add_columns(consumer).select_from(D).where(in_window).distinct())
        }
        by = {d: (v.people, v.queries, v.outside_people) for d, v in values.items()}
        ranked = sorted(visible, key=lambda i: (-by.get(i, (0, 0, 0))[0], -by.get(i, (0, 0, 0))[1], visible[i][1]))
        ids = ranked[(page - 1) * per_page : page * per_page]
        detail = _details(s, platform, dom.id, ids, window, recent_start, trend, viewer, seen)
        waiting = _waiting(s, list(visible))
        products = {p.dataset_id: p for p in s.scalars(select(Product).where(Product.dataset_id.in_(list(visible))))}
        candidates = {
            c.dataset_id: c for c in s.scalars(select(Candidate).where(Candidate.dataset_id.in_(list(visible))))
        }
        owner_names = user_names(s, {p.owner_id for p in products.values()})
        names = domain_names(s)
        owners = owners_of(s).get(dom.name, [])
    counts, note = dependents.downstream_counts(platform)
    items = []
    for dataset_id in ids:
        _i, name, stage, rows_count, created, visibility = visible[dataset_id]
        people, queries, outside = by.get(dataset_id, (0, 0, 0))
        d = detail[dataset_id]
        w = waiting.get(dataset_id, [])
        prod = products.get(dataset_id)
        cand = candidates.get(dataset_id)
        items.append(
            ProducedDataset(
                dataset=name,
                stage=stage,
                visibility=visibility,
                rows=rows_count,
                shared_at=iso(created),
                people=people,
                queries=queries,
                outside_people=outside,
                domains=[ConsumerDomain(**x) for x in d["domains"]],
                purposes=[ConsumerPurpose(**x) for x in d["purposes"]],
                trend=ReadTrend(**d["trend"]),
                top_consumers=None if d["top_consumers"] is None else [TopConsumer(**x) for x in d["top_consumers"]],
                columns=d["columns"],
                you=d["you"],
                purposes_granted=d["purposes_granted"],
                weekly=[WeekReads(**x) for x in d["weekly"]],
                downstream_count=counts.get(dataset_id, 0),
                downstream=(
                    dependents.downstream(platform, name, viewer=viewer).as_dict()
                    if counts.get(dataset_id)
                    else {"available": not note, "items": [], "note": note}
                ),
                waiting_requests=len(w),
                requests=w if producer else None,
                product=(
                    ProductBadge(
                        status=prod.status, version=prod.version, owner=owner_names.get(prod.owner_id, ("?", ""))[0]
                    )
                    if prod
                    else None
                ),
                candidate=CandidateBadge(status=cand.status, score=cand.score, nominated=cand.nominated)
                if cand
                else None,
            )
        )
    return DomainView(
        domain=dom.name,
        title=dom.title,
        description=dom.description,
        owners=owners,
        producer_view=producer,
        window=window.as_dict(),
        note="" if producer else "aggregates for datasets you cannot read; names only where you may read the data",
        page=page,
        per_page=per_page,
        pages=max(1, -(-len(visible) // per_page)),
        totals=ProducerTotals(
            datasets=len(visible),
            used=sum(1 for i in visible if by.get(i, (0, 0, 0))[0]),
            reads=sum(by.get(i, (0, 0, 0))[1] for i in visible),
            people=int(overall[0] or 0),
            outside_people=int(overall[1] or 0),
            consumer_domains=sorted(names.get(d, NO_DOMAIN) for d in consumer_domains if d is not None and d != dom.id),
            products=sum(1 for p in products.values() if p.status != "retired"),
            candidates=sum(1 for c in candidates.values() if c.status == "open"),
            waiting_requests=sum(len(w) for w in waiting.values()),
        ),
        datasets=items,
        notes=[note] if note else [],
    )


def _details(
    s: Session,
    platform: Platform,
    domain_id: int,
    ids: list[int],
    window: Window,
    recent_start: Any,
    trend: int,
    viewer: Person | None,
    seen: dict[int, Any],
) -> dict[int, dict[str, Any]]:
    """Consumers by domain and purpose, weekly series, top consumers, columns and the viewer's own use."""
    out: dict[int, dict[str, Any]] = {
        i: {
            "domains": [],
            "purposes": [],
            "weekly": {},
            "trend": {"recent": 0, "prior": 0},
            "top_consumers": [],
            "columns": [],
            "you": 0 if viewer else None,
            "purposes_granted": [],
        }
        for i in ids
    }
    if not ids:
        return out
    conn = s.connection()
    names = domain_names(s)
    page = (W.dataset_id.in_(ids)) & (W.week >= window.since) & (W.queries > 0)
    stored = _stored_detail(s, platform, window, ids)
    if stored is not None:
        top = _from_stored(stored, out, domain_id, names)
    else:
        top = _from_weekly(conn, page, out, domain_id, names)
    T = UsageDatasetWeekly
    for d, week, queries in conn.execute(
        select(T.dataset_id, T.week, T.queries).where(T.dataset_id.in_(ids), T.week >= window.since, T.queries > 0)
    ):
        out[d]["weekly"][week] = int(queries)
        if week >= window.this_week:
            continue
        if week >= recent_start:
            out[d]["trend"]["recent"] += int(queries)
        elif week >= recent_start - timedelta(weeks=trend):
            out[d]["trend"]["prior"] += int(queries)
    people = user_names(s, {u for _d, u, _n in top})
    for d, u, n in sorted(top, key=lambda r: (r[0], -r[2], r[1])):
        out[d]["top_consumers"].append({"user": people.get(u, ("?", ""))[0], "queries": int(n)})
    if viewer is not None:
        for d, n in conn.execute(
            select(W.dataset_id, func.sum(W.queries)).where(page, W.user_id == viewer.id).group_by(W.dataset_id)
        ):
            out[d]["you"] = int(n)
    for d, purposes in conn.execute(
        select(Grant.dataset_id, Grant.purposes).where(Grant.dataset_id.in_(ids), Grant.revoked_at.is_(None))
    ):
        out[d]["purposes_granted"] = sorted(set(out[d]["purposes_granted"]) | {str(p) for p in purposes or []})
    columns = _column_rows(s, domain_id, ids, names)
    promised = _promised_columns(s, ids)
    schema: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for d, name, ctype in conn.execute(
        select(Column.dataset_id, Column.name, Column.type).where(Column.dataset_id.in_(ids)).order_by(Column.position)
    ):
        schema[d].append((name, ctype))
    for d in ids:
        item = out[d]
        item["domains"].sort(key=lambda x: (-x["queries"], x["domain"]))
        item["purposes"].sort(key=lambda x: (-x["queries"], x["purpose"]))
        weekly = item.pop("weekly")
        item["weekly"] = [
            {"week": m.isoformat(), "queries": weekly.get(m, 0)} for m in window.mondays(min(weekly, default=None))
        ]
        r, p = item["trend"]["recent"], item["trend"]["prior"]
        item["trend"]["direction"] = "rising" if r > p else ("falling" if r < p else "steady")
        if not seen[d].names:
            item["top_consumers"] = None
        item["columns"] = [_column(c, t, columns[d].get(c), c in promised.get(d, set())) for c, t in schema.get(d, [])]
    return out


def _column(name: str, ctype: str, read: tuple[int, int, list[str]] | None, promised: bool) -> ColumnUse:
    people, queries, domains = read or (0, 0, [])
    return ColumnUse(
        column=name,
        type=ctype,
        people=people,
        queries=queries,
        domains=domains,
        in_contract=promised,
        affects=_affects(people, len(domains), promised),
    )


def _stored_detail(s: Session, platform: Platform, window: Window, ids: list[int]) -> dict[int, Any] | None:
    """The stored signals of these datasets when the window is the settings' one (else None)."""
    from threshold.products import signals

    if window.since != signals.window_since(platform) or not window.weeks:
        return None
    return signals.stored(s, ids, detail=True)


def _from_stored(
    stored: dict[int, Any], out: dict[int, dict[str, Any]], domain_id: int, names: dict[int, str]
) -> list[tuple[int, int, int]]:
    own = names.get(domain_id, "")
    for d, v in stored.items():
        if d not in out:
            continue
        out[d]["domains"] = [
            {"domain": dom, "people": p, "queries": q, "outside": dom != own} for dom, (p, q) in v.by_domain.items()
        ]
        out[d]["purposes"] = [
            {"purpose": pur or "(none declared)", "people": p, "queries": q} for pur, (p, q) in v.by_purpose.items()
        ]
    return [(d, int(u), int(n)) for d, v in stored.items() if d in out for u, n in v.top]


def _from_weekly(
    conn: Any, page: Any, out: dict[int, dict[str, Any]], domain_id: int, names: dict[int, str]
) -> list[Any]:
    """The same figures aggregated from the weekly rows (a window other than the settings' one)."""
    q, consumer = with_consumer_domain(select(W.dataset_id), W.user_id, domain_id)
    for d, dom, people, queries in conn.execute(
        q.add_columns(consumer, func.count(func.distinct(W.user_id)), func.sum(W.queries))
        .where(page)
        .group_by(W.dataset_id, consumer)
    ):
        name = names.get(dom, NO_DOMAIN) if dom is not None else NO_DOMAIN
        out[d]["domains"].append(
            {"domain": name, "people": int(people), "queries": int(queries), "outside": dom != domain_id}
        )
    for d, purpose, people, queries in conn.execute(
        select(W.dataset_id, W.purpose, func.count(func.distinct(W.user_id)), func.sum(W.queries))
        .where(page)
        .group_by(W.dataset_id, W.purpose)
    ):
        out[d]["purposes"].append(
            {"purpose": purpose or "(none declared)", "people": int(people), "queries": int(queries)}
        )
    per_user = (
        select(
            W.dataset_id.label("d"),
            W.user_id.label("u"),
            func.sum(W.queries).label("n"),
            func.row_number()
            .over(partition_by=W.dataset_id, order_by=(func.sum(W.queries).desc(), W.user_id))
            .label("rank"),
        )
        .where(page)
        .group_by(W.dataset_id, W.user_id)
    ).subquery()
    return list(conn.execute(select(per_user.c.d, per_user.c.u, per_user.c.n).where(per_user.c.rank <= 5)).all())


def _column_rows(s: Session, domain_id: int, ids: list[int], names: dict[int, str]) -> dict[int, dict[str, Any]]:
    """Per dataset and column: people, reads, and the domains they read it from (all time)."""
    C = UsageColumn
    conn = s.connection()
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    for d, col, people, queries in conn.execute(
        select(C.dataset_id, C.column, func.count(C.user_id), func.sum(C.queries))
        .where(C.dataset_id.in_(ids))
        .group_by(C.dataset_id, C.column)
    ):
        out[d][col] = (int(people), int(queries or 0), [])
    q, consumer = with_consumer_domain(select(C.dataset_id, C.column), C.user_id, domain_id)
    for d, col, dom in conn.execute(q.add_columns(consumer).where(C.dataset_id.in_(ids)).distinct()):
        if col in out[d]:
            out[d][col][2].append(names.get(dom, NO_DOMAIN) if dom is not None else NO_DOMAIN)
    for cols in out.values():
        for v in cols.values():
            v[2].sort()
    return out


def _waiting(s: Any, ids: list[int]) -> dict[int, list[WaitingRequest]]:
    out: dict[int, list[WaitingRequest]] = defaultdict(list)
    rows = s.execute(
        select(AccessRequest, User.name)
        .join(User, User.id == AccessRequest.requester_id)
        .where(AccessRequest.dataset_id.in_(ids), AccessRequest.status == "pending")
        .order_by(AccessRequest.created_at)
    ).all()
    for req, who in rows:
        out[req.dataset_id].append(
            WaitingRequest(
                id=req.id, requester=who, purpose=req.purpose, columns=req.columns, since=iso(req.created_at)
            )
        )
    return out


def _promised_columns(s: Any, ids: list[int]) -> dict[int, set[str]]:
    """Columns the current contract of each product promises (a change to them breaks the contract)."""
    latest: dict[int, Contract] = {}
    for c in s.scalars(
        select(Contract).where(Contract.dataset_id.in_(ids), Contract.product_id.is_not(None)).order_by(Contract.id)
    ):
        latest[c.dataset_id] = c
    out: dict[int, set[str]] = {}
    for dataset_id, c in latest.items():
        try:
            doc = contracts.parse(c.document)
        except Exception:
            continue
        out[dataset_id] = {str(p.name) for obj in doc.schema_ or [] for p in obj.properties or []}
    return out


def _affects(people: int, domains: int, promised: bool) -> str:
    if not people and not promised:
        return "nobody has read it"
    parts = []
    if people:
        parts.append(
            f"{people} {'person' if people == 1 else 'people'} in {domains} domain{'s' if domains != 1 else ''}"
        )
    if promised:
        parts.append("the product contract (breaking: new major version)")
    return ", ".join(parts)


def column_impact(platform: Platform, dataset: str, column: str, *, viewer: Person | None = None) -> ColumnImpact:
    """What changing one column would affect: readers, domains, contracts, derived columns (lineage)."""
    from threshold.products.consumption import column_use

    ref, columns = column_use(platform, dataset, viewer=viewer, weeks=0)
    col = next((c for c in columns if c.column == column), None)
    with platform.store.session() as s:
        known = set(s.scalars(select(Column.name).where(Column.dataset_id == ref.id)))
        promised = _promised_columns(s, [ref.id]).get(ref.id, set())
    if column not in known:
        raise NotFound(f"{ref.full_name} has no column {column!r}")
    return ColumnImpact(
        dataset=ref.full_name,
        column=column,
        people=col.people if col else 0,
        queries=col.queries if col else 0,
        domains=col.domains if col else [],
        in_contract=column in promised,
        downstream=dependents.downstream(platform, ref.full_name, viewer=viewer).as_dict(),
    )
