"""The signals each dimension is scored from, every one a SQL aggregate over what the platform records.

A signal gives, per domain, a `value` and (for a share) what it is a share `of`; its `ratio` (0-1) is
`value / of` for a share, `min(1, value / full)` for a count, and None when there is nothing to measure
(a domain with no access requests has no access-speed evidence: the signal is shown, not counted).

Extension point: another capability adds a signal to a dimension with one call in its registration,

    register_signal(SignalDef("literacy", "learning", "Members progressing on a learning track",
                              "members with a task done in the window / members", measure=my_measure))

where `my_measure(ctx)` returns {domain id: (value, of)}. Snapshots then count it like the built-in ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, distinct, exists, func, select
from sqlalchemy.orm import Session

from threshold.insights.models import Insight, InsightRun
from threshold.maturity.picture import DIMENSIONS
from threshold.products.lookup import monday
from threshold.products.models import Contract, Product, UsageDomainWeekly, UsageWeekly
from threshold.quality.models import Check, Incident
from threshold.store.models import AccessRequest, Dataset, Membership, Share

WINDOW_DAYS = 30
"""Usage signals look at the weeks of the last 30 days (the rollups count by week)."""
RECENT_DAYS = 90
"""Shares, incidents and access requests look at the last 90 days."""


@dataclass(frozen=True)
class Context:
    """What a measure needs: the session, the moment measured and its windows."""

    s: Session
    at: datetime
    dialect: str

    @property
    def recent(self) -> datetime:
        return self.at - timedelta(days=RECENT_DAYS)

    @property
    def first_week(self) -> date:
        return monday(self.at - timedelta(days=WINDOW_DAYS - 1))

    @property
    def last_week(self) -> date:
        return monday(self.at)


Measure = Callable[[Context], dict[int, tuple[float, float | None]]]


@dataclass(frozen=True)
class SignalDef:
    dimension: str
    name: str
    label: str
    formula: str
    measure: Measure
    full: float | None = None
    """A count: the value that counts in full (ratio = min(1, value / full)). None: a share (value / of)."""
    counted: bool = True
    """False: shown beside the score for context, never part of it."""


@dataclass(frozen=True)
class Signal:
    """One number behind a score, as stored in a snapshot and shown."""

    name: str
    label: str
    value: float
    of: float | None
    ratio: float | None
    formula: str
    source: str = "measured"
    """`measured` (from what the platform records) or `self-assessment`."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "value": self.value,
            "of": self.of,
            "ratio": self.ratio,
            "formula": self.formula,
            "source": self.source,
        }

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Signal:
        return Signal(d["name"], d["label"], d["value"], d.get("of"), d.get("ratio"), d["formula"], d["source"])


_SIGNALS: dict[str, SignalDef] = {}


def register_signal(sig: SignalDef) -> SignalDef:
    """Add a signal to its dimension (idempotent for the same definition)."""
    if sig.dimension not in DIMENSIONS:
        raise ValueError(f"no maturity dimension {sig.dimension!r}")
    key = f"{sig.dimension}.{sig.name}"
    known = _SIGNALS.get(key)
    if known is not None and known != sig:
        raise ValueError(f"maturity signal {key!r} is registered twice")
    _SIGNALS[key] = sig
    return sig


def registered() -> list[SignalDef]:
    """Every signal, in dimension order then registration order."""
    return sorted(_SIGNALS.values(), key=lambda d: DIMENSIONS.index(d.dimension))


def measure(ctx: Context, domain_ids: list[int]) -> dict[int, dict[str, list[Signal]]]:
    """{domain id: {dimension: [signals]}} for every registered signal, one aggregate query each."""
    out: dict[int, dict[str, list[Signal]]] = {d: {dim: [] for dim in DIMENSIONS} for d in domain_ids}
    for sig in registered():
        values = sig.measure(ctx)
        for d in domain_ids:
            value, of = values.get(d, (0.0, None if sig.full is not None or not sig.counted else 0.0))
            out[d][sig.dimension].append(
                Signal(sig.name, sig.label, float(value), of, _ratio(sig, value, of), sig.formula)
            )
    return out


def _ratio(sig: SignalDef, value: float, of: float | None) -> float | None:
    if not sig.counted:
        return None
    if sig.full is not None:
        return round(min(1.0, value / sig.full), 4)
    return round(value / of, 4) if of else None


# --- the built-in measures ------------------------------------------------------------------------------


