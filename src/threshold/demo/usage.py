"""Weeks of simulated use: every query really runs through the gateway, then its event is moved back in time.

Habits make the record believable: daily users ask several questions every working day, weekly
ones on their report day, occasional ones now and then, some never. Each person favours a few of
the questions their domains ask; the story's recurring reports (ben's energy cost forecast from
the plant KPIs ...) are asked every week. Some queries only browse a dataset, some forget to
declare a purpose, a few fail on a misspelt column.

The gateway records each event at the moment it runs; the simulation then sets `UsageEvent.at` to
the simulated working-day time, one transaction per week.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update

from threshold.demo.company import INTERFACES, PersonSpec
from threshold.demo.questions import QUESTIONS, TYPOS, Question
from threshold.demo.world import World
from threshold.errors import ThresholdError
from threshold.gateway.service import query
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.store.models import UsageEvent
from threshold.usage.journal import Pending

# Weekday each anchored report is run on (Monday = 0).
_ANCHOR_DAY = {
    "energy_forecast": 0,
    "weekly_sales": 0,
    "capacity_planning": 1,
    "supplier_risk": 2,
    "delivery_promise": 3,
    "shift_staffing": 4,
}
EXPLORE, NO_PURPOSE, TYPO, VARIANT = 0.08, 0.06, 0.012, 0.35
"""Shares of queries that browse a dataset, declare no purpose, misspell a column, read a site variant."""


@dataclass(frozen=True)
class Ask:
    at: datetime
    person: str
    sql: str
    purpose: str | None
    interface: str


@dataclass
class UsageStats:
    queries: int = 0
    failed: int = 0
    per_week: list[int] = field(default_factory=list)


@dataclass
class _Habit:
    spec: PersonSpec
    questions: list[Question]
    weights: list[float]
    report_days: tuple[int, ...]
    intensity: float


def simulate(
    platform: Platform,
    people: dict[str, tuple[PersonSpec, Person]],
    world: World,
    datasets: set[str],
    variants: dict[str, list[str]],
    *,
    seed: int,
    log: Callable[[str], None],
    before_week: Callable[[int], None] = lambda k: None,
) -> UsageStats:
    """Run `world.timeline.weeks` weeks of questions through the gateway and backdate their events."""
    rng = random.Random(seed * 1009 + 3)
    questions = [q for q in QUESTIONS if all(d in datasets for d in q.datasets)]
    habits = [_habit(rng, spec, questions) for spec, _p in people.values()]
    stats = UsageStats()
    timeline = world.timeline
    for k in range(timeline.weeks):
        before_week(k)
        asks = sorted(_plan_week(rng, k, habits, world, variants), key=lambda a: a.at)
        moved: list[dict[str, object]] = []
        # Events of successful queries, resolved in batches: asking each one's id at once would write every
        # event in a transaction of its own (`usage.journal`); ids, order and times stay the same.
        waiting: list[tuple[Pending, datetime]] = []
        last_id = _max_event_id(platform)
        for ask in asks:
            try:
                result = query(
                    platform,
                    ask.sql,
                    user=people[ask.person][1],
                    purpose=ask.purpose,
                    interface=ask.interface,
                )
                stats.queries += 1
            except ThresholdError:
                stats.failed += 1
                event_id = _max_event_id(platform)  # the gateway recorded the failure too
                last_id = _resolve(waiting, moved, last_id)
                if event_id > last_id:
                    moved.append({"id": event_id, "at": ask.at})
                    last_id = event_id
                continue
            if result.event is not None:
                waiting.append((result.event, ask.at))
        _resolve(waiting, moved, last_id)
        with platform.store.session() as s:
            if moved:
                s.execute(update(UsageEvent), moved)
        stats.per_week.append(len(asks))
        begin, end = timeline.week(k)
        last_day = end - timedelta(seconds=1)
        log(f"  week {k + 1} of {timeline.weeks} ({begin:%d %b} to {last_day:%d %b}): {len(asks):,} queries")
    return stats


def _resolve(waiting: list[tuple[Pending, datetime]], moved: list[dict[str, object]], last_id: int) -> int:
    """Move the waiting events to their simulated times (into `moved`); the highest event id seen since."""
    for pending, at in waiting:
        event_id = pending.id()
        if event_id is not None:
            moved.append({"id": event_id, "at": at})
            last_id = max(last_id, event_id)
    waiting.clear()
    return last_id


def _max_event_id(platform: Platform) -> int:
    with platform.store.session() as s:
        return int(s.scalar(select(func.max(UsageEvent.id))) or 0)


def _habit(rng: random.Random, spec: PersonSpec, questions: list[Question]) -> _Habit:
    mine = [q for q in questions if set(q.askers) & set(spec.domains)]
    # Everyone has favourites: personal affinity times how common the question is in the domain.
    weights = [q.weight * rng.uniform(0.15, 2.0) ** 2 for q in mine]
    report_days = tuple(sorted(rng.sample(range(5), 2 if rng.random() < 0.4 else 1)))
    return _Habit(spec, mine, weights, report_days, rng.uniform(0.6, 1.4))


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _plan_week(
    rng: random.Random, k: int, habits: list[_Habit], world: World, variants: dict[str, list[str]]
) -> list[Ask]:
    days = world.timeline.working_days(k)
    if not days:
        return []
    asks: list[Ask] = []
    for h in habits:
        counts: dict[int, int] = {}
        if h.spec.habit == "daily":
            counts = {i: _poisson(rng, 3.0 * h.intensity) for i in range(len(days))}
        elif h.spec.habit == "weekly":
            report = [i for i, d in enumerate(days) if d.weekday() in h.report_days] or [len(days) - 1]
            counts = {i: 1 + _poisson(rng, 2.0 * h.intensity) for i in report}
        elif h.spec.habit == "occasional" and rng.random() < 0.3:
            counts = {rng.randrange(len(days)): rng.randint(1, 3)}
        for i, n in counts.items():
            for _ in range(n):
                if h.questions:
                    question = rng.choices(h.questions, weights=h.weights)[0]
                    asks.append(_run(rng, h, question, world, days[i], k, variants))
        for key in h.spec.anchors:
            wanted = _ANCHOR_DAY.get(key, 0)
            day = next((d for d in days if d.weekday() == wanted), days[0])
            recurring = next((q for q in h.questions if q.key == key), None)
            if recurring is not None:
                asks.append(_run(rng, h, recurring, world, day, k, variants, anchored=True))
    return asks


def _run(
    rng: random.Random,
    h: _Habit,
    q: Question,
    world: World,
    day: date,
    k: int,
    variants: dict[str, list[str]],
    anchored: bool = False,
) -> Ask:
    at = world.timeline.moment(rng, day, k)
    interface = h.spec.interface if rng.random() < 0.75 else rng.choice(INTERFACES)
    roll = rng.random()
    purpose: str | None = q.purpose
    if not anchored and roll < EXPLORE:
        sql, purpose, interface = f"SELECT * FROM {rng.choice(q.datasets)} LIMIT 100", None, "web"
    elif not anchored and roll < EXPLORE + TYPO and any(d in TYPOS for d in q.datasets):
        ds = next(d for d in q.datasets if d in TYPOS)
        sql = f"SELECT {TYPOS[ds]}, count(*) AS n FROM {ds} GROUP BY 1"
    else:
        sql = q.sql.format(**q.params(rng, world, day))
        if not anchored and roll > 1 - NO_PURPOSE:
            purpose = None
    for ds in q.datasets:
        if variants.get(ds) and rng.random() < VARIANT and not anchored:
            sql = re.sub(rf"\b{re.escape(ds)}\b", rng.choice(variants[ds]), sql)
    return Ask(at, h.spec.name, sql, purpose, interface)
