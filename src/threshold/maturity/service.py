"""What the maturity model says, read from snapshots: the organisation's dashboard (domains x dimensions and
the trend) and one domain's standing (scores with their signals, next step to its target, actions).

`against="then"` compares with the target picture in force when the snapshot was taken (the levels stored
with it); `against="now"` re-levels the stored scores with today's picture. Neither recomputes the past.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from threshold.access import DomainRef, may, require
from threshold.errors import InvalidInput, NotFound
from threshold.identity.service import Person
from threshold.maturity import assessment
from threshold.maturity.models import Score, Snapshot
from threshold.maturity.moves import Move, moves
from threshold.maturity.picture import DIMENSIONS, Picture, Question
from threshold.maturity.signals import Signal
from threshold.maturity.target import _domain, in_force, version
from threshold.platform import Platform
from threshold.store.models import Domain

AGAINST = ("then", "now")
MAX_TREND = 24
"""Snapshots a trend shows (two years of monthly ones)."""


@dataclass(frozen=True)
class Cell:
    dimension: str
    score: float
    level: int
    target: int
    baseline: int


@dataclass(frozen=True)
class DomainRow:
    domain: str
    title: str
    cells: list[Cell]

    @property
    def below_baseline(self) -> list[str]:
        return [c.dimension for c in self.cells if c.level < c.baseline]


@dataclass(frozen=True)
class TrendPoint:
    snapshot_id: int
    at: datetime
    scores: dict[str, float]
    """{dimension: score} (the organisation's mean over domains on the dashboard; the domain's own on its page)."""


@dataclass(frozen=True)
class Dashboard:
    snapshot_id: int | None
    at: datetime | None
    against: str
    picture_version: int
    north_star: str
    level_names: list[str]
    dimensions: list[str]
    rows: list[DomainRow]
    trend: list[TrendPoint]
    may_snapshot: bool


@dataclass(frozen=True)
class DimensionScore:
    dimension: str
    score: float
    level: int
    level_name: str
    target: int
    baseline: int
    signals: list[Signal]


@dataclass(frozen=True)
class NextStep:
    dimension: str
    level: int
    to_level: int
    to_name: str
    needs: float
    """The score the next level needs."""
    gap: float


@dataclass(frozen=True)
class Standing:
    domain: str
    title: str
    snapshot_id: int | None
    at: datetime | None
    against: str
    picture_version: int
    north_star: str
    dimensions: list[DimensionScore]
    next_steps: list[NextStep]
    moves: list[Move]
    trend: list[TrendPoint]
    questions: list[Question]
    assessment: assessment.AssessmentView | None
    may_assess: bool
    may_propose: bool
    at_target: bool = field(default=False)


def dashboard(platform: Platform, viewer: Person, *, against: str = "then", snapshot: int | None = None) -> Dashboard:
    """The organisation: every domain's level per dimension in the newest (or given) snapshot, and the trend."""
    require(viewer, "maturity.view")
    _check(against)
    with platform.store.reader() as s:
        snap = _snapshot(s, snapshot)
        now_version, now_picture = in_force(s)
        if snap is None:
            return Dashboard(
                None,
                None,
                against,
                now_version,
                now_picture.north_star,
                list(now_picture.names),
                list(DIMENSIONS),
                [],
                [],
                bool(may(viewer, "maturity.snapshot")),
            )
        version_no, picture = _picture(s, snap, against, now_version, now_picture)
        rows = s.execute(
            select(Domain.name, Domain.title, Score.dimension, Score.score, Score.level, Score.target)
            .join(Domain, Domain.id == Score.domain_id)
            .where(Score.snapshot_id == snap.id)
            .order_by(Domain.name)
        ).all()
        by_domain: dict[str, tuple[str, dict[str, Cell]]] = {}
        for name, title, dim, score, level, target in rows:
            cell = _cell(picture, against, name, dim, score, level, target)
            by_domain.setdefault(name, (title, {}))[1][dim] = cell
        out = [
            DomainRow(name, title, [cells[d] for d in DIMENSIONS if d in cells])
            for name, (title, cells) in by_domain.items()
        ]
        trend = _trend(s, snap.at, None)
        return Dashboard(
            snap.id,
            _aware(snap.at),
            against,
            version_no,
            picture.north_star,
            list(picture.names),
            list(DIMENSIONS),
            out,
            trend,
            bool(may(viewer, "maturity.snapshot")),
        )


