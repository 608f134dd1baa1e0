"""Data use as part of the job: a person's report for a month or a quarter, for the person first, and the
totals of a team for its lead (never a ranking, never one person's figures).

Who sees what is decided by the decision point (`report.person.read`, `report.team.read`) and the
organisation's settings (`literacy.*`): one person's report is theirs alone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, distinct, func, or_, select
from sqlalchemy.orm import Session

from threshold.access import DomainRef, PersonRef, knowable, require
from threshold.errors import InvalidInput, NotFound
from threshold.glossary.models import GlossaryRevision
from threshold.identity.service import Person
from threshold.insights.models import Insight, InsightView
from threshold.literacy.models import LearningCompletion
from threshold.literacy.service import my_learning, progress_by_domain, tracks_of
from threshold.platform import Platform
from threshold.quality.models import Incident
from threshold.store.models import Dataset, Domain, Membership, Share, UsageEvent, UsageRead, User
from threshold.usage.service import flush

MAX_ROWS = 50
"""Datasets, insights and shared datasets listed at most per report section (totals count all)."""

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")


@dataclass(frozen=True)
class Period:
    label: str
    """`2026-11` (a month) or `2026-Q4` (a quarter)."""
    start: datetime
    end: datetime
    """Exclusive."""


def period_of(text: str | None, now: datetime) -> Period:
    """The period named `text` (`YYYY-MM` or `YYYY-Qn`); None: the month of `now`."""
    raw = (text or "").strip() or f"{now.year:04d}-{now.month:02d}"
    if m := _MONTH.match(raw):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise InvalidInput(f"no month {raw[:20]!r}: a period is YYYY-MM or YYYY-Qn (2026-11, 2026-Q4)")
        start = datetime(year, month, 1, tzinfo=UTC)
        end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
        return Period(f"{year:04d}-{month:02d}", start, end)
    if m := _QUARTER.match(raw):
        year, q = int(m[1]), int(m[2])
        start = datetime(year, 3 * q - 2, 1, tzinfo=UTC)
        end = datetime(year + (q == 4), (3 * q) % 12 + 1, 1, tzinfo=UTC)
        return Period(f"{year:04d}-Q{q}", start, end)
    raise InvalidInput(f"a period is YYYY-MM or YYYY-Qn (2026-11, 2026-Q4), not {raw[:20]!r}")


@dataclass(frozen=True)
class DomainCount:
    domain: str
    people: int


@dataclass(frozen=True)
class DatasetUse:
    dataset: str
    queries: int


@dataclass(frozen=True)
class InsightMade:
    id: int
    title: str
    viewers: int
    """Distinct people other than the author who looked at it in the period."""
    by_domain: list[DomainCount]
    names: list[str] = field(default_factory=list)
    """Only when the organisation shows names (`literacy.viewer_names`)."""


@dataclass(frozen=True)
class SharedUse:
    dataset: str
    consumers: int
    """Distinct other people who used it in the period."""
    queries: int
    by_domain: list[DomainCount]
    names: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LearningDone:
    task: str
    at: str
    by: str
    """The event that ticked it."""


@dataclass(frozen=True)
class Learning:
    track: str
    done: int
    total: int
    in_period: list[LearningDone]


@dataclass(frozen=True)
class PersonalReport:
    person: str
    display_name: str
    period: str
    start: str
    end: str
    queries: int
    datasets_used: list[DatasetUse]
    insights: list[InsightMade]
    shared: list[SharedUse]
    descriptions: int
    """Datasets they shared with a description in the period."""
    terms: int
    """Glossary terms (and edits) they put up for review in the period."""
    incidents_fixed: int
    learning: list[Learning]


def personal_report(
    platform: Platform, person: Person, *, period: str | None = None, of: str | None = None
) -> PersonalReport:
    """`person`'s own report for `period`. `of` (another person's name) is refused as if that person had no
    report: a report is for its person alone (`report.person.read`)."""
    if of is not None and of.strip().lower() != person.name:
        require(person, "report.person.read", PersonRef(-1, of.strip().lower()[:63]))
    require(person, "report.person.read", PersonRef(person.id, person.name))
    p = period_of(period, platform.clock())
    names = platform.settings.literacy.viewer_names
    flush(platform)
    with platform.store.session() as s:
        used = _used(s, [person.id], p)
        queries = sum(u.queries for u in used)
        insights = _insights(s, person, p, names)
        shared = _shared(s, person, p, names)
        descriptions = _descriptions(s, [person.id], p)
        terms = _terms(s, [person.id], p)
        fixed = _fixed(s, [person.id], p)
        done = s.execute(
            select(LearningCompletion.track, LearningCompletion.task, LearningCompletion.at, LearningCompletion.event)
            .where(LearningCompletion.user_id == person.id, *_within(LearningCompletion.at, p))
            .order_by(LearningCompletion.at)
        ).all()
    titles = {(t.key, k.key): k.title for t in tracks_of(platform) for k in t.tasks}
    learning = [
        Learning(
            path.track,
            path.done,
            path.total,
            [LearningDone(titles.get((tr, ta), ta), _iso(at), ev) for tr, ta, at, ev in done if tr == path.track],
        )
        for path in my_learning(platform, person).paths
    ]
    return PersonalReport(
        person.name,
        person.display_name,
        p.label,
        _iso(p.start),
        _iso(p.end),
        queries,
        used[:MAX_ROWS],
        insights,
        shared,
        descriptions,
        terms,
        fixed,
        learning,
    )


@dataclass(frozen=True)
class TeamReport:
    """A domain's totals over its members: no names, no ranking, nobody's own figures."""

    domain: str
    period: str
    people: int
    active_people: int
    """Members who used data at least once in the period."""
    queries: int
    datasets_used: int
    insights_made: int
    insight_viewers: int
    datasets_shared: int
    consumers: int
    """Distinct people outside the team who used what the team shared."""
    descriptions: int
    terms: int
    incidents_fixed: int
    learning_progress: float
    """The mean share of their track's tasks the members did (ever), 0..1."""
    tasks_done_in_period: int


