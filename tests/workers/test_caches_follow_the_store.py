"""The in-process caches of metadata follow the store, whoever changed it (another thread, another worker).

Each cache is keyed on what the store says at the start of its use (`Store.metadata_version`, bumped in the
transaction of every change to datasets, columns, tags, domains, people, memberships, grants and policies),
so nothing needs to be told: the next use after a commit reads the new number. These tests change the store
behind the cache's back, through a session of its own, as another worker process would.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import select

from threshold.access.policy import active_rules
from threshold.gateway.service import query
from threshold.store.models import Domain, Policy

pytestmark = pytest.mark.postgres

KPIS = "manufacturing.plant_kpis"


def _policy(s: Any, rule: str, where: str) -> None:
    domain = s.scalars(select(Domain).where(Domain.name == "manufacturing")).one()
    spec = {"id": rule, "kind": "row_filter", "datasets": ["plant_kpis"], "where": where}
    s.add(Policy(rule_id=f"manufacturing.{rule}", scope="domain", domain_id=domain.id, kind="row_filter", spec=spec))


@pytest.fixture
def pg_org(prepared_homes: Any, tmp_path: Any) -> Any:
    if not os.environ.get("THRESHOLD_TEST_POSTGRES_URL"):
        pytest.skip("THRESHOLD_TEST_POSTGRES_URL not set (make test starts a local PostgreSQL)")
    yield from prepared_homes.copy("org", "postgres", tmp_path / "home")


def test_a_rule_committed_after_a_later_one_is_not_missed(pg_org: Any) -> None:
    """Policy ids are taken when a transaction inserts, not when it commits: the transaction holding the
    smaller id may commit last. A cache keyed on the newest id kept missing its rule; keyed on the
    version, it does not."""
    platform = pg_org
    assert [r.rule_id for r in active_rules(platform)] == []  # cached
    slow = platform.store.reader()
    slow.begin()
    _policy(slow, "lyon-only", "plant = 'Lyon'")
    slow.flush()  # takes its id now, commits later
    with platform.store.session() as s:
        _policy(s, "no-porto", "plant <> 'Porto'")
    assert sorted(r.rule_id for r in active_rules(platform)) == ["manufacturing.no-porto"]
    slow.commit()
    slow.close()
    assert sorted(r.rule_id for r in active_rules(platform)) == ["manufacturing.lyon-only", "manufacturing.no-porto"]


def test_a_prepared_read_follows_a_policy_committed_elsewhere(pg_org: Any) -> None:
    platform = pg_org
    from threshold.identity.service import get_person

    carla = get_person(platform, "carla")
    sql = f"SELECT count(*) AS n FROM {KPIS}"
    assert query(platform, sql, user=carla).table.column("n").to_pylist() == [5]
    assert query(platform, sql, user=carla).table.column("n").to_pylist() == [5]  # the prepared read, reused
    with platform.store.session() as s:  # as another worker would: no event, no call into this process
        _policy(s, "berlin-only", "plant = 'Berlin'")
    assert query(platform, sql, user=carla).table.column("n").to_pylist() == [2]
    with platform.store.session() as s:
        for p in s.scalars(select(Policy).where(Policy.rule_id == "manufacturing.berlin-only")):
            p.active = False  # retired in place, no new row: only the version says it changed
    assert query(platform, sql, user=carla).table.column("n").to_pylist() == [5]
