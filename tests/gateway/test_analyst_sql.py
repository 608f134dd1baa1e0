"""Analysts' SQL (`tests/fixtures/gateway/analyst.sql`) through the gateway, answered as plain DuckDB answers it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_escapes import load_cases  # the same fixture format as the escape cases
from test_query import _rows, plain, sales  # noqa: F401  (the tables and plain DuckDB of test_query)

from threshold.gateway.service import query

CASES = load_cases(Path(__file__).parent.parent / "fixtures" / "gateway" / "analyst.sql")


def test_the_fixture_has_cases() -> None:
    assert len(CASES) >= 15
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_same_answer_as_plain_duckdb(case: Any, sales: Any, plain: Any) -> None:  # noqa: F811
    sql = case.sql.rstrip(";")
    plain.execute("SET lambda_syntax = 'ENABLE_SINGLE_ARROW'")  # plain DuckDB 2 refuses `x -> ...` otherwise
    got = query(sales.platform, sql, user=sales.ben).table
    want = plain.sql(sql).to_arrow_table()
    assert got.column_names == want.column_names
    assert _rows(got) == _rows(want)
    assert got.num_rows > 0
