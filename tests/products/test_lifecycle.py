"""shared -> candidate -> product -> deprecated -> retired, and who is told at each step."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from threshold.errors import Conflict, Denied, InvalidInput
from threshold.gateway.service import query
from threshold.notifications.service import inbox
from threshold.products.candidates import list_candidates
from threshold.products.contracts import datasets_of, parse
from threshold.products.lifecycle import deprecate, list_products, product_view, promote, retire
from threshold.store.models import Dataset, Domain
from threshold.usage.service import UsageRecord, record

from .usage_history import KPIS, SENSORS, SHIPMENTS, History, Receiver


def _stage(h: History, name: str) -> str:
    with h.platform.store.session() as s:
        return str(s.scalar(select(Dataset.stage).where(Dataset.full_name == name)))


def _hooks(h: History, url: str, *domains: str) -> None:
    with h.platform.store.session() as s:
        for d in s.scalars(select(Domain).where(Domain.name.in_(domains))):
            d.webhook_url = url


def test_promotion_and_its_contract_and_checks_are_dated_by_the_platforms_clock(any_fresh: History) -> None:
    """promote stamps the product, its contract and the contract's checks with the platform's clock (the demo
    places its products in the simulated weeks this way); deprecation and retirement too."""
    from threshold.products.models import Contract
    from threshold.quality.models import Check

    h = any_fresh
    moment = datetime(2024, 3, 4, 9, 30, tzinfo=UTC)
    h.platform.clock = lambda: moment
    p = promote(h.platform, h.people["anna"], KPIS, owner="ben", freshness_hours=200)
    assert p.promoted_at == "2024-03-04T09:30:00+00:00"
    with h.platform.store.session() as s:
        ds = s.scalar(select(Dataset.id).where(Dataset.full_name == KPIS))
        contract = s.scalars(select(Contract.created_at).where(Contract.dataset_id == ds)).all()
        checks = s.execute(select(Check.created_at, Check.updated_at).where(Check.dataset_id == ds)).all()
    assert [_utc(c) for c in contract] == [moment]
    assert checks and {(_utc(a), _utc(b)) for a, b in checks} == {(moment, moment)}
    h.platform.clock = lambda: moment + timedelta(days=30)
    assert deprecate(h.platform, h.people["anna"], KPIS, reason="use v2").deprecated_at == ("2024-04-03T09:30:00+00:00")


def _utc(d: datetime) -> datetime:
    """SQLite gives the stored time back naive (it was UTC), PostgreSQL in its session's zone."""
    return d.replace(tzinfo=UTC) if d.tzinfo is None else d.astimezone(UTC)


def test_promotion_gives_an_owner_a_checked_contract_a_version_and_badges(any_fresh: History) -> None:
    h = any_fresh
    list_candidates(h.platform)
    assert _stage(h, KPIS) == "candidate"
    p = promote(
        h.platform,
        h.people["anna"],
        KPIS,
        owner="ben",
        description="Daily plant KPIs for forecasting",
        freshness_hours=200,
    )
    assert (p.status, p.version, p.owner, p.description) == (
        "active",
        "1.0.0",
        "ben",
        "Daily plant KPIs for forecasting",
    )
    assert [b.label for b in p.badges][:3] == ["active", "v1.0.0", "contract passed"]
    assert p.freshness["met"] is True and p.freshness_hours == 200
    assert p.contract is not None
    results = {(r["kind"], r["property"] or r["object"], r["rule"]): r["status"] for r in p.contract["results"]}
    assert results[("schema", "energy_kwh", "type")] == "passed"
    assert results[("quality", KPIS, "not empty")] == "passed"
    assert results[("quality", "day", "day is never empty")] == "passed"
    assert results[("sla", KPIS, "freshness")] == "passed"
    assert _stage(h, KPIS) == "product"
    assert [c.status for c in list_candidates(h.platform, include=("promoted",)).candidates] == ["promoted"]
    assert [(m.kind, m.title) for m in inbox(h.platform, h.people["ben"])][:1] == [
        ("product.promoted", f"You own {KPIS}, a data product now")
    ]
    assert list_products(h.platform)[0].to_json() | {"promoted_at": None} == {
        "dataset": KPIS,
        "domain": "manufacturing",
        "owner": "ben",
        "status": "active",
        "version": "1.0.0",
        "contract": "passed",
        "datasets": [KPIS],
        "freshness_hours": 200,
        "description": "Daily plant KPIs for forecasting",
        "promoted_at": None,
    }