def _datasets(ctx: Context) -> Any:
    """The domain's published datasets that existed at the moment measured (deprecated ones left out)."""
    return (
        select(Dataset.id.label("id"), Dataset.domain_id.label("domain_id"))
        .where(Dataset.snapshot_id.is_not(None), Dataset.created_at <= ctx.at, Dataset.stage != "deprecated")
        .subquery("ds")
    )


def _rows(ctx: Context, q: Any) -> dict[int, float]:
    return {int(d): float(n or 0) for d, n in ctx.s.execute(q)}


def _share_of_datasets(ctx: Context, condition: Callable[[Any], Any]) -> dict[int, tuple[float, float | None]]:
    ds = _datasets(ctx)
    total = _rows(ctx, select(ds.c.domain_id, func.count()).group_by(ds.c.domain_id))
    hits = _rows(ctx, select(ds.c.domain_id, func.count()).where(condition(ds)).group_by(ds.c.domain_id))
    return {d: (hits.get(d, 0.0), n) for d, n in total.items()}


def _hours(ctx: Context, end: Any, start: Any) -> Any:
    if ctx.dialect == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 24.0
    return func.extract("epoch", end - start) / 3600.0


def datasets_shared(ctx: Context) -> dict[int, tuple[float, float | None]]:
    ds = _datasets(ctx)
    return {d: (n, None) for d, n in _rows(ctx, select(ds.c.domain_id, func.count()).group_by(ds.c.domain_id)).items()}


def kept_current(ctx: Context) -> dict[int, tuple[float, float | None]]:
    return _share_of_datasets(
        ctx,
        lambda ds: exists().where(Share.dataset_id == ds.c.id, Share.at > ctx.recent, Share.at <= ctx.at),
    )


def _owned(ctx: Context, ds: Any) -> Any:
    return exists().where(Product.dataset_id == ds.c.id, Product.created_at <= ctx.at, Product.status != "retired")


def owned(ctx: Context) -> dict[int, tuple[float, float | None]]:
    return _share_of_datasets(ctx, lambda ds: _owned(ctx, ds))


def described(ctx: Context) -> dict[int, tuple[float, float | None]]:
    return _share_of_datasets(
        ctx, lambda ds: exists().where(Dataset.id == ds.c.id, func.length(func.trim(Dataset.description)) > 0)
    )


def contracted(ctx: Context) -> dict[int, tuple[float, float | None]]:
    return _share_of_datasets(
        ctx, lambda ds: exists().where(Contract.dataset_id == ds.c.id, Contract.created_at <= ctx.at)
    )


def checked(ctx: Context) -> dict[int, tuple[float, float | None]]:
    return _share_of_datasets(
        ctx, lambda ds: exists().where(Check.dataset_id == ds.c.id, Check.active.is_(True), Check.created_at <= ctx.at)
    )


def checks_passing(ctx: Context) -> dict[int, tuple[float, float | None]]:
    ds = _datasets(ctx)
    q = (
        select(
            ds.c.domain_id,
            func.count(),
            func.sum(case((Check.last_status == "pass", 1), else_=0)),
        )
        .join(Check, Check.dataset_id == ds.c.id)
        .where(Check.active.is_(True), Check.last_status.is_not(None))
        .group_by(ds.c.domain_id)
    )
    return {int(d): (float(ok or 0), float(n)) for d, n, ok in ctx.s.execute(q)}


def fresh(ctx: Context) -> dict[int, tuple[float, float | None]]:
    """Products with a freshness SLO whose newest share is within it (one row per product, not per event)."""
    ds = _datasets(ctx)
    last = (
        select(Share.dataset_id.label("id"), func.max(Share.at).label("last"))
        .where(Share.at <= ctx.at)
        .group_by(Share.dataset_id)
        .subquery()
    )
    q = (
        select(ds.c.domain_id, Product.freshness_hours, last.c.last)
        .join(Product, Product.dataset_id == ds.c.id)
        .outerjoin(last, last.c.id == ds.c.id)
        .where(Product.freshness_hours.is_not(None), Product.status != "retired", Product.created_at <= ctx.at)
    )
    out: dict[int, tuple[float, float | None]] = {}
    for d, hours, at in ctx.s.execute(q):
        ok, n = out.get(int(d), (0.0, 0.0))
        within = at is not None and _aware(at) >= ctx.at - timedelta(hours=int(hours))
        out[int(d)] = (ok + (1.0 if within else 0.0), (n or 0.0) + 1.0)
    return out


