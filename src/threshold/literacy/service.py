"""Learning by doing: a person's path through a track (what is done, when and by which action, what to try
next), cohorts that follow a track together, and the learning signal other capabilities read.

Completions are written only by `ticking` (from real events); nothing here marks a task done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from threshold.access import require
from threshold.errors import Conflict, InvalidInput, NotFound
from threshold.identity.service import Person
from threshold.literacy import tracks as tracks_mod
from threshold.literacy.models import Cohort, CohortMember, LearningCompletion
from threshold.literacy.tracks import Track
from threshold.platform import Platform
from threshold.store.models import Domain, Membership, User

MAX_COHORT = 500
"""People in one cohort at most."""


def tracks_of(platform: Platform) -> tuple[Track, ...]:
    """The organisation's learning tracks (`literacy.tracks_file`, else the shipped programme)."""
    return tracks_mod.load(platform.settings.literacy.tracks_file)


@dataclass(frozen=True)
class TaskState:
    key: str
    title: str
    week: int
    event: str
    hint: str
    link: str
    done_at: str | None = None
    done_by: str | None = None
    """The event that ticked it (`query_done`, `insight_saved` ...)."""
    ref: str | None = None
    """What the action was about (datasets, a request, an insight)."""


@dataclass(frozen=True)
class WeekState:
    number: int
    title: str
    tasks: list[TaskState]


@dataclass(frozen=True)
class Path:
    """One person's way through one track."""

    track: str
    title: str
    description: str
    cohort: str | None
    starts_on: str | None
    current_week: int | None
    """The cohort's week today (1-based; 0 before it starts), None outside a cohort."""
    done: int
    total: int
    weeks: list[WeekState]
    next: TaskState | None
    """The first task not done yet, in the track's order: what to try next."""


@dataclass(frozen=True)
class MyLearning:
    person: str
    paths: list[Path]


@dataclass(frozen=True)
class TrackInfo:
    key: str
    title: str
    description: str
    weeks: int
    tasks: int


def list_tracks(platform: Platform) -> list[TrackInfo]:
    return [TrackInfo(t.key, t.title, t.description, len(t.weeks), len(t.tasks)) for t in tracks_of(platform)]


def my_learning(platform: Platform, person: Person) -> MyLearning:
    """`person`'s paths: the tracks of their cohorts (the first track when they are in none)."""
    tracks = tracks_of(platform)
    now = platform.clock()
    with platform.store.session() as s:
        cohorts = s.execute(
            select(Cohort.name, Cohort.track, Cohort.starts_on)
            .join(CohortMember, CohortMember.cohort_id == Cohort.id)
            .where(CohortMember.user_id == person.id)
            .order_by(Cohort.starts_on.desc(), Cohort.name)
        ).all()
        done = {
            (c.track, c.task): c
            for c in s.scalars(select(LearningCompletion).where(LearningCompletion.user_id == person.id))
        }
    chosen: list[tuple[Track, str | None, date | None]] = []
    for name, key, since in cohorts:
        found = next((t for t in tracks if t.key == key), None)
        if found is not None and all(found.key != c[0].key for c in chosen):
            chosen.append((found, name, since))
    if not chosen:
        chosen.append((tracks[0], None, None))
    paths = []
    for t, cohort, starts in chosen:
        weeks = [
            WeekState(
                w.number,
                w.title,
                [_state(task, done.get((t.key, task.key))) for task in w.tasks],
            )
            for w in t.weeks
        ]
        states = [s for w in weeks for s in w.tasks]
        paths.append(
            Path(
                t.key,
                t.title,
                t.description,
                cohort,
                starts.isoformat() if starts else None,
                week_of(starts, now, len(t.weeks)) if starts else None,
                sum(1 for s in states if s.done_at),
                len(states),
                weeks,
                next((s for s in states if not s.done_at), None),
            )
        )
    return MyLearning(person.name, paths)


def _state(task: tracks_mod.Task, c: LearningCompletion | None) -> TaskState:
    return TaskState(
        task.key,
        task.title,
        task.week,
        task.event,
        task.hint,
        task.link,
        _iso(c.at) if c else None,
        c.event if c else None,
        c.ref if c else None,
    )


