"""A small organisation whose maturity signals were computed by hand (the numbers in test_signals.py).

The facts the platform would have recorded (datasets, shares, products, checks, incidents, requests,
insights) are written as rows at fixed moments; usage goes through the usage service; the clock is injected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from threshold.identity.service import Person, add_user, get_person, join_domain
from threshold.insights.models import Insight, InsightRun
from threshold.literacy.models import LearningCompletion
from threshold.platform import Platform
from threshold.products.models import Contract, Product
from threshold.quality.models import Check, Incident
from threshold.store.models import AccessRequest, Dataset, Domain, Share, User
from threshold.usage.service import UsageRecord, record

AT = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@dataclass
class Measured:
    platform: Platform
    clock: Clock
    anna: Person
    ben: Person
    carla: Person
    dora: Person
    gov: Person
    gina: Person
    admin: Person


def _t(month: int, day: int, hour: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def build(org: Any) -> Measured:
    p: Platform = org.platform
    add_user(p, "dora")
    join_domain(p, "dora", "manufacturing")
    add_user(p, "gov", governance=True, password="gov-pass")
    add_user(p, "gina", governance=True)
    with p.store.session() as s:
        s.execute(update(Domain).values(created_at=_t(1, 1, year=2025)))
        mfg = s.scalar(select(Domain.id).where(Domain.name == "manufacturing"))
        users = dict(s.execute(select(User.name, User.id)).all())
        kpis = s.scalars(select(Dataset).where(Dataset.full_name == "manufacturing.plant_kpis")).one()
        kpis.created_at = _t(1, 5)
        s.execute(update(Share).where(Share.dataset_id == kpis.id).values(at=_t(3, 1)))

        def dataset(name: str, created: datetime, description: str = "", stage: str = "shared") -> int:
            d = Dataset(domain_id=mfg, name=name, full_name=f"manufacturing.{name}", description=description,
                        stage=stage, snapshot_id=1, created_at=created)  # fmt: skip
            s.add(d)
            s.flush()
            return d.id

        scrap = dataset("scrap", _t(1, 10))
        energy = dataset("energy", _t(1, 12), "Energy per line")
        dataset("old", _t(1, 2), "gone", stage="deprecated")
        dataset("future", _t(4, 10), "not yet")
        s.add_all([
            Share(dataset_id=scrap, snapshot_id=1, mode="create", at=_t(11, 1, year=2025)),
            Share(dataset_id=energy, snapshot_id=1, mode="create", at=_t(3, 20)),
        ])  # fmt: skip
        s.add(Product(dataset_id=energy, owner_id=users["anna"], freshness_hours=24, created_at=_t(2, 1)))
        s.add(Contract(dataset_id=energy, version="1.0.0", document="{}", created_at=_t(2, 1)))
        s.add_all([
            Check(dataset_id=kpis.id, name="n", kind="row_count", active=True, last_status="pass", created_at=_t(2, 1)),
            Check(dataset_id=energy, name="n", kind="row_count", active=True, last_status="fail", created_at=_t(2, 1)),
            Check(dataset_id=scrap, name="n", kind="row_count", active=False, last_status="pass", created_at=_t(2, 1)),
        ])  # fmt: skip

        def incident(opened: datetime, ack: datetime | None, fixed: datetime | None) -> None:
            s.add(Incident(kind="check", title="t", dataset_id=energy, routed_domain_id=mfg, opened_at=opened,
                           last_seen_at=opened, acknowledged_at=ack, fixed_at=fixed))  # fmt: skip

        incident(_t(3, 1), _t(3, 1, 10), _t(3, 5))
        incident(_t(3, 10), _t(3, 12), None)
        incident(_t(10, 1, year=2025), _t(10, 1, year=2025, hour=1), _t(10, 2, year=2025))

        def req(who: str, ds: int, created: datetime, decided: datetime | None) -> None:
            s.add(AccessRequest(requester_id=users[who], dataset_id=ds, purpose="reporting", created_at=created,
                                decided_at=decided, status="approved" if decided else "pending"))  # fmt: skip

        req("ben", scrap, _t(3, 10, 10), _t(3, 10, 14))
        req("carla", energy, _t(3, 20), _t(3, 23))
        req("carla", kpis.id, _t(3, 31, 6), None)
        req("ben", energy, _t(3, 25), None)
        insight = Insight(owner_id=users["anna"], title="Scrap by plant", created_at=_t(2, 1))
        s.add(insight)
        s.flush()
        s.add(
            InsightRun(
                insight_id=insight.id, version=1, at=_t(3, 15), trigger="view", user_id=users["ben"], status="ok"
            )
        )
        kpis_id = kpis.id

    def read(who: str, ds: int, at: datetime) -> None:
        uid = get_person(p, who).id
        record(p, UsageRecord(uid, "sql", None, f"f{ds}{who}", "select 1", 1, 1.0, "ok", [(ds, [], 1)], at=at))

    read("ben", kpis_id, _t(3, 25))
    read("carla", kpis_id, _t(3, 26))
    read("carla", energy, _t(1, 10))
    read("anna", scrap, _t(3, 28))
    # Learning (the literacy capability's signal): anna did 3 of the programme's 10 tasks in the last 90 days;
    # one before the window and one after the moment measured do not count; dora did none.
    with p.store.session() as s:
        for task, at in (
            ("find-by-word", _t(3, 20)),
            ("first-query", _t(3, 21)),
            ("explore-chart", _t(3, 22)),
            ("share-insight", _t(12, 1, year=2025)),
            ("request-access", _t(4, 2)),
        ):
            s.add(LearningCompletion(user_id=users["anna"], track="ten-weeks", task=task, at=at, event="fixture"))
    clock = Clock(AT)
    p.clock = clock
    names = ("anna", "ben", "carla", "dora", "gov", "gina", "admin")
    return Measured(p, clock, *(get_person(p, n) for n in names))


@pytest.fixture
def measured(org: Any) -> Measured:
    return build(org)


@pytest.fixture
def any_measured(any_org: Any) -> Measured:
    return build(any_org)
