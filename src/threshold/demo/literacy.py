"""The demo's learning programme: a cohort in week 4 of the ten-week track, whose ticks come from what its
people really did in the demo (queries of the simulated weeks, shares, insights, glossary terms) and from a
few more real actions here: searches by a business word, explored charts, an access request and its review,
a reported problem. Nothing marks a task done by hand: the events of these actions tick them.

People missing from a small build are left out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from threshold.errors import ThresholdError
from threshold.identity.service import Person, ensure_admin, get_person
from threshold.insights import exploration
from threshold.insights.explore import ExploreSpec
from threshold.literacy import service
from threshold.platform import Platform
from threshold.runtime import Clock

COHORT = "Data in ten weeks, autumn"
MEMBERS = ("anna", "ben", "carla", "lea", "julia", "hannah", "claudia", "markus", "sofia", "james")
KPIS = "manufacturing.plant_kpis"


def build_literacy(platform: Platform, log: Callable[[str], None] = print) -> str | None:
    """Do the demo people's hands-on tasks and start the cohort; returns its name (None when too few people)."""
    people = {}
    for name in MEMBERS:
        try:
            people[name] = get_person(platform, name)
        except ThresholdError:
            continue
    if len(people) < 3:
        return None
    log(f"learning: {len(people)} people in week 4 of the ten-week programme…")
    clock = platform.clock
    platform.clock = _office_hours(clock())  # the demo's people work on weekdays: their usage says so
    try:
        _do_tasks(platform, people, log)
    finally:
        platform.clock = clock
    starts = (platform.clock() - timedelta(days=24)).date()  # week 4 of 10
    service.create_cohort(
        platform, ensure_admin(platform), COHORT, track="ten-weeks", starts_on=starts, members=list(people)
    )
    return COHORT


def _office_hours(now: datetime) -> Clock:
    """A clock fixed at 10:00 UTC of the last weekday before `now`."""
    at = (now - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    while at.weekday() >= 5:
        at -= timedelta(days=1)
    return lambda: at


def _do_tasks(platform: Platform, people: dict[str, Person], log: Callable[[str], None]) -> None:

    def attempt(what: Callable[[], object]) -> None:
        try:
            what()
        except ThresholdError as e:  # a small build may lack a dataset: the task stays open
            log(f"  (skipped: {e})")

    from threshold.catalog.search import search

    for name in ("lea", "julia", "hannah", "markus", "carla"):
        if name in people:
            attempt(partial(search, platform, "scrap rate", viewer=people[name]))
    spec = ExploreSpec.from_dict(
        {"dataset": KPIS, "group_by": ["plant"], "aggregates": [{"fn": "avg", "column": "scrap_rate"}]}
    )
    for name in ("lea", "julia"):
        if name in people:
            attempt(partial(exploration.run, platform, people[name], spec=spec, chart={"kind": "bar"}))
    if "hannah" in people and "anna" in people:
        from threshold.governance.requests import approve, request_access

        def ask_and_review() -> None:
            req = request_access(platform, people["hannah"], KPIS, purpose="pricing analysis", days=30)
            if req.status == "pending":
                approve(platform, people["anna"], req.id, reason="scrap rates may inform prices")

        attempt(ask_and_review)
    if "julia" in people:
        from threshold.quality.incidents import report

        attempt(
            lambda: report(
                platform,
                people["julia"],
                f"{KPIS}.scrap_rate",
                description="Porto shows no scrap at all on some days: missing rows?",
            )
        )
