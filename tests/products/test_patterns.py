"""Consumption patterns computed from the hand-built history (tests/products/conftest.py), on both stores.

Every expected number below follows from `HISTORY` by hand; the comments say how.
"""

from __future__ import annotations

from datetime import timedelta

from threshold.products.consumption import dataset_consumers
from threshold.products.patterns import domain_datasets, org_patterns
from threshold.products.rollup import monday

from .usage_history import INVOICES, KPIS, OLD, ORDERS, SECRET, SENSORS, SHIPMENTS, History


def test_plant_kpis_consumers_by_domain_and_purpose(history: History) -> None:
    d = dataset_consumers(history.platform, KPIS, viewer=history.people["admin"]).to_json()
    # ben 14, eve 3, carla 2, frank 2 (one browse), dora 3, anna 7, sam 1, gus 1 (his join with sensors)
    assert (d["queries"], d["people"]) == (33, 8)
    # outside manufacturing: ben, eve (finance), carla, frank (sales), dora (supply_chain), sam (strategy)
    assert (d["people_outside"], d["consumer_domains"]) == (6, 4)
    assert d["repeat_people"] == 4  # ben 7 weeks, anna 7, eve 3, dora 3
    assert d["denied"] == 0
    assert d["domains"] == [
        {"domain": "finance", "people": 2, "queries": 17, "outside": True},
        {"domain": "manufacturing", "people": 2, "queries": 8, "outside": False},
        {"domain": "sales", "people": 2, "queries": 4, "outside": True},
        {"domain": "supply_chain", "people": 1, "queries": 3, "outside": True},
        {"domain": "strategy", "people": 1, "queries": 1, "outside": True},
    ]
    purposes = {(p["purpose"], p["source"]): (p["people"], p["queries"]) for p in d["purposes"]}
    assert purposes == {
        ("energy cost forecast", "declared"): (2, 17),
        ("plant performance review", "declared"): (1, 7),
        ("capacity planning", "declared"): (1, 3),
        ("delivery promise", "declared"): (2, 3),
        ("(none declared)", "declared"): (2, 2),
        ("monitoring", "declared"): (1, 1),
    }


def test_weekly_series_counts_queries_people_and_domains(history: History) -> None:
    weekly = dataset_consumers(history.platform, KPIS, viewer=history.people["admin"]).to_json()["weekly"]
    this = monday(history.platform.clock())
    assert [w["week"] for w in weekly] == [(this - timedelta(weeks=k)).isoformat() for k in range(7, -1, -1)]
    # weeks 7..0 ago: ben 2 + anna 1; + dora from week 6 to 4; eve from week 3; week 2 adds carla, sam, frank's
    # browse; week 1 adds carla, frank, gus's join.
    assert [w["queries"] for w in weekly] == [3, 4, 4, 4, 4, 7, 7, 0]
    assert [w["people"] for w in weekly] == [2, 3, 3, 3, 3, 6, 6, 0]
    assert [w["domains"] for w in weekly] == [2, 3, 3, 3, 2, 4, 3, 0]


def test_repeat_use_and_people_list(history: History) -> None:
    d = dataset_consumers(history.platform, KPIS, viewer=history.people["admin"]).to_json()
    people = {p["user"]: p for p in d["consumers"]}
    assert (people["ben"]["weeks"], people["ben"]["queries"], people["ben"]["repeat"]) == (7, 14, True)
    assert (people["carla"]["weeks"], people["carla"]["repeat"]) == (2, False)
    assert people["eve"]["purposes"] == ["energy cost forecast"]
    assert [p["user"] for p in d["consumers"]][:2] == ["ben", "anna"]


def test_recurring_questions_need_several_people_and_are_not_browsing(history: History) -> None:
    questions = {q["fingerprint"]: q for q in dataset_consumers(history.platform, KPIS).to_json()["questions"]}
    assert {fp for fp, q in questions.items() if q["recurring"]} == {"fp-energy", "fp-delivery"}
    assert (questions["fp-energy"]["people"], questions["fp-energy"]["queries"]) == (2, 17)
    assert questions["fp-energy"]["first_asked_by"] == "ben"
    assert questions["fp-delivery"]["first_asked_by"] == "carla"
    # sam and frank both only looked at the rows: a browse, not a recurring question
    assert questions["fp-browse"]["people"] == 2 and questions["fp-browse"]["browse"]
    assert not questions["fp-browse"]["recurring"]
    assert not questions["fp-review"]["recurring"]  # anna alone


def test_datasets_used_together_in_one_query_or_one_session(history: History) -> None:
    together = dataset_consumers(history.platform, SENSORS).to_json()["together"]
    # gus joined both once; anna read sensors ten minutes after plant_kpis
    assert together == [{"dataset": KPIS, "people": 2, "in_query": 1, "in_session": 1}]
    assert dataset_consumers(history.platform, SHIPMENTS).to_json()["together"] == []


def test_a_member_of_two_domains_is_no_outside_consumer_of_either(history: History) -> None:
    d = dataset_consumers(history.platform, SENSORS).to_json()
    # hana is in supply_chain and manufacturing: she counts for manufacturing only
    assert (d["people"], d["people_outside"], d["consumer_domains"]) == (3, 0, 0)
    assert d["domains"] == [{"domain": "manufacturing", "people": 3, "queries": 10, "outside": False}]


def test_refused_reads_are_counted_as_unmet_demand(history: History) -> None:
    d = dataset_consumers(history.platform, INVOICES).to_json()
    assert (d["people"], d["queries"], d["denied"], d["denied_people"]) == (1, 14, 2, 1)


def test_columns_read(history: History) -> None:
    columns = {c["column"]: c for c in dataset_consumers(history.platform, KPIS).to_json()["columns"]}
    # plant: ben, eve, carla, frank, anna, sam (browse), gus (join) = 7 people
    assert (columns["plant"]["people"], columns["plant"]["queries"]) == (7, 30)
    assert columns["energy_kwh"]["domains"] == ["finance", "sales", "strategy"]
    assert columns["scrap_rate"]["people"] == 3  # anna, sam, frank (browse)


def test_window_of_weeks(history: History) -> None:
    two = dataset_consumers(history.platform, KPIS, weeks=2).to_json()  # this week and last: week 1 only
    assert (two["queries"], two["people"]) == (7, 6)
    assert [w["queries"] for w in two["weekly"]] == [7, 0]
    everything = dataset_consumers(history.platform, KPIS, weeks=0).to_json()
    assert everything["queries"] == 33


def test_reuse_matrix(history: History) -> None:
    m = org_patterns(history.platform, viewer=history.people["admin"]).reuse_matrix
    cells = {(c.consumer, c.producer): (c.people, c.reads) for c in m.cells}
    assert cells == {
        ("finance", "finance"): (1, 14),
        ("finance", "manufacturing"): (2, 17),
        ("manufacturing", "manufacturing"): (3, 18),  # anna 8, gus 9, hana 1
        ("sales", "manufacturing"): (2, 4),
        ("sales", "sales"): (1, 2),
        ("sales", "supply_chain"): (1, 1),
        ("strategy", "manufacturing"): (1, 1),
        ("supply_chain", "manufacturing"): (1, 3),
        ("supply_chain", "supply_chain"): (1, 7),
    }
    assert m.cross_domain_reads == 17 + 4 + 1 + 1 + 3
    assert m.producers == ["finance", "manufacturing", "sales", "strategy", "supply_chain"]


def test_rising_falling_long_tail_and_domains_that_only_consume(history: History) -> None:
    p = org_patterns(history.platform, viewer=history.people["admin"])
    # person-weeks, the last 4 complete weeks against the 4 before: plant_kpis 3+3+2+0 -> 6+6+3+3;
    # sensors 1+1+1 -> 2+2+1+1; orders 0 -> 1+1; shipments 3 -> 2+1+1+1; invoices 3 -> 4
    rising = [(r.dataset, r.prior_person_weeks, r.recent_person_weeks) for r in p.rising]
    assert rising == [(KPIS, 8, 18), (SENSORS, 3, 6), (ORDERS, 0, 2), (SHIPMENTS, 3, 5), (INVOICES, 3, 4)]
    assert [(r.prior_queries, r.recent_queries) for r in p.rising][:2] == [(11, 22), (3, 7)]
    assert p.falling == []
    assert [x.dataset for x in p.long_tail.never_used] == [OLD, SECRET]
    assert {x.dataset for x in p.long_tail.one_person} == {INVOICES, ORDERS}
    assert p.consume_not_share == ["strategy"]
    balance = {b.domain: b for b in p.domains}
    assert (balance["manufacturing"].outside_people, balance["manufacturing"].outside_reads) == (6, 25)
    assert balance["sales"].consumes_from_others == 5
    assert p.to_json()["totals"] == {"reads": 67, "people": 9, "datasets": 7, "datasets_used": 5}


def test_outsiders_do_not_see_other_domains_restricted_datasets_in_lists(history: History) -> None:
    p = org_patterns(history.platform, viewer=history.people["ben"])
    assert [x.dataset for x in p.long_tail.never_used] == [OLD]
    mine = org_patterns(history.platform, viewer=history.people["carla"])  # sales: its own restricted data
    assert SECRET in [x.dataset for x in mine.long_tail.never_used]


def test_usage_by_schema_level_drills_down_per_dataset(history: History) -> None:
    rows = domain_datasets(history.platform, "manufacturing", viewer=history.people["ben"])
    assert [r.to_json() for r in rows] == [
        {"dataset": OLD, "stage": "shared", "queries": 0, "people": 0},
        {"dataset": KPIS, "stage": rows[1].stage, "queries": 33, "people": 8},
        {"dataset": SENSORS, "stage": "shared", "queries": 10, "people": 3},
    ]
    assert [r.dataset for r in domain_datasets(history.platform, "sales", viewer=history.people["ben"])] == [ORDERS]
