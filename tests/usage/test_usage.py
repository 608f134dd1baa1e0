"""Usage figures are computed from recorded events: run known queries, backdate a few, check every number."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select, update

from threshold.errors import InvalidInput, NotFound
from threshold.gateway.service import query
from threshold.identity.service import add_user, get_person
from threshold.sharing.service import share
from threshold.store.models import UsageEvent
from threshold.usage.service import dataset_usage, org_usage, person_usage

NOW = dt.datetime.now(dt.UTC)
THREE_WEEKS_AGO = NOW - dt.timedelta(weeks=3)
TWENTY_WEEKS_AGO = NOW - dt.timedelta(weeks=20)  # outside the 12-week series, inside the totals

KPIS = "manufacturing.plant_kpis"


@dataclass
class Story:
    org: Any
    events: dict[str, int]  # label -> usage event id


def _monday(d: dt.datetime) -> str:
    d = d.astimezone(dt.UTC) if d.tzinfo else d
    return (d - dt.timedelta(days=d.weekday())).date().isoformat()


def _iso(d: dt.datetime) -> str:
    return (d if d.tzinfo else d.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat(timespec="seconds")


@pytest.fixture(scope="module")
def story(module_any_org: Any) -> Story:
    """Who read what (the tests only read it):

    anna  (manufacturing)          2 x plant_kpis "scrap review" (one 3 weeks ago)
    ben   (finance)                1 x plant_kpis "energy audit" (20 weeks ago), 1 failed query on plant_kpis
    carla (sales)                  1 x plant_kpis JOIN sales.orders (no purpose), 1 x sales.orders "forecast"
    dora  (manufacturing + sales)  1 x sales.orders "forecast"
    finance.unused is never read.
    """
    org = module_any_org
    p = org.platform
    p.clock = lambda: NOW  # the weeks the tests expect are NOW's, whenever the module runs
    add_user(p, "dora", domains=("manufacturing", "sales"))
    share(
        p,
        pa.table({"plant": ["Berlin", "Lyon"], "units": [10, 20]}),
        domain="sales",
        name="orders",
        user=org.carla,
    )
    share(p, pa.table({"x": [1]}), domain="finance", name="unused", user=org.ben)
    events: dict[str, int] = {}

    def run(label: str, user: Any, sql: str, purpose: str | None = None) -> None:
        result = query(p, sql, user=user, purpose=purpose)
        assert result.event_id is not None
        events[label] = result.event_id

    run("anna_1", org.anna, f"SELECT plant, avg(scrap_rate) FROM {KPIS} GROUP BY plant", "scrap review")
    run("anna_2", org.anna, f"SELECT plant, scrap_rate FROM {KPIS} WHERE plant = 'Berlin'", "scrap review")
    run("ben_1", org.ben, f"SELECT sum(energy_kwh) FROM {KPIS}", "energy audit")
    with pytest.raises(InvalidInput):
        query(p, f"SELECT no_such_column FROM {KPIS}", user=org.ben, purpose="energy audit")
    run(
        "carla_join",
        org.carla,
        f"SELECT k.plant, o.units FROM {KPIS} k JOIN sales.orders o ON k.plant = o.plant",
    )
    run("carla_orders", org.carla, "SELECT * FROM sales.orders", "forecast")
    run("dora", get_person(p, "dora"), "SELECT count(*) FROM sales.orders", "forecast")
    with p.store.session() as s:
        s.execute(update(UsageEvent).where(UsageEvent.id == events["anna_1"]).values(at=THREE_WEEKS_AGO))
        s.execute(update(UsageEvent).where(UsageEvent.id == events["ben_1"]).values(at=TWENTY_WEEKS_AGO))
    return Story(org, events)


def _at(story: Story, label: str) -> dt.datetime:
    with story.org.platform.store.session() as s:
        at = s.scalar(select(UsageEvent.at).where(UsageEvent.id == story.events[label]))
    assert at is not None
    return at


def test_dataset_usage(story: Story) -> None:
    u = dataset_usage(story.org.platform, KPIS)
    assert u.dataset == KPIS
    assert (u.queries, u.users) == (4, 3)  # the failed query counts for nothing
    assert u.last_used == _iso(max(_at(story, "anna_2"), _at(story, "carla_join")))
    assert sorted((d["domain"], d["users"], d["queries"]) for d in u.domains) == [
        ("finance", 1, 1),
        ("manufacturing", 1, 2),
        ("sales", 1, 1),
    ]
    assert u.domains[0] == {"domain": "manufacturing", "users": 1, "queries": 2}
    assert u.purposes[0] == {"purpose": "scrap review", "queries": 2}
    assert sorted((p["purpose"], p["queries"]) for p in u.purposes) == [
        ("(none declared)", 1),
        ("energy audit", 1),
        ("scrap review", 2),
    ]
    assert u.top_users == [
        {"user": "anna", "queries": 2},
        {"user": "ben", "queries": 1},
        {"user": "carla", "queries": 1},
    ]
    assert u.columns == [
        {"column": "plant", "queries": 3},
        {"column": "scrap_rate", "queries": 2},
        {"column": "energy_kwh", "queries": 1},
    ]
    # Weekly series over 12 weeks: ben's read 20 weeks ago is outside it.
    this_week = _monday(_at(story, "anna_2"))
    assert _monday(_at(story, "carla_join")) == this_week
    assert u.weekly == [
        {"week": _monday(THREE_WEEKS_AGO), "queries": 1, "users": 1},
        {"week": this_week, "queries": 2, "users": 2},
    ]
    assert dataset_usage(story.org.platform, KPIS, weeks=52).weekly[0] == {
        "week": _monday(TWENTY_WEEKS_AGO),
        "queries": 1,
        "users": 1,
    }


def test_dataset_usage_of_a_dataset_nobody_read(story: Story) -> None:
    u = dataset_usage(story.org.platform, "finance.unused")
    assert (u.queries, u.users, u.last_used) == (0, 0, None)
    assert u.domains == u.purposes == u.top_users == u.columns == u.weekly == []


def test_a_reader_in_two_domains_counts_for_both(story: Story) -> None:
    u = dataset_usage(story.org.platform, "sales.orders")
    assert (u.queries, u.users) == (3, 2)
    assert sorted((d["domain"], d["users"], d["queries"]) for d in u.domains) == [
        ("manufacturing", 1, 1),
        ("sales", 2, 3),
    ]
    assert u.purposes == [
        {"purpose": "forecast", "queries": 2},
        {"purpose": "(none declared)", "queries": 1},
    ]


def test_org_usage(story: Story) -> None:
    u = org_usage(story.org.platform)
    assert (u.queries, u.users) == (6, 4)
    assert u.most_used == [
        {
            "dataset": KPIS,
            "queries": 4,
            "users": 3,
            "last_used": dataset_usage(story.org.platform, KPIS).last_used,
        },
        {"dataset": "sales.orders", "queries": 3, "users": 2, "last_used": _iso(_at(story, "dora"))},
    ]
    assert [n["dataset"] for n in u.never_used] == ["finance.unused"]
    assert u.never_used[0]["shared_at"] is not None
    assert [m["dataset"] for m in org_usage(story.org.platform, limit=1).most_used] == [KPIS]


def test_person_usage(story: Story) -> None:
    p = story.org.platform
    carla = person_usage(p, "carla")
    assert carla.user == "carla"
    assert carla.datasets == [
        {"dataset": "sales.orders", "queries": 2, "last_used": _iso(_at(story, "carla_orders"))},
        {"dataset": KPIS, "queries": 1, "last_used": _iso(_at(story, "carla_join"))},
    ]
    assert [(r["query"], r["datasets"], r["purpose"], r["status"], r["rows"]) for r in carla.recent] == [
        ("SELECT * FROM sales.orders", ["sales.orders"], "forecast", "ok", 2),
        (
            "SELECT k.plant, o.units FROM manufacturing.plant_kpis AS k JOIN sales.orders AS o ON k.plant = o.plant",
            [KPIS, "sales.orders"],
            None,
            "ok",
            4,
        ),
    ]
    assert all(r["interface"] == "python" for r in carla.recent)

    anna = person_usage(p, "anna")
    assert anna.datasets == [{"dataset": KPIS, "queries": 2, "last_used": _iso(_at(story, "anna_2"))}]
    assert [r["query"] for r in anna.recent] == [  # newest first; the literal 'Berlin' is not kept
        "SELECT plant, scrap_rate FROM manufacturing.plant_kpis WHERE plant = ?",
        "SELECT plant, AVG(scrap_rate) FROM manufacturing.plant_kpis GROUP BY plant",
    ]

    ben = person_usage(p, "ben")
    assert ben.datasets == [{"dataset": KPIS, "queries": 1, "last_used": _iso(TWENTY_WEEKS_AGO)}]
    assert [(r["status"], r["datasets"]) for r in ben.recent] == [("error", [KPIS]), ("ok", [KPIS])]

    dora = person_usage(p, "dora")
    assert dora.datasets == [{"dataset": "sales.orders", "queries": 1, "last_used": _iso(_at(story, "dora"))}]
    assert [r["query"] for r in dora.recent] == ["SELECT COUNT(*) FROM sales.orders"]
    assert person_usage(p, "admin").to_json() == {"user": "admin", "datasets": [], "recent": []}
    assert len(person_usage(p, "anna", limit=1).recent) == 1


def test_unknown_names(story: Story) -> None:
    with pytest.raises(NotFound, match="no dataset 'sales.nope'"):
        dataset_usage(story.org.platform, "sales.nope")
    with pytest.raises(NotFound, match="no user 'nobody'"):
        person_usage(story.org.platform, "nobody")