def team_report(platform: Platform, person: Person, domain: str, *, period: str | None = None) -> TeamReport:
    """The totals of `domain`'s members for `period`: for its owners, when the organisation switched the team
    view on (`literacy.team_view`), and only for a team of at least `literacy.team_min_people`."""
    name = (domain or "").strip().lower()[:63]
    require(person, "report.team.read", DomainRef(name), platform=platform)
    p = period_of(period, platform.clock())
    flush(platform)
    with platform.store.session() as s:
        dom = s.scalars(select(Domain).where(Domain.name == name)).one_or_none()
        if dom is None:
            raise NotFound(f"no team report of {name!r}")
        ids = list(s.scalars(select(Membership.user_id).where(Membership.domain_id == dom.id)))
        least = platform.settings.literacy.team_min_people
        if len(ids) < least:
            raise InvalidInput(
                f"{name} has {len(ids)} members: its totals would show people; the team view needs {least} or more"
            )
        used = _used(s, ids, p)
        active = (
            s.scalar(select(func.count(distinct(UsageEvent.user_id))).where(UsageEvent.user_id.in_(ids), *_ok(p))) or 0
        )
        mine = select(Insight.id).where(Insight.owner_id.in_(ids))
        insights_made = (
            s.scalar(select(func.count()).select_from(mine.where(*_within(Insight.created_at, p)).subquery())) or 0
        )
        viewers = (
            s.scalar(
                select(func.count(distinct(InsightView.user_id))).where(
                    InsightView.insight_id.in_(mine), InsightView.user_id.not_in(ids), *_seen(p)
                )
            )
            or 0
        )
        shared_ids = select(Share.dataset_id).where(Share.user_id.in_(ids))
        datasets_shared = s.scalar(select(func.count(distinct(Share.dataset_id))).where(Share.user_id.in_(ids))) or 0
        consumers = (
            s.scalar(
                select(func.count(distinct(UsageEvent.user_id)))
                .join(UsageRead, UsageRead.event_id == UsageEvent.id)
                .where(UsageRead.dataset_id.in_(shared_ids), UsageEvent.user_id.not_in(ids), *_ok(p))
            )
            or 0
        )
        descriptions = _descriptions(s, ids, p)
        terms = _terms(s, ids, p)
        fixed = _fixed(s, ids, p)
        done_in_period = (
            s.scalar(
                select(func.count()).where(LearningCompletion.user_id.in_(ids), *_within(LearningCompletion.at, p))
            )
            or 0
        )
        progress = progress_by_domain(s, datetime(1970, 1, 1, tzinfo=UTC), tracks=tracks_of(platform)).get(name, 0.0)
    return TeamReport(
        name,
        p.label,
        len(ids),
        int(active),
        sum(u.queries for u in used),
        len(used),
        int(insights_made),
        int(viewers),
        int(datasets_shared),
        int(consumers),
        descriptions,
        terms,
        fixed,
        progress,
        int(done_in_period),
    )


def team_domains(platform: Platform, person: Person) -> list[str]:
    """The domains whose team view `person` may open (none while the team view is off)."""
    if not platform.settings.literacy.team_view:
        return []
    return sorted(person.owner_of)


# --- the parts --------------------------------------------------------------------------------------


def _within(col: Any, p: Period) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return (col >= p.start, col < p.end)


def _ok(p: Period) -> tuple[ColumnElement[bool], ...]:
    return (UsageEvent.status == "ok", UsageEvent.kind == "consumption", *_within(UsageEvent.at, p))


