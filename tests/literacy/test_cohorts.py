"""Cohorts: an organiser puts people on a track from a start date and sees, as totals, how far each week
got and where people stall; a person sees their own path and what to try next. Progress comes only from
real events. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from threshold.catalog.search import search
from threshold.errors import Conflict, Denied, InvalidInput, NotFound
from threshold.gateway.service import query
from threshold.literacy import service as literacy
from threshold.literacy.models import LearningCompletion

KPIS = "manufacturing.plant_kpis"
# Far ahead: every completion the prepared organisation made when it was built lies before it.
NOW = datetime(2099, 3, 25, 10, 0, tzinfo=UTC)
START = date(2099, 3, 1)  # 24 days before NOW: week 4 of 10


def _cohort(org: Any) -> literacy.CohortView:
    p = org.platform
    p.clock = lambda: NOW
    search(p, "scrap rate", viewer=org.carla)
    query(p, f"SELECT plant FROM {KPIS}", user=org.carla)
    query(p, f"SELECT day FROM {KPIS}", user=org.ben)
    return literacy.create_cohort(
        p, org.admin, "Spring 2099", track="ten-weeks", starts_on=START, members=["anna", "ben", "carla"]
    )


def test_cohort_progress_per_week_and_where_people_stall(any_org: Any) -> None:
    view = _cohort(any_org)
    assert (view.current_week, view.weeks_total, view.members) == (4, 10, 3)
    by_week = {w.number: (w.done_share, w.past, [(t.key, t.done, t.not_done) for t in w.tasks]) for w in view.weeks}
    assert by_week[1] == (0.3333, True, [("find-by-word", 1, 2)])
    assert by_week[2] == (0.6667, True, [("first-query", 2, 1)])
    assert by_week[3] == (0.0, True, [("explore-chart", 0, 3)])
    assert by_week[4] == (0.0, False, [("share-insight", 0, 3)])
    assert by_week[7] == (0.3333, False, [("share-file", 1, 2)])  # anna shared a described file
    assert [(s.task, s.week, s.not_done) for s in view.stalls] == [
        ("explore-chart", 3, 3),
        ("find-by-word", 1, 2),
        ("first-query", 2, 1),
    ]
    assert [(c.name, c.members, c.current_week) for c in literacy.list_cohorts(any_org.platform, any_org.admin)] == [
        ("Spring 2099", 3, 4)
    ]


def test_a_person_sees_their_path_and_what_to_try_next(any_org: Any) -> None:
    _cohort(any_org)
    (path,) = literacy.my_learning(any_org.platform, any_org.carla).paths
    assert (path.cohort, path.starts_on, path.current_week, path.done, path.total) == (
        "Spring 2099", "2099-03-01", 4, 2, 10
    )  # fmt: skip
    done = [(t.key, t.done_at, t.done_by) for w in path.weeks for t in w.tasks if t.done_at]
    assert done == [
        ("find-by-word", "2099-03-25T10:00:00+00:00", "search_done"),
        ("first-query", "2099-03-25T10:00:00+00:00", "query_done"),
    ]
    assert path.next is not None and (path.next.key, path.next.link) == ("explore-chart", "/explore")


def test_only_organisers_make_and_see_cohorts_and_mistakes_are_refused(any_org: Any) -> None:
    p, carla, admin = any_org.platform, any_org.carla, any_org.admin
    with pytest.raises(Denied, match="not in the governance group"):
        literacy.create_cohort(p, carla, "Mine", track="ten-weeks", starts_on=START, members=["carla"])
    with pytest.raises(NotFound, match="no learning track 'nope'"):
        literacy.create_cohort(p, admin, "X", track="nope", starts_on=START, members=["carla"])
    with pytest.raises(NotFound, match="no user 'zed'"):
        literacy.create_cohort(p, admin, "X", track="ten-weeks", starts_on=START, members=["carla", "zed"])
    with pytest.raises(InvalidInput, match="at least one person"):
        literacy.create_cohort(p, admin, "X", track="ten-weeks", starts_on=START, members=[" "])
    literacy.create_cohort(p, admin, "X", track="ten-weeks", starts_on=START, members=["carla"])
    with pytest.raises(Conflict, match="exists already"):
        literacy.create_cohort(p, admin, "X", track="ten-weeks", starts_on=START, members=["ben"])
    with pytest.raises(Denied):
        literacy.show_cohort(p, carla, "X")
    with pytest.raises(NotFound, match="no cohort 'Y'"):
        literacy.show_cohort(p, admin, "Y")


def test_progress_by_domain_is_the_mean_share_of_tasks_done_since(any_org: Any) -> None:
    _cohort(any_org)
    with any_org.platform.store.session() as s:
        assert literacy.progress_by_domain(s, datetime(2000, 1, 1, tzinfo=UTC)) == {
            "finance": 0.1,
            "manufacturing": 0.1,
            "sales": 0.2,
        }
        assert literacy.progress_by_domain(s, NOW) == {"finance": 0.1, "manufacturing": 0.0, "sales": 0.2}
        assert len(s.scalars(select(LearningCompletion)).all()) == 4