def standing(platform: Platform, viewer: Person, domain: str, *, against: str = "then") -> Standing:
    """Where `domain` stands: scores with their signals, its next step to its target and what would move it."""
    require(viewer, "maturity.view")
    _check(against)
    with platform.store.reader() as s:
        d = _domain(s, domain)
        now_version, now_picture = in_force(s)
        snap = _snapshot(s, None)
        dims: list[DimensionScore] = []
        version_no, picture = now_version, now_picture
        if snap is not None:
            version_no, picture = _picture(s, snap, against, now_version, now_picture)
            for sc in s.scalars(select(Score).where(Score.snapshot_id == snap.id, Score.domain_id == d.id)):
                c = _cell(picture, against, d.name, sc.dimension, sc.score, sc.level, sc.target)
                dims.append(
                    DimensionScore(
                        c.dimension,
                        c.score,
                        c.level,
                        picture.name(c.level),
                        c.target,
                        c.baseline,
                        [Signal.from_dict(x) for x in sc.signals],
                    )
                )
            dims.sort(key=lambda x: DIMENSIONS.index(x.dimension))
        steps = [
            NextStep(
                x.dimension,
                x.level,
                x.level + 1,
                picture.name(x.level + 1),
                picture.needs(x.dimension, x.level + 1),
                round(picture.needs(x.dimension, x.level + 1) - x.score, 1),
            )
            for x in dims
            if x.level < x.target
        ]
        steps.sort(key=lambda n: (n.level - _target_of(dims, n.dimension), n.gap))
        below = {n.dimension for n in steps}
        found = moves(s, viewer, d.id, below, platform.clock()) if below else []
        views = _newest_assessment(s, d)
        return Standing(
            domain=d.name,
            title=d.title,
            snapshot_id=snap.id if snap else None,
            at=_aware(snap.at) if snap else None,
            against=against,
            picture_version=version_no,
            north_star=picture.north_star,
            dimensions=dims,
            next_steps=steps,
            moves=found,
            trend=_trend(s, snap.at, d.id) if snap else [],
            questions=list(now_picture.questions),
            assessment=views,
            may_assess=bool(may(viewer, "maturity.assess", DomainRef(d.name))),
            may_propose=bool(may(viewer, "maturity.target.propose", DomainRef(d.name))),
            at_target=bool(dims) and not steps,
        )


def _target_of(dims: list[DimensionScore], dimension: str) -> int:
    return next(x.target for x in dims if x.dimension == dimension)


def _newest_assessment(s: Session, d: Domain) -> assessment.AssessmentView | None:
    from threshold.maturity.models import Assessment
    from threshold.store.models import User

    row = s.execute(
        select(Assessment, User.name)
        .outerjoin(User, User.id == Assessment.answered_by_id)
        .where(Assessment.domain_id == d.id)
        .order_by(Assessment.number.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    a, name = row
    return assessment.AssessmentView(d.name, a.number, dict(a.answers), a.note, name, _aware(a.at))


def _check(against: str) -> None:
    if against not in AGAINST:
        raise InvalidInput(f"against: expected one of {', '.join(AGAINST)}, not {against[:20]!r}")


def _snapshot(s: Session, snapshot_id: int | None) -> Snapshot | None:
    if snapshot_id is not None:
        snap = s.get(Snapshot, snapshot_id)
        if snap is None:
            raise NotFound(f"no maturity snapshot #{snapshot_id}; see `threshold maturity history`")
        return snap
    return s.scalars(select(Snapshot).order_by(Snapshot.at.desc(), Snapshot.id.desc()).limit(1)).first()


def _picture(s: Session, snap: Snapshot, against: str, now_version: int, now_picture: Picture) -> tuple[int, Picture]:
    if against == "now":
        return now_version, now_picture
    return snap.picture_version, version(s, snap.picture_version)


def _cell(picture: Picture, against: str, domain: str, dim: str, score: float, level: int, target: int) -> Cell:
    if against == "then":
        return Cell(dim, score, level, target, picture.baseline[dim])
    return Cell(dim, score, picture.level(dim, score), picture.target(domain, dim), picture.baseline[dim])


def _trend(s: Session, upto: datetime, domain_id: int | None) -> list[TrendPoint]:
    """Scores of the last snapshots up to `upto`, read back (the organisation's mean when `domain_id` is None)."""
    snaps = list(
        s.execute(
            select(Snapshot.id, Snapshot.at)
            .where(Snapshot.at <= upto)
            .order_by(Snapshot.at.desc(), Snapshot.id.desc())
            .limit(MAX_TREND)
        )
    )
    if not snaps:
        return []
    ids = [i for i, _ in snaps]
    q = select(Score.snapshot_id, Score.dimension, func.avg(Score.score)).where(Score.snapshot_id.in_(ids))
    if domain_id is not None:
        q = q.where(Score.domain_id == domain_id)
    values: dict[int, dict[str, float]] = {}
    for sid, dim, score in s.execute(q.group_by(Score.snapshot_id, Score.dimension)):
        values.setdefault(int(sid), {})[dim] = round(float(score), 1)
    return [TrendPoint(i, _aware(at), values.get(i, {})) for i, at in reversed(snaps) if i in values]


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)
