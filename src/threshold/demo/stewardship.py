"""How the demo's domains look after their data, the difference the maturity dashboard shows.

Manufacturing, the mature domain, made its datasets products in the first simulated week (accountable owners,
contracts whose checks run against the real tables, a freshness SLO on the weekly plant KPIs), acknowledges
and fixes the problems its consumers report within hours, and decides access requests the same morning.
Human Resources runs on spreadsheets: no products, no checks, and its requests wait days for an answer (one
still waits).

Everything goes through the real services (promote, report / ack / fix, request / approve). They stamp what
they record with the platform's clock, so each step runs with the clock standing at its moment in the
simulated weeks and its records are dated then. People missing from a small build are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from threshold.demo.world import Timeline
from threshold.errors import ThresholdError
from threshold.identity.service import Person, get_person
from threshold.platform import Platform
from threshold.store.models import Dataset

PRODUCTS = (
    # dataset, owner, who promotes it, freshness SLO in hours (the weekly KPIs: a week and a day), working day
    ("manufacturing.plant_kpis", "anna", "anna", 8 * 24, 1),
    ("manufacturing.quality_inspections", "lea", "anna", None, 2),
    ("manufacturing.maintenance_log", "tomasz", "markus", None, 3),
    ("manufacturing.machine_sensors", "jonas", "markus", None, 4),
    ("supply_chain.shipments", "carlos", "carlos", None, 4),
)
"""Products promoted by a domain owner in the first simulated week: all of Manufacturing's generated datasets,
Supply Chain's first one."""


@dataclass(frozen=True)
class Problem:
    reporter: str
    subject: str
    description: str
    week: int
    hours_to_ack: float
    hours_to_fix: float


PROBLEMS = (
    Problem("ben", "manufacturing.plant_kpis.energy_kwh",
            "Lyon line 3 reports 0 kWh on two days of a running week: meter export missing?", 1, 0.5, 26),
    Problem("ingrid", "manufacturing.maintenance_log.downtime_hours",
            "Some work orders end before they start: negative downtime.", 2, 2, 30),
)  # fmt: skip
"""Problems consumers reported on Manufacturing's data, with how long its owners took."""


@dataclass(frozen=True)
class Ask:
    requester: str
    dataset: str
    purpose: str
    decider: str
    week: int
    hours_to_decide: float | None
    """None: still waiting."""


REQUESTS = (
    Ask("felix", "manufacturing.quality_inspections", "yield model validation", "anna", 0, 2),
    Ask("ingrid", "manufacturing.machine_sensors", "capacity planning", "anna", 1, 3.5),
    Ask("olivia", "manufacturing.plant_kpis", "sales forecast", "markus", 1, 1),
    Ask("marta", "manufacturing.maintenance_log", "maintenance cost review", "anna", 2, 5),
    Ask("markus", "hr.absences", "shift planning", "sabine", 0, 6 * 24),
    Ask("claudia", "hr.employees", "headcount planning", "sabine", 1, 4 * 24 + 3),
    Ask("lea", "hr.trainings", "qualification matrix", "sabine", -1, None),
    Ask("ben", "supply_chain.suppliers", "supplier cost review", "carlos", 0, 10),
    Ask("hannah", "supply_chain.shipments", "delivery promise pricing", "carlos", 2, 28),
)
"""Access requests of the simulated weeks (week -1: the last days before now): Manufacturing answers the same
morning, Supply Chain within a day or two, Human Resources after days."""


def build_stewardship(platform: Platform, timeline: Timeline, log: Callable[[str], None] = print) -> None:
    """Promote Manufacturing's products, report and fix problems, file and decide access requests."""
    promoted = _promote(platform, timeline)
    fixed = _problems(platform, timeline)
    asked = _requests(platform, timeline)
    log(f"stewardship: {promoted} products, {fixed} problems fixed, {asked} access requests")


@contextmanager
def _clock(platform: Platform, at: datetime) -> Iterator[None]:
    """The platform's clock stands at `at` (what reads it, the gateway's usage events, the audit, is dated then)."""
    kept = platform.clock
    platform.clock = lambda: at
    try:
        yield
    finally:
        platform.clock = kept


def _people(platform: Platform, *names: str) -> list[Person] | None:
    try:
        return [get_person(platform, n) for n in names]
    except ThresholdError:
        return None


def _exists(platform: Platform, dataset: str) -> bool:
    with platform.store.session() as s:
        return s.scalar(select(Dataset.id).where(Dataset.full_name == dataset)) is not None


def _working(at: datetime, hours: float) -> datetime:
    """`hours` after `at`, skipping weekends (a decision waits over the weekend)."""
    out = at + timedelta(hours=hours)
    while out.weekday() >= 5:
        out += timedelta(days=1)
    return out


def _morning(timeline: Timeline, week: int, day: int, hour: float) -> datetime:
    """`hour` o'clock on working day `day` of simulated week `week` (negative: counted back from now)."""
    if week < 0:
        at = (timeline.now - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    else:
        begin, _end = timeline.week(min(week, timeline.weeks - 1))
        at = begin.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=day)
    while at.weekday() >= 5:
        at += timedelta(days=1)
    return min(at.replace(hour=0) + timedelta(hours=hour), timeline.now - timedelta(hours=1))


def _promote(platform: Platform, timeline: Timeline) -> int:
    from threshold.products.lifecycle import promote

    n = 0
    for dataset, owner, promoter, freshness, day in PRODUCTS:
        found = _people(platform, owner, promoter) or _people(platform, promoter, promoter)
        if found is None or not _exists(platform, dataset) or dataset.split(".")[0] not in found[1].owner_of:
            continue
        person, by = found
        try:
            with _clock(platform, _morning(timeline, 0, day, 9.5)):  # product, contract, checks and their reads
                promote(platform, by, dataset, owner=person.name, freshness_hours=freshness)
        except ThresholdError:
            continue  # promoted by an earlier, interrupted build
        n += 1
    return n


def _problems(platform: Platform, timeline: Timeline) -> int:
    from threshold.quality.incidents import act, report

    n = 0
    for p in PROBLEMS:
        found = _people(platform, p.reporter, "anna")
        dataset = ".".join(p.subject.split(".")[:2])
        if found is None or not _exists(platform, dataset):
            continue
        reporter, owner = found
        opened = _morning(timeline, p.week, 1, 8.75)
        try:
            with _clock(platform, opened):
                incident = report(platform, reporter, p.subject, description=p.description)
            with _clock(platform, _working(opened, p.hours_to_ack)):
                act(platform, owner, incident, "ack", "looking into it")
            with _clock(platform, _working(opened, p.hours_to_fix)):
                act(platform, owner, incident, "fix", "export fixed at the source and the week shared again")
        except ThresholdError:
            continue
        n += 1
    return n


def _requests(platform: Platform, timeline: Timeline) -> int:
    from threshold.governance.requests import approve, request_access

    n = 0
    for a in REQUESTS:
        found = _people(platform, a.requester, a.decider)
        if found is None or not _exists(platform, a.dataset):
            continue
        requester, decider = found
        created = _morning(timeline, a.week, 0 if a.week <= 0 else 2, 8.5 + n % 3)
        decided = _working(created, a.hours_to_decide) if a.hours_to_decide is not None else None
        try:
            with _clock(platform, created):
                req = request_access(platform, requester, a.dataset, purpose=a.purpose, days=90)
            if req.status == "pending" and decided is not None:
                with _clock(platform, decided):
                    approve(platform, decider, req.id, reason=f"for {a.purpose}")
        except ThresholdError:
            continue
        n += 1
    return n
