"""The rows the personal-column check reads before a share's commit: the first `SAMPLE_ROWS` rows of the staged
file, with their DuckDB types, the same whether pyarrow reads them (columns of types DuckDB reads alike) or
DuckDB does (any other type)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from threshold.lake import _quote_ident, _quote_str
from threshold.sharing.statistics import SAMPLE_ROWS, _first_rows

FILES = {
    "every type read alike, in row groups": (
        "SELECT i::INTEGER a, i::BIGINT b, (i / 3)::FLOAT c, (i / 7)::DOUBLE d, "
        "CASE WHEN i % 5 = 0 THEN NULL ELSE 'é' || i END e, i % 2 = 0 f, DATE '2020-01-01' + i::INTEGER g, "
        "TIMESTAMP '2020-01-01' + to_seconds(i) h FROM range(5000) t(i)"
    ),
    "no rows": "SELECT i::INTEGER a, 'x' e FROM range(0) t(i)",
    "only nulls": "SELECT NULL::VARCHAR e, NULL::DATE g FROM range(10)",
    "one column DuckDB reads": "SELECT i::INTEGER a, 1.5::DECIMAL(4, 1) j FROM range(10) t(i)",
    "time zones and lists": "SELECT TIMESTAMPTZ '2020-01-01 01:02:03+02' i, [1, 2] n, 'x' e FROM range(3)",
}


@pytest.mark.parametrize("query", FILES.values(), ids=FILES.keys())
@pytest.mark.parametrize("row_group", [None, 700])
def test_first_rows_are_what_duckdb_reads(tmp_path: Path, query: str, row_group: int | None) -> None:
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    staged = tmp_path / "staged.parquet"
    size = f", ROW_GROUP_SIZE {row_group}" if row_group else ""
    con.execute(f"COPY ({query}) TO {_quote_str(str(staged))} (FORMAT parquet{size})")
    names = [str(r[0]) for r in con.sql(f"DESCRIBE SELECT * FROM read_parquet({_quote_str(str(staged))})").fetchall()]
    for picked in (names, names[::-1]):
        rel = con.sql(
            f"SELECT {', '.join(_quote_ident(n) for n in picked)} FROM read_parquet({_quote_str(str(staged))}) "
            f"LIMIT {SAMPLE_ROWS}"
        )
        expected, expected_types = (
            rel.to_arrow_table(),
            dict(zip(rel.columns, (str(t) for t in rel.types), strict=True)),
        )
        got, types = _first_rows(con, staged, picked)
        assert types == expected_types
        assert got.num_rows == expected.num_rows
        for n in picked:
            assert got.column(n).to_pylist() == expected.column(n).to_pylist()