def week_of(starts: date, now: datetime, weeks: int) -> int:
    """The programme's week on `now` (1 on the start day; 0 before; at most `weeks`)."""
    days = (now.date() - starts).days
    if days < 0:
        return 0
    return min(weeks, days // 7 + 1)


# --- cohorts -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortTask:
    key: str
    title: str
    done: int
    """Members who did it."""
    not_done: int


@dataclass(frozen=True)
class CohortWeek:
    number: int
    title: str
    tasks: list[CohortTask]
    done_share: float
    """Done tasks of the week over (members x tasks of the week), 0..1."""
    past: bool
    """The cohort is beyond this week: what is not done now is stalled."""


@dataclass(frozen=True)
class Stall:
    task: str
    title: str
    week: int
    not_done: int


@dataclass(frozen=True)
class CohortView:
    """A cohort's progress, as totals: nobody's individual progress is named here."""

    name: str
    track: str
    track_title: str
    starts_on: str
    current_week: int
    weeks_total: int
    members: int
    weeks: list[CohortWeek]
    stalls: list[Stall] = field(default_factory=list)
    """Tasks of past weeks most often not done, most first."""


@dataclass(frozen=True)
class CohortSummary:
    name: str
    track: str
    starts_on: str
    members: int
    current_week: int


def create_cohort(
    platform: Platform, person: Person, name: str, *, track: str, starts_on: date, members: list[str]
) -> CohortView:
    """A cohort of `members` (user names) on `track` from `starts_on`; organisers only."""
    require(person, "cohort.organise")
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput("a cohort needs a name of 1 to 100 characters")
    t = tracks_mod.track(tracks_of(platform), track)
    wanted = sorted({m.strip().lower() for m in members if m.strip()})
    if not wanted:
        raise InvalidInput("a cohort needs at least one person (--member)")
    if len(wanted) > MAX_COHORT:
        raise InvalidInput(f"a cohort has at most {MAX_COHORT} people")
    with platform.store.session() as s:
        if s.scalar(select(Cohort.id).where(Cohort.name == name)) is not None:
            raise Conflict(f"a cohort named {name!r} exists already")
        users = dict(s.execute(select(User.name, User.id).where(User.name.in_(wanted))).all())
        unknown = [m for m in wanted if m not in users]
        if unknown:
            raise NotFound(f"no user {', '.join(repr(u[:63]) for u in unknown[:5])}")
        c = Cohort(name=name, track=t.key, starts_on=starts_on, created_by_id=person.id, created_at=platform.clock())
        s.add(c)
        s.flush()
        s.add_all(CohortMember(cohort_id=c.id, user_id=users[m]) for m in wanted)
    return show_cohort(platform, person, name)


def list_cohorts(platform: Platform, person: Person) -> list[CohortSummary]:
    require(person, "cohort.organise")
    tracks = {t.key: t for t in tracks_of(platform)}
    now = platform.clock()
    with platform.store.session() as s:
        rows = s.execute(
            select(Cohort.name, Cohort.track, Cohort.starts_on, func.count(CohortMember.user_id))
            .outerjoin(CohortMember, CohortMember.cohort_id == Cohort.id)
            .group_by(Cohort.id, Cohort.name, Cohort.track, Cohort.starts_on)
            .order_by(Cohort.starts_on.desc(), Cohort.name)
        ).all()
    out = []
    for name, track, starts, n in rows:
        weeks = len(tracks[track].weeks) if track in tracks else 0
        out.append(CohortSummary(name, track, starts.isoformat(), int(n), week_of(starts, now, weeks)))
    return out


def show_cohort(platform: Platform, person: Person, name: str) -> CohortView:
    """A cohort's progress per week and where its people stall (organisers only; totals, no names)."""
    require(person, "cohort.organise")
    now = platform.clock()
    with platform.store.session() as s:
        c = s.scalars(select(Cohort).where(Cohort.name == (name or "").strip())).one_or_none()
        if c is None:
            raise NotFound(f"no cohort {name[:100]!r}")
        t = tracks_mod.track(tracks_of(platform), c.track)
        member_ids = select(CohortMember.user_id).where(CohortMember.cohort_id == c.id)
        members = s.scalar(select(func.count()).select_from(member_ids.subquery())) or 0
        counts = dict(
            s.execute(
                select(LearningCompletion.task, func.count(LearningCompletion.user_id))
                .where(
                    LearningCompletion.track == t.key,
                    LearningCompletion.user_id.in_(member_ids),
                    LearningCompletion.at <= now,
                )
                .group_by(LearningCompletion.task)
            ).all()
        )
        starts = c.starts_on
        cname = c.name
    current = week_of(starts, now, len(t.weeks))
    weeks = []
    stalls = []
    for w in t.weeks:
        tasks = [
            CohortTask(k.key, k.title, int(counts.get(k.key, 0)), members - int(counts.get(k.key, 0))) for k in w.tasks
        ]
        cells = members * len(tasks)
        past = now.date() >= starts + timedelta(days=7 * w.number)  # the week is over
        weeks.append(
            CohortWeek(w.number, w.title, tasks, round(sum(k.done for k in tasks) / cells, 4) if cells else 0.0, past)
        )
        if past:
            stalls += [Stall(k.key, k.title, w.number, k.not_done) for k in tasks if k.not_done]
    stalls.sort(key=lambda x: (-x.not_done, x.week, x.task))
    return CohortView(cname, t.key, t.title, starts.isoformat(), current, len(t.weeks), members, weeks, stalls)


# --- the learning signal -----------------------------------------------------------------------------


def progress_by_domain(
    session: Session, since: datetime, *, until: datetime | None = None, tracks: tuple[Track, ...] | None = None
) -> dict[str, float]:
    """Per domain (with members): the mean share of their track's tasks its members did since `since`, 0..1.

    A member's track is that of their newest cohort, else the first track. `tracks` defaults to the shipped
    programme (pass `tracks_of(platform)` for the organisation's)."""
    return {
        name: round(total / members, 4)
        for (_, name), (total, members) in sorted(
            learning_by_domain(session, since, until=until, tracks=tracks).items(), key=lambda kv: kv[0][1]
        )
    }


def learning_by_domain(
    session: Session, since: datetime, *, until: datetime | None = None, tracks: tuple[Track, ...] | None = None
) -> dict[tuple[int, str], tuple[float, int]]:
    """(domain id, name) -> (sum over its members of the share of their track done in [since, until), members):
    the maturity model's learning signal (literacy dimension) reads it."""
    tracks = tracks or tracks_mod.load(None)
    by_key = {t.key: t for t in tracks}
    first = tracks[0]
    members = session.execute(
        select(Domain.id, Domain.name, Membership.user_id).join(Membership, Membership.domain_id == Domain.id)
    ).all()
    cohort_track: dict[int, str] = {}
    for uid, key in session.execute(
        select(CohortMember.user_id, Cohort.track)
        .join(Cohort, Cohort.id == CohortMember.cohort_id)
        .order_by(Cohort.starts_on, Cohort.id)
    ):
        if key in by_key:
            cohort_track[uid] = key  # the newest cohort wins (ordered oldest first)
    done: dict[tuple[int, str], int] = {}
    valid = {(t.key, k.key) for t in tracks for k in t.tasks}
    window = LearningCompletion.at >= _aware(since)
    if until is not None:
        window = window & (LearningCompletion.at < _aware(until))
    for uid, track, task in session.execute(
        select(LearningCompletion.user_id, LearningCompletion.track, LearningCompletion.task).where(window)
    ):
        if (track, task) in valid:
            done[(uid, track)] = done.get((uid, track), 0) + 1
    out: dict[tuple[int, str], tuple[float, int]] = {}
    for domain_id, domain, uid in members:
        t = by_key.get(cohort_track.get(uid, first.key), first)
        total, count = out.get((domain_id, domain), (0.0, 0))
        out[(domain_id, domain)] = (total + done.get((uid, t.key), 0) / len(t.tasks), count + 1)
    return out


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def _iso(d: datetime | None) -> str | None:
    if d is None:
        return None
    return _aware(d).isoformat(timespec="seconds")
