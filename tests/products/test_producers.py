"""The producer view, and the visibility rule: outsiders see aggregates only, never names of the consumers
of data they cannot read, and nothing of another domain's restricted data."""

from __future__ import annotations

import pytest

from threshold.errors import NotFound
from threshold.governance.requests import approve, request_access
from threshold.products.consumption import dataset_consumers
from threshold.products.lifecycle import promote
from threshold.products.producers import column_impact, domain_view

from .usage_history import INVOICES, KPIS, ORDERS, SECRET, History


def _item(view: dict[str, object], name: str) -> dict[str, object]:
    return next(d for d in view["datasets"] if d["dataset"] == name)  # type: ignore[attr-defined, index]


def test_a_domain_owner_sees_who_uses_each_dataset_and_why(fresh: History) -> None:
    request_access(fresh.platform, fresh.people["frank"], INVOICES, purpose="pricing", justification="margins")
    view = domain_view(fresh.platform, "manufacturing", viewer=fresh.people["anna"]).to_json()
    assert view["producer_view"] is True
    assert view["totals"] | {"consumer_domains": None} == {
        "datasets": 3,
        "used": 2,
        "reads": 43,
        "people": 9,
        "outside_people": 6,
        "consumer_domains": None,
        "products": 0,
        "candidates": 0,
        "waiting_requests": 0,
    }
    assert view["totals"]["consumer_domains"] == ["finance", "sales", "strategy", "supply_chain"]
    assert [d["dataset"] for d in view["datasets"]] == [KPIS, "manufacturing.sensors", "manufacturing.old_report"]
    kpis = _item(view, KPIS)
    assert kpis["top_consumers"] == [
        {"user": "ben", "queries": 14},
        {"user": "anna", "queries": 7},
        {"user": "dora", "queries": 3},
        {"user": "eve", "queries": 3},
        {"user": "carla", "queries": 2},
    ]
    assert kpis["trend"] == {"recent": 22, "prior": 11, "direction": "rising"}  # the last 4 complete weeks
    assert [(d["domain"], d["people"]) for d in kpis["domains"]] == [
        ("finance", 2),
        ("manufacturing", 2),
        ("sales", 2),
        ("supply_chain", 1),
        ("strategy", 1),
    ]
    columns = {c["column"]: c for c in kpis["columns"]}
    assert columns["energy_kwh"]["affects"] == "4 people in 3 domains"
    assert columns["operator_name"]["affects"] == "2 people in 2 domains"  # sam and frank looked at every column
    finance = domain_view(fresh.platform, "finance", viewer=fresh.people["ben"]).to_json()
    invoices = _item(finance, INVOICES)
    assert (invoices["waiting_requests"], invoices["requests"][0]["requester"]) == (1, "frank")


def test_a_column_in_a_products_contract_is_a_promise(fresh: History) -> None:
    promote(fresh.platform, fresh.people["anna"], KPIS, owner="anna")
    kpis = _item(domain_view(fresh.platform, "manufacturing", viewer=fresh.people["anna"]).to_json(), KPIS)
    day = next(c for c in kpis["columns"] if c["column"] == "day")
    assert day["in_contract"] is True
    assert day["affects"] == "5 people in 4 domains, the product contract (breaking: new major version)"
    impact = column_impact(fresh.platform, KPIS, "day")
    assert (impact.people, impact.in_contract) == (5, True)
    with pytest.raises(NotFound):
        column_impact(fresh.platform, KPIS, "nope")


def test_outsiders_see_aggregates_only_for_data_they_cannot_read(fresh: History) -> None:
    request_access(fresh.platform, fresh.people["frank"], INVOICES, purpose="pricing")
    view = domain_view(fresh.platform, "finance", viewer=fresh.people["carla"]).to_json()
    assert view["producer_view"] is False
    invoices = _item(view, INVOICES)
    assert (invoices["people"], invoices["queries"], invoices["waiting_requests"]) == (1, 14, 1)
    assert invoices["domains"] == [{"domain": "finance", "people": 1, "queries": 14, "outside": False}]
    assert invoices["top_consumers"] is None and invoices["requests"] is None
    d = dataset_consumers(fresh.platform, INVOICES, viewer=fresh.people["carla"]).to_json()
    assert (d["names_visible"], d["consumers"], d["people"]) == (False, None, 1)
    assert all(q["text"] is None and q["first_asked_by"] is None for q in d["questions"])
    assert d["note"].startswith("counts per domain and purpose only")
    # with a grant, carla may read it, and still sees counts only: names go to producers and governance
    req = request_access(fresh.platform, fresh.people["carla"], INVOICES, purpose="credit check")
    approve(fresh.platform, fresh.people["ben"], req.id)
    d = dataset_consumers(fresh.platform, INVOICES, viewer=fresh.people["carla"]).to_json()
    assert (d["names_visible"], d["consumers"]) == (False, None)
    assert ("credit check", "granted") in {(p["purpose"], p["source"]) for p in d["purposes"]}
    assert (
        _item(domain_view(fresh.platform, "finance", viewer=fresh.people["carla"]).to_json(), INVOICES)["top_consumers"]
        is None
    )
    producer = dataset_consumers(fresh.platform, INVOICES, viewer=fresh.people["ben"]).to_json()
    assert [p["user"] for p in producer["consumers"]] == ["ben", "dora"]  # dora only tried


def test_another_domains_restricted_data_does_not_exist_for_outsiders(history: History) -> None:
    view = domain_view(history.platform, "sales", viewer=history.people["ben"]).to_json()
    assert [d["dataset"] for d in view["datasets"]] == [ORDERS]
    assert "hidden_datasets" not in view and SECRET not in str(view), "not even a count of what is hidden"
    with pytest.raises(NotFound):
        dataset_consumers(history.platform, SECRET, viewer=history.people["ben"]).to_json()
    own = domain_view(history.platform, "sales", viewer=history.people["frank"]).to_json()
    assert {d["dataset"] for d in own["datasets"]} == {ORDERS, SECRET}


def test_consumers_see_their_own_use(history: History) -> None:
    d = dataset_consumers(history.platform, INVOICES, viewer=history.people["dora"]).to_json()
    assert d["you"] == {"queries": 0, "weeks": 0, "purposes": [], "last_used": d["you"]["last_used"]}
    k = _item(domain_view(history.platform, "manufacturing", viewer=history.people["eve"]).to_json(), KPIS)
    assert k["you"] == 3