def test_promotion_is_for_the_domains_owners_and_happens_once(fresh: History) -> None:
    with pytest.raises(Denied):
        promote(fresh.platform, fresh.people["ben"], KPIS, owner="ben")
    promote(fresh.platform, fresh.people["anna"], KPIS, owner="anna")
    with pytest.raises(Conflict):
        promote(fresh.platform, fresh.people["anna"], KPIS, owner="anna")
    with pytest.raises(InvalidInput):
        promote(fresh.platform, fresh.people["anna"], SENSORS)  # no owner named, nobody accepted


def test_a_product_may_combine_datasets_of_several_domains(fresh: History, receiver: Receiver) -> None:
    _hooks(fresh, receiver.url, "supply_chain")
    p = promote(fresh.platform, fresh.people["anna"], KPIS, owner="anna", parts=[SHIPMENTS])
    assert [d.dataset for d in p.datasets] == [KPIS, SHIPMENTS]
    assert p.cross_domain is True and p.domains == ["manufacturing", "supply_chain"]
    assert p.contract is not None
    assert datasets_of(parse(p.contract["document"])) == [KPIS, SHIPMENTS]
    told = [m.title for m in inbox(fresh.platform, fresh.people["dora"])]
    assert told == [f"{KPIS} is a product built on supply_chain's data"]
    assert [(e["event"], e["domain"]) for e in receiver.events()] == [("product.promoted", "supply_chain")]


def test_deprecation_tells_every_recent_consumer_and_names_the_replacement(fresh: History, receiver: Receiver) -> None:
    p = fresh.platform
    record(
        p,
        UsageRecord(
            user_id=fresh.people["hana"].id,
            interface="python",
            purpose="old",
            fingerprint="fp-old",
            query_text="SELECT ?",
            rows=1,
            duration_ms=1,
            status="ok",
            reads=[(fresh.ids[KPIS], ["plant"], None)],
            at=p.clock() - timedelta(days=100),
        ),
    )
    promote(p, fresh.people["anna"], KPIS, owner="anna")
    _hooks(fresh, receiver.url, "manufacturing", "finance", "sales", "supply_chain", "strategy")
    with pytest.raises(Denied):
        deprecate(p, fresh.people["ben"], KPIS, replacement=SENSORS)
    with pytest.raises(InvalidInput):
        deprecate(p, fresh.people["anna"], KPIS, replacement=KPIS)
    r = deprecate(p, fresh.people["anna"], KPIS, replacement=SENSORS, reason="the MES export moves to sensors")
    assert r.notified is not None
    assert (r.status, r.replacement, r.notified.people) == ("deprecated", SENSORS, 8)
    for who in ("ben", "eve", "carla", "frank", "dora", "sam", "gus", "anna"):
        told = [m for m in inbox(p, fresh.people[who]) if m.kind == "product.deprecated"]
        assert [m.title for m in told] == [f"{KPIS}, which you use, is deprecated: use {SENSORS} instead"], who
        assert told[0].data == {"dataset": KPIS, "replacement": SENSORS}
    assert inbox(p, fresh.people["hana"]) == []  # her last use was 100 days ago
    events = receiver.events(count=5)
    consumers = {e["domain"]: e["data"]["consumers"] for e in events if e["event"] == "product.deprecated"}
    assert consumers == {
        "finance": ["ben", "eve"],
        "manufacturing": ["anna", "gus"],
        "sales": ["carla", "frank"],
        "strategy": ["sam"],
        "supply_chain": ["dora"],
    }
    assert _stage(fresh, KPIS) == "deprecated"
    assert asdict(product_view(p, KPIS).badges[0]) == {"kind": "status", "label": "deprecated", "tone": "warn"}


def test_retiring_stops_serving_the_product_outside_its_domain(fresh: History) -> None:
    p = fresh.platform
    promote(p, fresh.people["anna"], KPIS, owner="anna")
    with pytest.raises(Conflict):
        retire(p, fresh.people["anna"], KPIS)  # deprecate first: consumers must hear it
    deprecate(p, fresh.people["anna"], KPIS, replacement=SENSORS)
    r = retire(p, fresh.people["anna"], KPIS, reason="replaced")
    assert (r.status, _stage(fresh, KPIS)) == ("retired", "retired")
    with pytest.raises(InvalidInput, match=f"unknown dataset {KPIS}"):  # restricted now: unknown outside
        query(p, f"SELECT count(*) FROM {KPIS}", user=fresh.people["carla"], purpose="delivery promise")
    assert query(p, f"SELECT count(*) FROM {KPIS}", user=fresh.people["gus"]).table.num_rows == 1
    assert [m.kind for m in inbox(p, fresh.people["ben"])][:1] == ["product.retired"]