def _seen(p: Period) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return (InsightView.last_at >= p.start, InsightView.first_at < p.end)


def _used(s: Session, ids: list[int], p: Period) -> list[DatasetUse]:
    """What these people read in the period, busiest first (each person read it: they may know it)."""
    rows = s.execute(
        select(Dataset.full_name, func.count(UsageEvent.id))
        .select_from(UsageEvent)
        .join(UsageRead, UsageRead.event_id == UsageEvent.id)
        .join(Dataset, Dataset.id == UsageRead.dataset_id)
        .where(UsageEvent.user_id.in_(ids), *_ok(p))
        .group_by(Dataset.full_name)
        .order_by(func.count(UsageEvent.id).desc(), Dataset.full_name)
    ).all()
    return [DatasetUse(n, int(c)) for n, c in rows]


def _by_domain(s: Session, user_ids: set[int]) -> list[DomainCount]:
    counts: dict[str, int] = defaultdict(int)
    seen: set[int] = set()
    for domain, uid in s.execute(
        select(Domain.name, Membership.user_id)
        .join(Membership, Membership.domain_id == Domain.id)
        .where(Membership.user_id.in_(user_ids))
    ):
        counts[domain] += 1
        seen.add(uid)
    if len(seen) < len(user_ids):
        counts["(no domain)"] += len(user_ids) - len(seen)
    return [DomainCount(d, n) for d, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))]


def _names(s: Session, user_ids: set[int]) -> list[str]:
    return list(s.scalars(select(User.name).where(User.id.in_(user_ids)).order_by(User.name)))


def _insights(s: Session, person: Person, p: Period, names: bool) -> list[InsightMade]:
    """The insights they own (made in or before the period) that existed in it, with who looked in it."""
    rows = s.execute(
        select(Insight.id, Insight.title)
        .where(Insight.owner_id == person.id, Insight.created_at < p.end)
        .order_by(Insight.created_at.desc(), Insight.id.desc())
        .limit(MAX_ROWS)
    ).all()
    out = []
    for iid, title in rows:
        viewers = set(
            s.scalars(
                select(InsightView.user_id).where(
                    InsightView.insight_id == iid, InsightView.user_id != person.id, *_seen(p)
                )
            )
        )
        out.append(InsightMade(iid, title, len(viewers), _by_domain(s, viewers), _names(s, viewers) if names else []))
    return out


def _shared(s: Session, person: Person, p: Period, names: bool) -> list[SharedUse]:
    """The datasets they shared (still knowable to them), with who else used them in the period."""
    ds = s.execute(
        select(Dataset.id, Dataset.full_name)
        .join(Domain, Domain.id == Dataset.domain_id)
        .where(
            knowable(person),
            or_(
                Dataset.created_by_id == person.id,
                Dataset.id.in_(select(Share.dataset_id).where(Share.user_id == person.id)),
            ),
        )
        .order_by(Dataset.full_name)
        .limit(MAX_ROWS)
    ).all()
    out = []
    for ds_id, full_name in ds:
        rows = s.execute(
            select(UsageEvent.user_id, func.count(UsageEvent.id))
            .join(UsageRead, UsageRead.event_id == UsageEvent.id)
            .where(UsageRead.dataset_id == ds_id, UsageEvent.user_id != person.id, *_ok(p))
            .group_by(UsageEvent.user_id)
        ).all()
        users = {int(u) for u, _ in rows if u is not None}
        out.append(
            SharedUse(
                full_name,
                len(users),
                sum(int(c) for _, c in rows),
                _by_domain(s, users),
                _names(s, users) if names else [],
            )
        )
    out.sort(key=lambda x: (-x.queries, x.dataset))
    return out


def _descriptions(s: Session, ids: list[int], p: Period) -> int:
    return int(
        s.scalar(
            select(func.count(Dataset.id)).where(
                Dataset.created_by_id.in_(ids), Dataset.description != "", *_within(Dataset.created_at, p)
            )
        )
        or 0
    )


def _terms(s: Session, ids: list[int], p: Period) -> int:
    return int(
        s.scalar(
            select(func.count(GlossaryRevision.id)).where(
                GlossaryRevision.author_id.in_(ids),
                GlossaryRevision.submitted_at.is_not(None),
                *_within(GlossaryRevision.submitted_at, p),
            )
        )
        or 0
    )


def _fixed(s: Session, ids: list[int], p: Period) -> int:
    return int(
        s.scalar(select(func.count(Incident.id)).where(Incident.fixed_by_id.in_(ids), *_within(Incident.fixed_at, p)))
        or 0
    )


def _iso(d: datetime) -> str:
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).isoformat(timespec="seconds")
