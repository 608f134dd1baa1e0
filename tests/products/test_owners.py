"""Finding the owner by working backward: ranked suggestions with evidence; accept, decline, next."""

from __future__ import annotations

import pytest

from threshold.errors import Conflict, Denied, InvalidInput, NotFound
from threshold.notifications.service import inbox
from threshold.products.lifecycle import promote
from threshold.products.owners import accept, decline, propose, suggest
from threshold.products.results import OwnerSuggestions

from .usage_history import INVOICES, KPIS, SECRET, History


def _ranking(found: OwnerSuggestions) -> list[tuple[str, float, list[tuple[str, float]]]]:
    return [(s.user, s.score, [(e.kind, e.points) for e in s.evidence]) for s in found.suggestions]


def test_suggestions_are_ranked_with_their_evidence(history: History) -> None:
    found = suggest(history.platform, KPIS, viewer=history.people["admin"])
    assert _ranking(found) == [
        # shared it, owns its domain, used it 7 of the 8 weeks it has been read, is a member
        ("anna", 82.5, [("shared", 30), ("domain_owner", 25), ("heavy_user", 17.5), ("member", 10)]),
        # the heaviest outside user, who first asked the energy question others ask too
        ("ben", 25.5, [("heavy_user", 17.5), ("question_author", 8)]),
        ("carla", 8.0, [("question_author", 8)]),  # first asked the delivery question frank asks too
        ("dora", 7.5, [("heavy_user", 7.5)]),
        ("eve", 7.5, [("heavy_user", 7.5)]),
    ]
    anna, ben = found.suggestions[0], found.suggestions[1]
    assert anna.evidence[0].text.endswith("from plant_kpis.csv")
    assert ben.evidence[0].text == "used it in 7 weeks (14 queries)"
    assert ben.evidence[1].text == "first asked one of its recurring questions"
    assert found.next == "anna" and found.proposed_to is None


def test_who_appends_to_a_dataset_knows_it(fresh: History, tmp_path: object) -> None:
    from threshold.sharing.service import share

    from .usage_history import DATASETS

    path = tmp_path / "sensors.csv"  # type: ignore[operator]
    path.write_text(DATASETS["manufacturing.sensors"][1], encoding="utf-8")
    for _ in range(2):
        share(fresh.platform, path, domain="manufacturing", name="sensors", mode="append", user=fresh.person("hana"))
    found = suggest(fresh.platform, "manufacturing.sensors")
    hana = next(s for s in found.suggestions if s.user == "hana")
    assert [(e.kind, e.points) for e in hana.evidence] == [("appends", 10), ("member", 10)]
    assert hana.evidence[0].text.startswith("appended it 2 times")


def test_a_decline_moves_to_the_next_suggestion_and_is_recorded(fresh: History) -> None:
    p, anna, ben = fresh.platform, fresh.people["anna"], fresh.people["ben"]
    with pytest.raises(Denied):
        propose(p, ben, KPIS)  # not an owner of manufacturing
    assert propose(p, anna, KPIS).proposed_to == "anna"
    with pytest.raises(Conflict):
        propose(p, anna, KPIS)  # one proposal at a time
    with pytest.raises(InvalidInput):
        decline(p, anna, KPIS, reason="")
    r = decline(p, anna, KPIS, reason="I run the plant, not its data")
    assert r.next is not None and r.next.proposed_to == "ben"
    proposed = [m for m in inbox(p, ben) if m.kind == "promotion.proposed"]
    assert [m.title for m in proposed] == [f"Would you own {KPIS} as a data product?"]
    assert "used it in 7 weeks" in proposed[0].body
    found = suggest(p, KPIS)
    assert [(h.user, h.status, h.reason) for h in found.history] == [
        ("anna", "declined", "I run the plant, not its data"),
        ("ben", "proposed", ""),
    ]
    assert found.suggestions[0].status == "declined"
    accept(p, ben, KPIS, reason="finance depends on it every week")
    assert suggest(p, KPIS).accepted_by == "ben"
    assert [m.kind for m in inbox(p, anna)][:2] == ["owner.accepted", "owner.declined"]
    with pytest.raises(Conflict):
        promote(p, anna, KPIS, owner="anna")  # she declined
    assert promote(p, anna, KPIS).owner == "ben"  # whoever accepted


def test_nobody_left_to_propose(fresh: History) -> None:
    p, anna = fresh.platform, fresh.people["anna"]
    propose(p, anna, KPIS)
    for who in ("anna", "ben", "carla", "dora", "eve"):
        decline(p, fresh.people[who], KPIS, reason="no time")
    assert suggest(p, KPIS).next is None
    with pytest.raises(NotFound):
        propose(p, anna, KPIS)


def test_consumer_names_stay_with_those_who_may_read_the_data(history: History) -> None:
    with pytest.raises(NotFound):
        suggest(history.platform, SECRET, viewer=history.people["ben"])  # restricted to sales
    with pytest.raises(Denied):
        suggest(history.platform, INVOICES, viewer=history.people["dora"])  # on request, no grant
    assert suggest(history.platform, INVOICES, viewer=history.people["eve"]).suggestions[0].user == "ben"
