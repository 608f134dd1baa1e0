"""The one scan: a unique key within the footers' bounds is counted with a bitmap, exactly as the DISTINCT
way counts it; footers that lie cost a second query, never a wrong count; a row count alone reads no rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threshold.quality import dataset_checks
from threshold.quality.footers import snapshot_facts
from threshold.quality.kinds.base import Facts
from threshold.quality.models import Check
from threshold.quality.reading import PublishedReader, published_target, run_as
from threshold.quality.runner import CheckInfo, aggregate_sql, evaluate

from .conftest import BATCHES, Batches

_KEYS = st.lists(
    st.tuples(st.none() | st.integers(-5, 40), st.none() | st.integers(0, 3)),
    min_size=0,
    max_size=60,
)


def _unique(columns: list[str]) -> CheckInfo:
    return CheckInfo(1, 1, "k", "unique", {"columns": columns}, False)


@pytest.fixture(scope="module")
def duck() -> Iterator[duckdb.DuckDBPyConnection]:
    """One DuckDB connection for every example (a connection costs more than an example's queries)."""
    con = duckdb.connect()
    yield con
    con.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_KEYS)
def test_the_bitmap_counts_repeated_keys_exactly_as_distinct_does(
    duck: duckdb.DuckDBPyConnection, rows: list[tuple[int | None, int | None]]
) -> None:
    con = duck
    con.execute("CREATE OR REPLACE TABLE t (a INTEGER, b SMALLINT)")  # each example's rows only
    if rows:  # one statement (executemany runs one per row)
        con.execute("INSERT INTO t VALUES " + ", ".join(["(?, ?)"] * len(rows)), [v for r in rows for v in r])
    types = {"a": "INTEGER", "b": "SMALLINT"}
    a = [r[0] for r in rows if r[0] is not None]
    b = [r[1] for r in rows if r[1] is not None]
    bounds = {"a": (min(a), max(a))} if a else {}
    bounds |= {"b": (min(b), max(b))} if b else {}
    facts = Facts(rows=len(rows), bounds=bounds)
    for columns in (["a"], ["a", "b"], ["b", "a"]):
        check = _unique(columns)
        plain, _ = aggregate_sql("t", [check], types)
        packed, _ = aggregate_sql("t", [check], types, facts)
        if all(c in bounds for c in columns):
            assert "bitstring_agg" in packed
        assert con.execute(packed).fetchall() == con.execute(plain).fetchall()


def test_a_key_too_wide_for_a_bitmap_is_counted_with_a_hash_table() -> None:
    check = _unique(["a", "b"])
    types = {"a": "BIGINT", "b": "BIGINT"}
    wide = Facts(rows=10, bounds={"a": (0, 1_000_000), "b": (0, 1_000_000)})
    text = Facts(rows=10, bounds={"a": (0, 10)})
    assert "bitstring_agg" not in aggregate_sql("t", [check], types, wide)[0]
    assert "bitstring_agg" not in aggregate_sql("t", [check], {"a": "VARCHAR", "b": "BIGINT"}, text)[0]
    assert "count(DISTINCT" in aggregate_sql("t", [check], types, wide)[0]


def test_the_footers_state_rows_and_integer_bounds(module_batches: Batches) -> None:
    b = module_batches
    target = published_target(b.platform, BATCHES)
    facts = snapshot_facts(b.platform.lake.plan(BATCHES, target.snapshot_id))
    assert facts.rows == 5
    assert facts.bounds == {"batch_id": (1, 5)}


class _LyingFooters(PublishedReader):
    """A reader whose footers state bounds the data does not keep to (a bad writer's statistics)."""

    queries: list[str]

    def facts(self) -> Facts:
        return replace(super().facts(), bounds={"batch_id": (1, 2)})

    def run(self, sql: str, *, scope: str = "whole", max_rows: int | None = None):  # type: ignore[no-untyped-def]
        self.queries.append(sql)
        return super().run(sql, scope=scope, max_rows=max_rows)


def test_footers_that_lie_cost_a_second_query_not_a_wrong_count(module_batches: Batches) -> None:
    b = module_batches
    added = b.add("unique", column="batch_id")
    with b.platform.store.session() as s:
        check = CheckInfo.of(s.get(Check, added.id))  # type: ignore[arg-type]
    target = published_target(b.platform, BATCHES)
    reader = _LyingFooters(b.platform, target, run_as(b.platform, target.dataset_id))
    reader.queries = []

    (result,) = evaluate(reader, [check])

    assert (result.outcome.status, result.outcome.failing) == ("fail", 1)
    assert ["bitstring_agg" in q for q in reader.queries[:2]] == [True, False]


def test_a_row_count_alone_reads_the_footers_not_the_rows(
    module_batches: Batches, monkeypatch: pytest.MonkeyPatch
) -> None:
    from threshold.gateway import service

    b = module_batches
    added = b.add("row_count", min=5)
    queries: list[str] = []
    real = service.query
    monkeypatch.setattr(service, "query", lambda p, sql, **kw: queries.append(sql) or real(p, sql, **kw))

    (run,) = dataset_checks.run(b.platform, b.anna, BATCHES, check_ids=[added.id])

    assert (run.status, run.checked, run.metric) == ("pass", 5, 5.0)
    assert queries == []


def test_a_percent_tolerance_measures_the_failing_percent(module_batches: Batches) -> None:
    b = module_batches
    added = b.add("not_null", column="plant", max_failing_percent=10)

    (run,) = dataset_checks.run(b.platform, b.anna, BATCHES, check_ids=[added.id])

    assert (run.status, run.failing, run.metric) == ("fail", 1, 20.0)
