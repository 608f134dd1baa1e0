"""Candidates: an explainable score from the usage signals, reviewed by people, announced to owners."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from sqlalchemy import select

from threshold.errors import Denied, InvalidInput, NotFound
from threshold.notifications.service import inbox, webhook_secret
from threshold.products.candidates import compute, dismiss, list_candidates, nominate, score
from threshold.products.lookup import Window
from threshold.store.models import Dataset, Domain

from .usage_history import INVOICES, KPIS, SECRET, SENSORS, History, Receiver

KPIS_REASONS = [
    # (signal, value, target, weight, points, text)
    ("domains", 4, 3, 30.0, 30.0, "used from 4 other domains: finance, sales, strategy, supply_chain"),
    ("people", 8, 10, 15.0, 12.0, "8 people used it"),
    ("repeat", 4, 5, 15.0, 12.0, "4 people came back in 3 or more weeks"),
    ("questions", 2, 3, 15.0, 10.0, "2 recurring questions, each asked by 2+ people"),
    (
        "purposes",
        5,
        3,
        10.0,
        10.0,
        "5 purposes: capacity planning, delivery promise, energy cost forecast, monitoring, plant performance review",
    ),
    ("dependents", 0, 2, 10.0, 0.0, "0 downstream dependents"),
    ("demand", 0, 2, 5.0, 0.0, "unmet demand: 0 nominations, 0 people refused a read, 0 access requests waiting"),
]


def _reasons(reasons: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [(r["signal"], r["value"], r["target"], r["weight"], r["points"], r["text"]) for r in reasons]


def test_score_and_reasons_of_plant_kpis(history: History) -> None:
    signals, _note = compute(history.platform, Window.of(history.platform))
    by_name = {s.name: s for s in signals.values()}
    total, reasons = score(by_name[KPIS], history.platform.settings.products)
    assert total == 74.0
    assert _reasons(reasons) == KPIS_REASONS


def test_other_datasets_score_what_their_use_says(history: History) -> None:
    signals, _note = compute(history.platform, Window.of(history.platform))
    by_name = {s.name: s for s in signals.values()}
    settings = history.platform.settings.products
    # sensors: 3 people, none outside (hana is also in manufacturing), gus repeats, 1 recurring question
    assert score(by_name[SENSORS], settings)[0] == 15.8  # 4.5 + 3.0 + 5.0 + 3.3
    # invoices: ben alone, but dora was refused twice: unmet demand
    total, reasons = score(by_name[INVOICES], settings)
    demand = next(r for r in reasons if r["signal"] == "demand")
    assert (demand["value"], demand["points"]) == (1, 2.5)
    assert demand["text"] == "unmet demand: 0 nominations, 1 person refused a read, 0 access requests waiting"
    assert total == 10.3  # 1.5 + 3.0 + 3.3 + 2.5


def test_only_datasets_over_the_threshold_with_enough_people_are_candidates(history: History) -> None:
    found = list_candidates(history.platform, viewer=history.people["admin"])
    assert [(c.rank, c.dataset, c.score) for c in found.candidates] == [(1, KPIS, 74.0)]
    c = found.candidates[0]
    assert c.why.startswith("used from 4 other domains")
    assert c.needs is not None and c.needs.owner is not None
    assert c.needs.owner.suggested == "anna"
    assert c.needs.contract.to_json() == {
        "source": "generated from the table",
        "columns": 6,
        "checks": 2,
        "export": f"threshold contract export {KPIS}",
    }
    assert found.watching == []


def test_weights_and_threshold_come_from_settings(fresh: History) -> None:
    settings = fresh.platform.settings.products
    settings.candidate_threshold = 15.0
    settings.weight_domains = 0.0
    found = list_candidates(fresh.platform).candidates
    assert [(c.dataset, c.score) for c in found] == [(KPIS, 44.0), (SENSORS, 15.8)]
    settings.candidate_min_people = 4  # sensors has 3 people; it stays a candidate once announced...
    assert [c.dataset for c in list_candidates(fresh.platform).candidates] == [KPIS, SENSORS]


def test_a_new_candidate_is_announced_once_to_its_domains_owners(fresh: History, receiver: Receiver) -> None:
    p = fresh.platform
    with p.store.session() as s:
        s.scalars(select(Domain).where(Domain.name == "manufacturing")).one().webhook_url = receiver.url
    list_candidates(p)
    list_candidates(p)
    messages = [m for m in inbox(p, fresh.people["anna"]) if m.kind == "candidate.new"]
    assert [m.title for m in messages] == [f"{KPIS} is a promotion candidate (score 74)"]
    assert messages[0].link == f"/candidates#{KPIS}"
    assert inbox(p, fresh.people["ben"]) == []  # not his domain
    with p.store.session() as s:
        assert s.scalar(select(Dataset.stage).where(Dataset.full_name == KPIS)) == "candidate"
    events = receiver.events()
    assert [(e["event"], e["domain"], e["data"]["dataset"]) for e in events] == [
        ("candidate.new", "manufacturing", KPIS)
    ]
    headers, body = receiver.received[0]
    expected = "sha256=" + hmac.new(webhook_secret(p, "manufacturing").encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-threshold-signature"] == expected
    assert json.loads(body)["data"]["reasons"][0]["signal"] == "domains"


def test_anyone_may_nominate_a_dataset_with_a_reason(fresh: History) -> None:
    p = fresh.platform
    carla = fresh.people["carla"]
    with pytest.raises(InvalidInput):
        nominate(p, carla, SENSORS, reason="  ")
    r = nominate(p, carla, SENSORS, reason="we promise delivery dates from machine health")
    assert (r.nominations, r.new_candidate) == (1, True)
    assert [m.title for m in inbox(p, fresh.people["anna"])] == [f"carla nominated {SENSORS} for promotion"]
    found = {c.dataset: c for c in list_candidates(p).candidates}
    assert found[SENSORS].nominated and found[SENSORS].status == "open"
    demand = next(r for r in found[SENSORS].reasons if r["signal"] == "demand")
    assert (demand["value"], demand["points"]) == (1, 2.5)
    assert nominate(p, fresh.people["sam"], SENSORS, reason="board wants it").new_candidate is False
    with pytest.raises(NotFound):
        nominate(p, fresh.people["ben"], SECRET, reason="curious")  # another domain's restricted data


def test_owners_review_candidates_and_say_why(fresh: History) -> None:
    p = fresh.platform
    list_candidates(p)
    with pytest.raises(Denied):
        dismiss(p, fresh.people["ben"], KPIS, reason="not mine")
    with pytest.raises(InvalidInput):
        dismiss(p, fresh.people["anna"], KPIS, reason="")
    dismiss(p, fresh.people["anna"], KPIS, reason="the MES replacement ships in March")
    assert list_candidates(p).candidates == []
    everything = list_candidates(p, include=("open", "dismissed", "promoted")).candidates
    assert [(c.dataset, c.status, c.reviewed_by, c.review_reason) for c in everything] == [
        (KPIS, "dismissed", "anna", "the MES replacement ships in March")
    ]
    with p.store.session() as s:
        assert s.scalar(select(Dataset.stage).where(Dataset.full_name == KPIS)) == "shared"
    nominate(p, fresh.people["ben"], KPIS, reason="energy forecasts depend on it")  # a nomination reopens it
    assert [c.dataset for c in list_candidates(p).candidates] == [KPIS]
