"""Profiles of tables larger than the sample: exact footer statistics, sampled top values and distincts."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from threshold.catalog.service import describe
from threshold.identity.service import ADMIN, add_domain, ensure_admin, get_person
from threshold.lake import Field, ReadPlan
from threshold.platform import Platform
from threshold.sharing.profile import _counted_in_arrow, _frequent, _frequent_in_arrow, _seeded_positions
from threshold.sharing.service import share

ROWS = 300_000


@pytest.fixture
def small_sample_home(tmp_path: Path) -> Platform:
    platform = Platform.open(tmp_path / "home", must_exist=False, profile_sample_rows=5_000)
    platform.init()
    ensure_admin(platform)
    add_domain(platform, "plant")
    return platform


def test_a_table_larger_than_the_sample_gets_exact_footer_stats_and_sampled_values(
    small_sample_home: Platform,
) -> None:
    ids = pa.array(range(ROWS), pa.int64())
    shift = pa.array([["early", "late", "night"][i % 3] for i in range(ROWS)])
    reading = pa.array([None if i % 10 == 0 else float(i % 1000) for i in range(ROWS)], pa.float64())
    table = pa.table({"id": ids, "shift": shift, "reading": reading})
    [result] = share(
        small_sample_home, table, domain="plant", name="readings", user=get_person(small_sample_home, ADMIN)
    )
    assert result.rows_total == ROWS
    cols = {c.name: c for c in describe(small_sample_home, "plant.readings").schema}
    # Exact, from the Parquet footers: nulls, min and max over all rows.
    assert cols["reading"].null_fraction == pytest.approx(0.1)
    assert (cols["id"].min, cols["id"].max) == ("0", str(ROWS - 1))
    assert (cols["reading"].min, cols["reading"].max) == ("1.0", "999.0")
    # From the sample: a low-cardinality column is found whole, a unique one is estimated near the row count.
    assert cols["shift"].distinct_estimate == 3
    assert sorted(v for v, _ in cols["shift"].top_values) == ["early", "late", "night"]
    assert ROWS * 0.8 <= cols["id"].distinct_estimate <= ROWS


PINNED = [3, 4, 6]
"""The 3 of 10 positions PCG64(7) draws, as they were when the sampling was written."""


def test_the_sampled_positions_are_seeded_uniform_and_the_same_on_every_run() -> None:
    """The positions of a big table's sample: `count` distinct ones in order, within the table, spread over all of
    it, and exactly the same each time (PCG64's raw stream, which NumPy keeps from release to release)."""
    first = _seeded_positions(1_000_000, 10_000)
    again = _seeded_positions(1_000_000, 10_000)
    assert first.tolist() == again.tolist()
    assert len(set(first.tolist())) == 10_000 and first.tolist() == sorted(first.tolist())
    assert 0 <= first[0] and first[-1] < 1_000_000
    tenths = [int(((first >= k * 100_000) & (first < (k + 1) * 100_000)).sum()) for k in range(10)]
    assert all(850 <= n <= 1150 for n in tenths), tenths  # about 1,000 in each tenth of the table
    assert _seeded_positions(10, 3).tolist() == PINNED, "the seeded positions changed: profiles would too"


SAMPLE_SQL = """
CREATE TEMP TABLE _sample AS SELECT * FROM (VALUES
    (1, 'b', true, DATE '2026-01-02', DATE 'infinity', 7,
        1.5::DOUBLE, TIMESTAMP '2026-01-02 10:00:00.123456', 0.0::DOUBLE, -0.0::DOUBLE),
    (-5, 'B', false, DATE '1970-01-01', DATE '2026-01-01', 7, -2.25, TIMESTAMP '1970-01-01 00:00:00', -0.0, 0.0),
    (4611686018427387904, 'é', NULL, DATE '0001-01-01', NULL, 7,
        1e300, TIMESTAMP '0001-01-01 00:00:00', 'nan'::DOUBLE, 1.0),
    (1, '', true, DATE '9999-12-31', NULL, 7, 1.5, TIMESTAMP '9999-12-31 23:59:59', 1.0, 1.0),
    (NULL, 'z', true, DATE '2026-01-02', NULL, 7, NULL, NULL, NULL, NULL),
    (0, 'ä', false, NULL, NULL, 7, 'inf'::DOUBLE, TIMESTAMP '2026-01-02 10:00:00.123456', 1.0, 2.0),
    (0, '😀', true, DATE '2026-01-02', NULL, 7, '-inf'::DOUBLE, TIMESTAMP '1969-12-31 23:59:59.999999', 2.0, -0.0),
    (-5, 'e', false, DATE '1969-12-31', NULL, 7, 0.1, TIMESTAMP '2026-01-02 10:00:00', 3.0, 3.0),
    (1, 'é', true, DATE '2026-01-02', NULL, 7, 0.30000000000000004, NULL, 4.0, 4.0),
    (2, 'Z', true, DATE '2000-02-29', NULL, 7, 5e-324, TIMESTAMP '2000-02-29 12:00:00', 5.0, 5.0)
) v(i, s, b, d, inf, n, f, t, z, zz)
UNION ALL SELECT range % 1300, 'v' || (range % 1400), range % 3 = 0, DATE '2026-01-01' + (range % 1200)::INT,
    NULL, NULL, (range % 1100) / 7 + 0.5, TIMESTAMP '2026-01-01 00:00:00' + to_seconds(range % 1250),
    range + 1, range + 2
FROM range(4000)
"""


@pytest.mark.parametrize("rows", ["all", "first ten"])
def test_values_counted_in_arrow_are_the_ones_duckdb_counts(rows: str) -> None:
    """A column of a type Arrow counts (`_IN_ARROW`) gets the same distinct count, singletons, most frequent values
    (their order among equal counts included, past TOP values) and Python values as DuckDB's statement gives; a
    date Python cannot hold, and doubles with a NaN or a zero, are left to DuckDB."""
    con = duckdb.connect(":memory:")
    con.execute(SAMPLE_SQL if rows == "all" else SAMPLE_SQL.split("UNION ALL")[0])
    described = con.execute("DESCRIBE _sample").fetchall()
    fields = tuple(Field(i, str(r[0]), str(r[1]), "") for i, r in enumerate(described))
    assert {f.duckdb_type for f in fields} == {"INTEGER", "BIGINT", "VARCHAR", "BOOLEAN", "DATE", "DOUBLE", "TIMESTAMP"}
    plan = ReadPlan("d.t", 1, ("unused.parquet",), fields)
    counted = _counted_in_arrow(con, plan)
    for f in fields:
        found = _frequent_in_arrow(counted, f.name)
        if f.name in ("inf", "z", "zz"):  # a date Python cannot hold; doubles with a NaN, with zeros
            assert found is None
            continue
        assert found is not None
        assert found == _frequent(con, f), f.name
        assert [type(v) for v, _ in found[2]] == [type(v) for v, _ in _frequent(con, f)[2]]
