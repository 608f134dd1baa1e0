"""The 22 TPC-H queries, a plain DuckDB baseline over Parquet files, and result comparison."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

QUERIES_DIR = Path(__file__).resolve().parent / "queries"


def load_queries() -> dict[str, str]:
    """``{"q01": sql, ...}``: each file's text without the trailing semicolon."""
    return {p.stem: p.read_text().strip().rstrip(";") for p in sorted(QUERIES_DIR.glob("q*.sql"))}


def plain_duckdb(files: dict[str, list[Path]], threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB where ``tpch.<table>`` is a view over ``read_parquet(files[table])``."""
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute("CREATE SCHEMA tpch")
    for table, paths in files.items():
        listed = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
        con.execute(f"CREATE VIEW tpch.{table} AS SELECT * FROM read_parquet([{listed}])")
    return con


def _cell(value: object) -> object:
    """A comparable form of one value: numbers as float, dates as ISO text."""
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _sort_key(row: tuple) -> tuple:
    # Round floats for ordering only, so rows that differ in the last bits still line up.
    return tuple((0, "") if v is None else (1, f"{v:.6g}") if isinstance(v, float) else (2, str(v)) for v in row)


def rows(table: pa.Table) -> list[tuple]:
    """The table's rows in a canonical order, each value in its comparable form."""
    out = [tuple(_cell(v) for v in row.values()) for row in table.to_pylist()]
    return sorted(out, key=_sort_key)


def difference(a: pa.Table, b: pa.Table, rel_tol: float = 1e-9) -> str | None:
    """Why two results differ (row count, or the first differing row), or None when they match.

    Rows are compared as sorted multisets; numbers within ``rel_tol`` are equal, because
    parallel floating-point aggregation may sum in a different order from run to run.
    """
    if a.num_rows != b.num_rows:
        return f"{a.num_rows} rows vs {b.num_rows}"
    if a.num_columns != b.num_columns:
        return f"{a.num_columns} columns vs {b.num_columns}"
    for i, (x, y) in enumerate(zip(rows(a), rows(b), strict=True)):
        for u, v in zip(x, y, strict=True):
            same = (
                math.isclose(u, v, rel_tol=rel_tol, abs_tol=1e-9)
                if isinstance(u, float) and isinstance(v, float)
                else u == v
            )
            if not same:
                return f"sorted row {i}: {x} vs {y}"
    return None
