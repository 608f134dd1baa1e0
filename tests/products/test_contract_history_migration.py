"""Migration quality_one_check_history carries every result a contract kept into the one check history,
and back: the contract view reads the same results from the runs as it read from the contract before."""

from __future__ import annotations

import json

import sqlalchemy as sa

from threshold.quality.contract_rules import ContractRule
from threshold.quality.contract_runs import RunView, render, status_of
from threshold.store.db import Store

PREVIOUS = "insights"
"""The head before this migration."""
AT = "2026-01-01 00:00:00"
CHECKED = "2026-02-03 04:05:06"
RESULTS = [
    {
        "kind": "schema",
        "object": "sales.orders",
        "property": "amount",
        "rule": "type",
        "status": "passed",
        "expected": "number",
        "actual": "DOUBLE",
        "message": "sales.orders.amount is DOUBLE",
    },
    {
        "kind": "quality",
        "object": "sales.orders",
        "property": "amount",
        "rule": "nullValues",
        "status": "failed",
        "expected": {"mustBeLessThan": 10},
        "actual": 33.3333,
        "message": "sales.orders.amount: nullValues — measured 33.3333, expected mustBeLessThan 10",
    },
    {
        "kind": "quality",
        "object": "sales.orders",
        "property": "amount",
        "rule": "sneaky",
        "status": "error",
        "expected": {"mustBe": 0},
        "actual": None,
        "message": "a contract's sql rule may only read its own datasets, not finance.invoices",
    },
    {
        "kind": "quality",
        "object": "sales.orders",
        "property": None,
        "rule": "text",
        "status": "skipped",
        "expected": None,
        "actual": None,
        "message": "text rule, for people to follow: amounts are in euros",
    },
    {
        "kind": "sla",
        "object": "sales.orders",
        "property": None,
        "rule": "freshness",
        "status": "passed",
        "expected": "<= 24 h",
        "actual": 1.5,
        "message": "sales.orders was last updated 1.5 h ago (SLO 24 h)",
    },
]


def _seed(store: Store) -> None:
    """Previous head (insights): a product's contract with its kept results, and an unchecked draft."""
    with store.engine.begin() as c:
        run = lambda sql, **kw: c.execute(sa.text(sql), {"at": AT, **kw})  # noqa: E731
        run("INSERT INTO domains (id, name, title, description, created_at) VALUES (1, 'sales', 'Sales', '', :at)")
        run(
            "INSERT INTO users (id, name, display_name, is_admin, attributes, created_at) "
            "VALUES (1, 'carla', 'Carla', false, '{}', :at)"
        )
        run(
            "INSERT INTO datasets (id, domain_id, name, full_name, title, description, purpose, stage, row_count,"
            " size_bytes, created_at, updated_at) VALUES (1, 1, 'orders', 'sales.orders', 'orders', '', '',"
            " 'shared', 0, 0, :at, :at)"
        )
        for i, version, status, results, checked in (
            (1, "1.0.0", "failed", RESULTS, CHECKED),
            (2, "2.0.0", "unchecked", [], None),
        ):
            run(
                "INSERT INTO contracts (id, dataset_id, product_id, version, document, status, results, checked_at,"
                " created_by_id, created_at) VALUES (:i, 1, NULL, :v, 'doc', :s, :r, :c, 1, :at)",
                i=i,
                v=version,
                s=status,
                r=json.dumps(results),
                c=checked,
            )


def _contract(store: Store, contract_id: int) -> dict[str, object]:
    with store.engine.connect() as c:
        row = c.execute(sa.text("SELECT * FROM contracts WHERE id = :i"), {"i": contract_id}).mappings().one()
    return {k: (json.loads(v) if k in ("rules", "results") and isinstance(v, str) else v) for k, v in row.items()}


def _view(store: Store, rules: list[dict[str, object]]) -> list[dict[str, object]]:
    """The contract view as `contract_runs.results` renders it, from the migrated database's runs."""
    with store.engine.connect() as c:
        rows = c.execute(
            sa.text("SELECT check_id, status, failing, metric, message, detail, at FROM quality_check_runs")
        )
        runs = {
            r.check_id: RunView(
                r.status,
                r.failing,
                r.metric,
                r.message,
                json.loads(r.detail) if isinstance(r.detail, str) else r.detail,
                None,
            )
            for r in rows
        }
    return [r.__dict__ for r in render([ContractRule.of(d) for d in rules], runs, set(), {})]


def test_kept_results_become_runs_and_the_view_reads_them_unchanged(empty_database_url: str) -> None:
    store = Store(empty_database_url)
    try:
        store.migrate(PREVIOUS)
        _seed(store)

        store.migrate("quality_one_check_history")

        migrated = _contract(store, 1)
        assert "results" not in migrated and "status" not in migrated
        rules = migrated["rules"]
        assert isinstance(rules, list) and len(rules) == len(RESULTS)
        view = _view(store, rules)
        assert view == RESULTS
        assert status_of(render([ContractRule.of(d) for d in rules], {}, set(), {})) == "failed"
        with store.engine.connect() as c:
            checks = c.execute(
                sa.text("SELECT kind, active, source, dataset_id, last_status FROM quality_checks ORDER BY id")
            ).all()
            runs = c.execute(sa.text("SELECT status, metric, trigger FROM quality_check_runs ORDER BY id")).all()
        assert [tuple(r) for r in checks] == [
            ("schema", False, "contract", 1, "pass"),
            ("sql", False, "contract", 1, "fail"),
            ("sql", False, "contract", 1, "error"),
            ("freshness", False, "contract", 1, "pass"),
        ]
        assert [tuple(r) for r in runs] == [
            ("pass", None, "manual"),
            ("fail", 33.3333, "manual"),
            ("error", None, "manual"),
            ("pass", 1.5, "manual"),
        ]
        assert _contract(store, 2)["rules"] == []

        store.downgrade(PREVIOUS)

        back = _contract(store, 1)
        assert (back["status"], back["results"]) == ("failed", RESULTS)
        assert str(back["checked_at"]).startswith("2026-02-03 04:05:06")
        assert (_contract(store, 2)["status"], _contract(store, 2)["results"]) == ("unchecked", [])
        with store.engine.connect() as c:
            assert c.execute(sa.text("SELECT count(*) FROM quality_checks")).scalar_one() == 0
            assert c.execute(sa.text("SELECT count(*) FROM quality_check_runs")).scalar_one() == 0
        store.migrate("head")
        assert _view(store, _contract(store, 1)["rules"]) == RESULTS  # type: ignore[arg-type]
    finally:
        store.dispose()