def _aware(at: datetime) -> datetime:
    from datetime import UTC

    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _incidents(ctx: Context, column: Any, hours: float) -> dict[int, tuple[float, float | None]]:
    window = and_(Incident.opened_at > ctx.recent, Incident.opened_at <= ctx.at)
    total = _rows(
        ctx, select(Incident.routed_domain_id, func.count()).where(window).group_by(Incident.routed_domain_id)
    )
    quick = _rows(
        ctx,
        select(Incident.routed_domain_id, func.count())
        .where(window, column.is_not(None), column <= ctx.at, _hours(ctx, column, Incident.opened_at) <= hours)
        .group_by(Incident.routed_domain_id),
    )
    return {d: (quick.get(d, 0.0), n) for d, n in total.items()}


def acknowledged(ctx: Context) -> dict[int, tuple[float, float | None]]:
    return _incidents(ctx, Incident.acknowledged_at, 24.0)


def fixed(ctx: Context) -> dict[int, tuple[float, float | None]]:
    return _incidents(ctx, Incident.fixed_at, 7 * 24.0)


def _usage_window(ctx: Context, week: Any) -> Any:
    return and_(week >= ctx.first_week, week <= ctx.last_week)


def read_outside(ctx: Context) -> dict[int, tuple[float, float | None]]:
    """Correlated per dataset (the rollup's key starts with the dataset): each search stops at the first
    outside reader, instead of scanning every reader of the window."""

    def read(ds: Any) -> Any:
        # Correlated to both enclosing queries (the reader's row and the dataset's domain): left to itself,
        # SQLAlchemy correlates only the nearest one and re-selects `ds` inside, asking "is the reader a
        # member of any domain that shares", which every reader is.
        member = exists().where(Membership.user_id == UsageWeekly.user_id, Membership.domain_id == ds.c.domain_id)
        outsider = ~member.correlate_except(Membership)
        return exists().where(
            UsageWeekly.dataset_id == ds.c.id, _usage_window(ctx, UsageWeekly.week), UsageWeekly.queries > 0, outsider
        )

    return _share_of_datasets(ctx, read)


def consumer_domains(ctx: Context) -> dict[int, tuple[float, float | None]]:
    q = (
        select(UsageDomainWeekly.domain_id, func.count(distinct(Membership.domain_id)))
        .join(Membership, Membership.user_id == UsageDomainWeekly.user_id)
        .where(
            _usage_window(ctx, UsageDomainWeekly.week),
            UsageDomainWeekly.queries > 0,
            Membership.domain_id != UsageDomainWeekly.domain_id,
        )
        .group_by(UsageDomainWeekly.domain_id)
    )
    return {d: (n, None) for d, n in _rows(ctx, q).items()}


def _requests(ctx: Context) -> Any:
    return (
        select(Dataset.domain_id.label("domain_id"), AccessRequest.created_at, AccessRequest.decided_at)
        .join(Dataset, Dataset.id == AccessRequest.dataset_id)
        .where(AccessRequest.created_at > ctx.recent, AccessRequest.created_at <= ctx.at)
        .subquery("requests")
    )


def access_within_a_day(ctx: Context) -> dict[int, tuple[float, float | None]]:
    """Requests decided within 24 hours, of those decided or waiting longer than that."""
    r = _requests(ctx)
    decided = and_(r.c.decided_at.is_not(None), r.c.decided_at <= ctx.at)
    waited = _hours(ctx, r.c.decided_at, r.c.created_at)
    due = decided | (r.c.created_at <= ctx.at - timedelta(hours=24))
    total = _rows(ctx, select(r.c.domain_id, func.count()).where(due).group_by(r.c.domain_id))
    quick = _rows(ctx, select(r.c.domain_id, func.count()).where(decided, waited <= 24.0).group_by(r.c.domain_id))
    return {d: (quick.get(d, 0.0), n) for d, n in total.items()}


def hours_to_access(ctx: Context) -> dict[int, tuple[float, float | None]]:
    r = _requests(ctx)
    decided = and_(r.c.decided_at.is_not(None), r.c.decided_at <= ctx.at)
    q = select(r.c.domain_id, func.avg(_hours(ctx, r.c.decided_at, r.c.created_at))).where(decided)
    return {d: (round(h, 2), None) for d, h in _rows(ctx, q.group_by(r.c.domain_id)).items()}


def _members(ctx: Context) -> dict[int, float]:
    return _rows(ctx, select(Membership.domain_id, func.count()).group_by(Membership.domain_id))


def active_members(ctx: Context) -> dict[int, tuple[float, float | None]]:
    active = exists().where(
        UsageDomainWeekly.user_id == Membership.user_id,
        _usage_window(ctx, UsageDomainWeekly.week),
        UsageDomainWeekly.queries > 0,
    )
    hits = _rows(ctx, select(Membership.domain_id, func.count()).where(active).group_by(Membership.domain_id))
    return {d: (hits.get(d, 0.0), n) for d, n in _members(ctx).items()}


