"""The demo's maturity history: snapshots taken at their moments by the platform's clock (the
scores are computed from what existed then: datasets backdated by the share simulation, usage by week), the
target picture changed once by the governance group between them, self-assessments of two domains, and
Manufacturing's proposal of its own target waiting for the governance group."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from threshold.demo.world import Timeline
from threshold.errors import NotFound
from threshold.identity.service import ADMIN, Person, get_person
from threshold.maturity import assessment, snapshots, target
from threshold.maturity.picture import default_document
from threshold.platform import Platform

SECOND_YEAR = default_document().replace(
    "    default: [20, 40, 60, 80]\n",
    "    default: [20, 40, 60, 80]\n    reuse: [15, 35, 55, 75]\n    literacy: [25, 45, 65, 85]\n",
)
"""The changed picture: reuse is easier to start, literacy asks more (the data council's first review)."""


def build_maturity(platform: Platform, timeline: Timeline, log: Callable[[str], None] = print) -> int:
    """Take the demo's snapshots at their moments (every few weeks of the simulated usage, then now); returns
    how many were taken."""
    admin = get_person(platform, ADMIN)
    anna = _person(platform, "anna", "manufacturing", admin)
    carla = _person(platform, "carla", "sales", admin)
    step = max(1, timeline.weeks // 3)  # at least three points of history (the job itself runs monthly)
    moments = [timeline.start + timedelta(weeks=k) for k in range(step, timeline.weeks + 1, step)]
    kept = platform.clock
    # The last one at the end of the build: insights, learning and products of the build's own minutes count.
    moments = [m for m in moments if m < timeline.now] + [max(timeline.now, kept())]
    try:
        for i, moment in enumerate(moments):
            platform.clock = _at(moment)
            if i == 1:
                platform.clock = _at(moment - timedelta(days=3))
                target.set_picture(platform, admin, SECOND_YEAR, reason="first review of the data council: "
                                   "reuse counts from the first consumer domain, literacy asks more")  # fmt: skip
                assessment.assess(platform, anna, "manufacturing", {"owners_known": 3, "decisions_with_data": 3,
                                  "sources_documented": 2}, note="plant leads answered together")  # fmt: skip
                assessment.assess(platform, carla, "sales", {"owners_known": 1, "decisions_with_data": 1},
                                  note="most numbers still live in spreadsheets")  # fmt: skip
                platform.clock = _at(moment)
            snapshots.take(platform, admin, trigger="schedule")
        platform.clock = _at(moments[-1])
        target.propose(platform, anna, "manufacturing", {"reuse": 4, "documentation": 4},
                       reason="other domains build on our KPIs: we want to be read and understood")  # fmt: skip
    finally:
        platform.clock = kept
    log(f"maturity: {len(moments)} snapshots, the target picture changed once, a target proposal waiting")
    return len(moments)


def _person(platform: Platform, name: str, owns: str, fallback: Person) -> Person:
    """`name` when they are an owner of `owns` in this build, else the admin."""
    try:
        person = get_person(platform, name)
    except NotFound:
        return fallback
    return person if owns in person.owner_of else fallback


def _at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment
