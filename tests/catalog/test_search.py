"""Catalog search: what matches, in which order, page by page without a ceiling; and a dataset's record."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from typing import Any

import pyarrow as pa
import pytest

from prepared import on_org
from threshold.catalog.search import search
from threshold.catalog.service import describe
from threshold.errors import InvalidInput, NotFound
from threshold.gateway.service import query
from threshold.sharing.service import share


def _share(org: Any, domain: str, name: str, columns: dict[str, list[Any]], description: str = "") -> None:
    share(org.platform, pa.table(columns), domain=domain, name=name, user=org.admin, description=description)


def _ranking_datasets(org: Any) -> None:
    _share(org, "sales", "orders", {"order_id": [1, 2], "amount": [9.5, 20.0]})
    _share(org, "sales", "order_lines", {"order_id": [1], "line": [1], "qty": [3]})
    _share(org, "finance", "orders_summary", {"month": ["2026-01"], "total": [29.5]})
    _share(org, "finance", "budget", {"orders": [12], "cost": [100.0]})
    _share(org, "finance", "open_orders", {"id": [7]})
    _share(org, "sales", "shipments", {"orders_count": [4], "carrier": ["DHL"]})
    _share(org, "sales", "returns", {"id": [1]}, description="Returned goods, linked to ORDERS by id")


@on_org("ranked")
def _build_ranked(any_org: Any, tmp: Any = None) -> Any:
    """The org with the seven datasets the ranking cases search among."""
    _ranking_datasets(any_org)
    return any_org


@pytest.fixture
def ranked(any_org: Any, prepared_homes: Any) -> Any:
    """`_build_ranked`: a copy of its home built once per session and backend (the tests only search)."""
    if not prepared_homes.adopt(any_org, _build_ranked):
        _build_ranked(any_org)
    return any_org


# (search text, the dataset names expected, best first, with why each matched)
SEARCH_CASES: list[tuple[str, list[tuple[str, str]]]] = [
    # An exact name leads; then datasets that have every word.
    (
        "sales.orders",
        [
            ("sales.orders", "dataset name"),
            ("sales.order_lines", "name “sales”; name “orders”"),
            ("sales.shipments", "name “sales”; column “orders”"),
            ("sales.returns", "name “sales”; description “orders”"),
        ],
    ),
    (
        "orders",
        [
            ("sales.orders", "dataset name"),
            ("finance.open_orders", "name “orders”"),
            ("finance.orders_summary", "name “orders”"),
            ("sales.order_lines", "name “orders”"),
            ("finance.budget", "column “orders”"),
            ("sales.shipments", "column “orders”"),
            ("sales.returns", "description “orders”"),
        ],
    ),
    ("order_lines", [("sales.order_lines", "dataset name")]),
    ("orders_summary", [("finance.orders_summary", "dataset name")]),
    ("carrier", [("sales.shipments", "column “carrier”")]),
    # Stems and plurals: "carriers" finds the column `carrier`, "summaries" the name `orders_summary`.
    ("carriers", [("sales.shipments", "column “carriers”")]),
    ("summaries", [("finance.orders_summary", "name “summaries”")]),
    # Typos: one edit away from an indexed word.
    ("carrier", [("sales.shipments", "column “carrier”")]),
    ("carier", [("sales.shipments", "column “carrier” (for “carier”)")]),
    ("shipmnets", [("sales.shipments", "name “shipments” (for “shipmnets”)")]),
    # Synonyms from the thesaurus, English and German: below the word itself.
    ("vendor", []),
    ("versand", [("sales.shipments", "name “shipment” (same meaning as “versand”)")]),
    # Column labels (the source's own column names) and dataset titles.
    ("E-Mail", [("manufacturing.plant_kpis", "column “mail”")]),
    ("operator name", [("manufacturing.plant_kpis", "column “operator”; column “name”")]),
    ("plant kpis", [("manufacturing.plant_kpis", "dataset name")]),
    ("kpi plant", [("manufacturing.plant_kpis", "name “kpi”; name “plant”")]),
    # Description and purpose.
    ("daily kpis", [("manufacturing.plant_kpis", "name “kpis”; description “daily”")]),
    ("performance reporting", [("manufacturing.plant_kpis", "description “performance”; description “reporting”")]),
    # Tags, detected at share time.
    ("personal.email", [("manufacturing.plant_kpis", "tag “personal”; tag “email”")]),
    ("personal.", [("manufacturing.plant_kpis", "tag “personal”")]),
    # Domain.
    ("manufacturing", [("manufacturing.plant_kpis", "name “manufacturing”")]),
    ("finance", [(f"finance.{n}", "name “finance”") for n in ("budget", "open_orders", "orders_summary")]),
    # Punctuation and query syntax are text, not operators.
    ("%", []),
    ("o%s", []),
    ('"zebra" OR NEAR(x', []),
    ("nothing like this", []),
]


def test_search_ranks_and_explains_matches(ranked: Any) -> None:
    any_org = ranked
    wrong = {}
    for text, expected in SEARCH_CASES:
        page = search(any_org.platform, text)
        got = [(r["name"], r["match"]) for r in page.results]
        if got != expected or page.total != len(expected):
            wrong[text] = got
    assert wrong == {}
    assert search(any_org.platform, "SALES.ORDERS").results == search(any_org.platform, "sales.orders").results


def test_search_result_fields(ranked: Any) -> None:
    any_org = ranked
    first = search(any_org.platform, "orders").results[4]
    assert first["name"] == "finance.budget"
    assert first["matched_columns"] == ["orders"]
    assert (first["domain"], first["rows"], first["columns"], first["shared_by"]) == (
        "finance",
        1,
        2,
        "admin",
    )
    tagged = search(any_org.platform, "personal.email").results[0]
    assert tagged["matched_tags"] == ["personal.email"]
    assert tagged["tags"] == ["personal.email", "personal.name"]
    everything = search(any_org.platform)
    assert everything.total == 8
    assert [r["name"] for r in everything.results] == sorted(r["name"] for r in everything.results)
    assert all(r["match"] is None for r in everything.results)


def _bulk(org: Any, n: int) -> list[str]:
    names = []
    for i in range(n):
        name = f"bulk_{i:03d}"
        _share(org, "sales", name, {"k": [i]}, description=f"bulk dataset {i}")
        names.append(f"sales.{name}")
    return names


@pytest.mark.slow
def test_pagination_reaches_every_match_exactly_once(any_org: Any) -> None:
    """120 datasets in pages of 50 (60 in pages of 25 on PostgreSQL, where sharing is slower)."""
    n, per_page = (120, 50) if any_org.platform.settings.is_sqlite else (60, 25)
    names = _bulk(any_org, n)
    for text, expected in (("bulk", names), ("", [*names, "manufacturing.plant_kpis"])):
        seen: list[str] = []
        for number in (1, 2, 3):
            page = search(any_org.platform, text, page=number, per_page=per_page)
            assert page.total == len(expected), f"search {text!r} page {number}"
            assert (page.page, page.per_page) == (number, per_page)
            assert len(page.results) == min(per_page, len(expected) - per_page * (number - 1))
            seen += [r["name"] for r in page.results]
        assert search(any_org.platform, text, page=4, per_page=per_page).results == []
        assert len(seen) == len(set(seen)), f"search {text!r}: a dataset on two pages"
        assert sorted(seen) == sorted(expected)
    assert [r["name"] for r in search(any_org.platform, "bulk", per_page=1000).results] == names


@pytest.mark.parametrize(("page", "per_page"), [(0, 50), (1, 0), (1, 1001), (-1, 10)])
def test_bad_pages_are_refused(page: int, per_page: int, org: Any) -> None:
    with pytest.raises(InvalidInput, match="page starts at 1"):
        search(org.platform, "x", page=page, per_page=per_page)


# ----------------------------------------------------------------------------------------- describe


def test_describe_has_schema_profile_history_and_examples(org: Any) -> None:
    d = describe(org.platform, "manufacturing.plant_kpis")
    assert (d.name, d.domain, d.rows, d.columns, d.stage) == (
        "manufacturing.plant_kpis",
        "manufacturing",
        5,
        6,
        "shared",
    )
    assert d.description == "Daily KPIs per plant: scrap rate, energy"
    assert d.purpose == "plant performance reporting"
    assert (d.shared_by, d.first_shared_by) == ("anna", "anna")
    assert d.source.name == "plant_kpis.csv" and d.source.format == "csv"
    assert len(d.source.sha256) == 64
    schema = {c.name: c for c in d.schema}
    assert [(c.name, c.label, c.type) for c in d.schema] == [
        ("plant", "Plant", "VARCHAR"),
        ("operator_name", "Operator Name", "VARCHAR"),
        ("e_mail", "E-Mail", "VARCHAR"),
        ("scrap_rate", "Scrap Rate", "DOUBLE"),
        ("energy_kwh", "Energy kWh", "DOUBLE"),
        ("day", "Day", "DATE"),
    ]
    assert [t.tag for t in schema["e_mail"].tags] == ["personal.email"]
    assert [t.tag for t in schema["operator_name"].tags] == ["personal.name"]
    assert schema["plant"].tags == []
    # The profile.
    assert schema["plant"].null_fraction == 0.0
    assert schema["plant"].distinct_estimate == 3
    assert (schema["scrap_rate"].min, schema["scrap_rate"].max) == ("0.05", "0.15")
    assert (schema["day"].min, schema["day"].max) == ("2026-01-03", "2026-01-06")
    assert schema["plant"].top_values[:2] == [["Berlin", 2], ["Lyon", 2]]
    # History: one share so far.
    assert len(d.history) == 1
    h = d.history[0]
    assert (h.snapshot_id, h.by, h.mode, h.rows_added, h.rows_total) == (
        d.snapshot_id,
        "anna",
        "create",
        5,
        5,
    )
    assert [e.title for e in d.example_queries] == [
        "See the first rows",
        "Count the rows",
        "Total scrap_rate by plant",
        "Rows per month of day",
    ]


def test_the_records_json_keeps_its_keys_and_their_order(org: Any) -> None:
    """What the API, the page's `.json` twin, the CLI and the client send: every field, in the order clients
    have always read them (the form is written out by hand; it must say what the dataclasses hold)."""
    d = describe(org.platform, "manufacturing.plant_kpis", viewer=org.ben)
    sent = d.to_json()
    assert list(sent) == [
        *("name", "domain", "title", "description", "stage", "visibility", "rows", "columns", "tags"),
        *("shared_by", "updated_at", "purpose", "snapshot_id", "size_bytes", "created_at", "source"),
        *("first_shared_by", "dataset_tags", "schema", "history", "example_queries"),
    ]
    assert list(sent["source"]) == ["name", "format", "size", "sha256"]
    e_mail = next(c for c in sent["schema"] if c["name"] == "e_mail")
    assert list(e_mail) == [
        *("name", "label", "type", "tags", "null_fraction", "distinct_estimate", "min", "max", "top_values")
    ]
    assert list(e_mail["tags"][0]) == ["tag", "origin", "confidence", "reason"]
    assert (e_mail["min"], e_mail["max"], e_mail["top_values"]) == (None, None, []), "masked for ben: no values"
    assert list(sent["history"][0]) == [
        *("snapshot_id", "at", "by", "mode", "rows_added", "rows_total", "source", "sha256", "notes")
    ]
    assert list(sent["example_queries"][0]) == ["title", "sql"]
    assert json.dumps(sent) == json.dumps(asdict(d)), "the written-out form says what the fields hold"


def test_history_lists_the_newest_share_first(org: Any) -> None:
    share(
        org.platform,
        org.plant_kpis_csv,
        domain="manufacturing",
        name="plant_kpis",
        mode="append",
        user=org.anna,
    )
    d = describe(org.platform, "manufacturing.plant_kpis")
    assert [(h.mode, h.rows_added, h.rows_total) for h in d.history] == [
        ("append", 5, 10),
        ("create", 5, 5),
    ]
    assert d.history[0].snapshot_id == d.snapshot_id
    assert d.rows == 10


def test_every_example_query_runs_through_the_gateway(org: Any) -> None:
    share(
        org.platform,
        pa.table(
            {
                "region": ["north", "south", "north"],
                "revenue": [10, 20, 30],
                "booked_at": [dt.date(2026, 1, 5), dt.date(2026, 2, 1), dt.date(2026, 2, 9)],
            }
        ),
        domain="sales",
        name="bookings",
        user=org.carla,
    )
    expected_rows = {
        "manufacturing.plant_kpis": {
            "See the first rows": 5,
            "Count the rows": 1,
            "Total scrap_rate by plant": 3,
            "Rows per month of day": 1,
        },
        "sales.bookings": {
            "See the first rows": 3,
            "Count the rows": 1,
            "Total revenue by region": 2,
            "Rows per month of booked_at": 2,
        },
    }
    for name, rows in expected_rows.items():
        examples = describe(org.platform, name).example_queries
        assert [e.title for e in examples] == list(rows), name
        for example in examples:
            result = query(org.platform, example.sql, user=org.ben, purpose="catalog example")
            assert result.table.num_rows == rows[example.title], f"{name}: {example.title}"
            assert result.datasets == [name]
    months = query(org.platform, describe(org.platform, "sales.bookings").example_queries[3].sql, user=org.ben)
    assert months.table.to_pylist() == [
        {"month": dt.datetime(2026, 1, 1), "rows": 1, "total_revenue": 10},
        {"month": dt.datetime(2026, 2, 1), "rows": 2, "total_revenue": 50},
    ]


def test_describe_unknown_dataset(org: Any) -> None:
    with pytest.raises(NotFound, match="no dataset 'sales.nope'"):
        describe(org.platform, "sales.nope")