def _live_insights(ctx: Context) -> Any:
    return and_(Insight.created_at <= ctx.at, (Insight.archived_at.is_(None)) | (Insight.archived_at > ctx.at))


def authors(ctx: Context) -> dict[int, tuple[float, float | None]]:
    wrote = select(Insight.owner_id).distinct().where(_live_insights(ctx)).scalar_subquery()
    hits = _rows(
        ctx,
        select(Membership.domain_id, func.count()).where(Membership.user_id.in_(wrote)).group_by(Membership.domain_id),
    )
    return {d: (hits.get(d, 0.0), n) for d, n in _members(ctx).items()}


def insights_viewed(ctx: Context) -> dict[int, tuple[float, float | None]]:
    """Insights by the domain's members that someone else viewed in the window."""
    viewed = exists().where(
        InsightRun.insight_id == Insight.id,
        InsightRun.trigger == "view",
        InsightRun.user_id != Insight.owner_id,
        InsightRun.at > ctx.at - timedelta(days=WINDOW_DAYS),
        InsightRun.at <= ctx.at,
    )
    base = select(Membership.domain_id, func.count(distinct(Insight.id))).join(
        Insight, Insight.owner_id == Membership.user_id
    )
    total = _rows(ctx, base.where(_live_insights(ctx)).group_by(Membership.domain_id))
    hits = _rows(ctx, base.where(_live_insights(ctx), viewed).group_by(Membership.domain_id))
    return {d: (hits.get(d, 0.0), n) for d, n in total.items()}


BUILT_IN = (
    SignalDef(
        "sharing",
        "datasets",
        "Datasets shared",
        "published datasets (10 or more count in full)",
        datasets_shared,
        full=10,
    ),
    SignalDef(
        "sharing",
        "kept_current",
        "Datasets updated in the last 90 days",
        "datasets with a share in the last 90 days / datasets",
        kept_current,
    ),
    SignalDef(
        "ownership",
        "owned",
        "Datasets with an accountable owner",
        "datasets that are a data product with an owner / datasets",
        owned,
    ),
    SignalDef(
        "ownership",
        "acknowledged",
        "Incidents acknowledged within a day",
        "incidents of the last 90 days acknowledged within 24 h / incidents",
        acknowledged,
    ),
    SignalDef(
        "documentation",
        "described",
        "Datasets with a description",
        "datasets with a non-empty description / datasets",
        described,
    ),
    SignalDef(
        "documentation", "contract", "Datasets with a contract", "datasets with a data contract / datasets", contracted
    ),
    SignalDef(
        "quality", "checked", "Datasets with quality checks", "datasets with an active check / datasets", checked
    ),
    SignalDef(
        "quality",
        "passing",
        "Checks passing",
        "active checks whose newest run passed / active checks that ran",
        checks_passing,
    ),
    SignalDef(
        "quality",
        "fresh",
        "Products within their freshness SLO",
        "products whose newest share is within their freshness SLO / products with one",
        fresh,
    ),
    SignalDef(
        "quality",
        "fixed",
        "Incidents fixed within a week",
        "incidents of the last 90 days fixed within 7 days / incidents",
        fixed,
    ),
    SignalDef(
        "reuse",
        "read_outside",
        "Datasets read by other domains",
        "datasets read by someone outside the domain in the last 30 days / datasets",
        read_outside,
    ),
    SignalDef(
        "reuse",
        "consumer_domains",
        "Domains that read its data",
        "other domains whose members read its data in the last 30 days (3 or more count in full)",
        consumer_domains,
        full=3,
    ),
    SignalDef(
        "access_speed",
        "within_a_day",
        "Access requests decided within a day",
        "requests of the last 90 days decided within 24 h / requests decided or waiting over 24 h",
        access_within_a_day,
    ),
    SignalDef(
        "access_speed",
        "hours",
        "Average hours from request to decision",
        "mean hours from request to decision, last 90 days (context, not scored)",
        hours_to_access,
        counted=False,
    ),
    SignalDef(
        "literacy",
        "active",
        "Members who queried or explored",
        "members with a read in the last 30 days / members",
        active_members,
    ),
    SignalDef(
        "literacy", "authors", "Members who authored an insight", "members owning a live insight / members", authors
    ),
    SignalDef(
        "literacy",
        "viewed",
        "Insights others viewed",
        "its members' insights viewed by someone else in the last 30 days / their insights",
        insights_viewed,
    ),
)

for _sig in BUILT_IN:
    register_signal(_sig)
