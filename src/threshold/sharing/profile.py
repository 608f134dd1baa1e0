"""Column profiles at share time, cheaply: exact nulls/min/max from Parquet footers, the rest from a sample.

Reading footers costs nothing next to the conversion itself; top values and the distinct estimate
come from a sample of whole row groups (exact when the table fits in the sample). The distinct estimate uses
Haas & Stokes' Duj1 estimator: n·d / (n − f1 + f1·n/N), with d the distinct values and f1 the values
seen exactly once in a sample of n out of N rows: a column unique in the sample is estimated
unique in the table, one whose values all repeat keeps the sample's count.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from threshold.lake import Field, ReadPlan, _quote_ident, _quote_str

_UNORDERED = ("STRUCT", "MAP", "BLOB")
_BOUNDS_AT_ONCE = 200
"""Columns whose footer minimum and maximum one statement reads (wider statements plan more slowly per column)."""


@dataclass
class ColumnProfile:
    null_fraction: float | None = None
    distinct_estimate: int | None = None
    min_value: str | None = None
    max_value: str | None = None
    top_values: list[list[Any]] = field(default_factory=list)
    sample: list[Any] = field(default_factory=list)
    """Distinct non-null sample values, for sensitive-data detection; never stored."""


@dataclass
class TableProfile:
    row_count: int
    size_bytes: int
    columns: dict[str, ColumnProfile]
    sample_rows: int


def profile(con: duckdb.DuckDBPyConnection, plan: ReadPlan, sample_rows: int) -> TableProfile:
    columns = {f.name: ColumnProfile() for f in plan.fields}
    if not plan.files:
        return TableProfile(0, 0, columns, 0)
    files = "[" + ", ".join(_quote_str(p) for p in plan.files) + "]"
    rows, size = _footer_stats(con, plan, files, columns)
    if rows <= sample_rows:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _sample AS {plan.relation_sql()}")
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _sample AS {_row_group_sample(con, plan, sample_rows)}")
    n = int((con.execute("SELECT count(*) FROM _sample").fetchall()[0] or (0,))[0])
    # Arrow counts on one thread: quicker than a DuckDB statement per column for a small sample, slower for a
    # big one (a 100,000-row sample of lineitem's 16 columns: +0.05 s).
    counted = _counted_in_arrow(con, plan) if 0 < n <= ARROW_SAMPLE_ROWS else None
    for f in plan.fields:
        p = columns[f.name]
        if n == 0:
            continue
        found = _frequent_in_arrow(counted, f.name)
        distinct_in_sample, f1, frequent = found if found is not None else _frequent(con, f)
        if n >= rows:
            p.distinct_estimate = distinct_in_sample
        else:
            p.distinct_estimate = min(int(round(n * distinct_in_sample / (n - f1 + f1 * n / rows))), rows)
        # The top five are the first five of the sample that detection reads.
        p.top_values = [[_jsonable(v), int(c)] for v, c in frequent[:5] if c > 1 or distinct_in_sample <= 5]
        p.sample = [v for v, _ in frequent]
        if p.null_fraction is None:
            col = _quote_ident(f.name)
            nulls = (con.execute(f"SELECT count(*) FILTER (WHERE {col} IS NULL) FROM _sample").fetchall()[0] or (0,))[0]
            p.null_fraction = round(int(nulls) / n, 6)
    for table in ("_sample", "_picked"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return TableProfile(rows, size, columns, n)


Frequent = tuple[int, int, list[tuple[Any, int]]]
"""A column of the sample: how many distinct values it holds, how many of them once, and its (up to)
`TOP` most frequent values with their counts, most frequent first, equal counts in the values' order."""
TOP = 1000
ARROW_SAMPLE_ROWS = 20_000
"""The largest sample whose values are counted in Arrow (`_frequent_in_arrow`); DuckDB counts bigger ones."""
_IN_ARROW = ("BOOLEAN", "INTEGER", "BIGINT", "DOUBLE", "VARCHAR", "DATE", "TIMESTAMP")
"""Types whose values Arrow groups, orders and converts to Python exactly as DuckDB does (`_frequent_in_arrow`)."""


def _frequent(con: duckdb.DuckDBPyConnection, f: Field) -> Frequent:
    """`Frequent` of a column of `_sample`, in one DuckDB statement."""
    col = _quote_ident(f.name)
    if f.duckdb_type.startswith(_UNORDERED) or f.duckdb_type.endswith("]"):
        value = f"CAST({col} AS VARCHAR)"
    else:
        value = col
    # Each value is one group, so the order is total; one row of NULLs carries the two counts when the sample
    # holds no value at all.
    answer = con.execute(
        f"WITH g AS MATERIALIZED (SELECT {value} AS v, count(*) AS c FROM _sample WHERE {col} IS NOT NULL "
        "GROUP BY 1), s AS (SELECT count(*) AS d, count(*) FILTER (WHERE c = 1) AS f1 FROM g) "
        f"SELECT v, c, d, f1 FROM (SELECT v, c FROM g ORDER BY c DESC, v LIMIT {TOP}) RIGHT JOIN s ON true "
        "ORDER BY c DESC, v"
    ).fetchall()
    return int(answer[0][2]), int(answer[0][3]), [(v, int(c)) for v, c, _, _ in answer if c is not None]


def _counted_in_arrow(con: duckdb.DuckDBPyConnection, plan: ReadPlan) -> pa.Table | None:
    """The sample's columns of the `_IN_ARROW` types, in Arrow (one statement for all of them): counting their
    values there costs a fraction of a DuckDB statement per column, which was a tenth of a small share."""
    names = [f.name for f in plan.fields if f.duckdb_type in _IN_ARROW]
    if not names:
        return None
    return con.sql(f"SELECT {', '.join(_quote_ident(n) for n in names)} FROM _sample").to_arrow_table()


def _frequent_in_arrow(table: pa.Table | None, name: str) -> Frequent | None:
    """`_frequent` of a column of `table` (None when it is not there): the same groups, order and Python values.

    Booleans, integers, doubles, dates and timestamps compare as numbers in both; strings by their UTF-8 bytes in
    both, which is their code points' order in Python. A date or time Python cannot hold (DuckDB's infinities,
    years past 9999) is left to DuckDB (None), as are doubles with a NaN or a zero (DuckDB holds -0.0 and 0.0 one
    value, and NaN one value greater than every other)."""
    if table is None or name not in table.column_names:
        return None
    import pyarrow.compute as pc

    values = table.column(name).drop_null()
    if pa.types.is_floating(values.type) and pc.any(pc.or_(pc.is_nan(values), pc.equal(values, 0.0))).as_py():
        return None
    counts = pc.value_counts(values)
    if len(counts) == 0:
        return 0, 0, []
    values, times = counts.field(0), counts.field(1)
    order = pc.sort_indices(pa.table({"c": times, "v": values}), sort_keys=[("c", "descending"), ("v", "ascending")])
    top = order[:TOP]
    try:
        frequent = list(zip(values.take(top).to_pylist(), times.take(top).to_pylist(), strict=True))
    except (ValueError, OverflowError):
        return None
    return len(counts), int(pc.sum(pc.equal(times, 1)).as_py() or 0), frequent


def _row_group_sample(con: duckdb.DuckDBPyConnection, plan: ReadPlan, sample_rows: int) -> str:
    """SQL for about `sample_rows` random rows (seeded: the same files profile the same way) of whole row groups
    spread evenly over the files; never a stride that could alias with a periodic pattern in the data.

    DuckDB reads the rows by their position in each file, so it decodes only the picked row groups (and on all
    cores, straight into the sample). Columns are matched by Iceberg field id, so renamed and added columns
    sample right.
    """
    files = "[" + ", ".join(_quote_str(p) for p in plan.files) + "]"
    listed = con.execute(
        f"SELECT DISTINCT file_name, row_group_id, row_group_num_rows FROM parquet_metadata({files})"
    ).fetchall()
    order = {p: i for i, p in enumerate(plan.files)}
    groups = sorted(((str(f), int(i), int(n)) for f, i, n in listed), key=lambda g: (order.get(g[0], 0), g[1]))
    per_group = max(1, int(sum(g[2] for g in groups) / max(len(groups), 1)))
    wanted = min(len(groups), max(4, -(-2 * sample_rows // per_group)))
    picked = [groups[round(i * (len(groups) - 1) / max(wanted - 1, 1))] for i in range(wanted)]
    picked = list(dict.fromkeys(picked))
    first_row: dict[tuple[str, int], int] = {}  # a row group's first row's position in its file
    before: dict[str, int] = {}
    for f, i, n in groups:
        first_row[(f, i)] = before.get(f, 0)
        before[f] = first_row[(f, i)] + n
    total = sum(n for _, _, n in picked)
    chosen = _seeded_positions(total, sample_rows) if total > sample_rows else None
    ranges: dict[str, list[tuple[int, int]]] = {}
    for f, i, n in picked:
        ranges.setdefault(f, []).append((first_row[(f, i)], n))
    parts: list[str] = []
    picked_file: list[np.ndarray] = []  # for each picked row: its file's number ...
    picked_row: list[np.ndarray] = []  # ... and its position in that file
    offset = 0
    for k, (path, spans) in enumerate(ranges.items()):
        rows = " OR ".join(f"file_row_number BETWEEN {start} AND {start + n - 1}" for start, n in spans)
        if chosen is not None:
            for start, n in spans:
                lo, hi = np.searchsorted(chosen, (offset, offset + n))
                picked_row.append(chosen[lo:hi] + (start - offset))
                picked_file.append(np.full(hi - lo, k, dtype=np.int64))
                offset += n
            rows = f"({rows}) AND file_row_number IN (SELECT r FROM _picked WHERE f = {k})"
        parts.append(plan.rows_sql(path, rows))
    if chosen is not None:
        # Through Arrow: DuckDB reads the two columns as they are (as list parameters, each value was converted).
        picked = pa.table({"f": pa.array(np.concatenate(picked_file)), "r": pa.array(np.concatenate(picked_row))})
        con.register("_picked_rows", picked)
        try:
            con.execute("CREATE OR REPLACE TEMP TABLE _picked AS SELECT f, r FROM _picked_rows")
        finally:
            con.unregister("_picked_rows")
    return " UNION ALL ".join(parts)


def _seeded_positions(total: int, count: int) -> np.ndarray:
    """`count` of the positions 0 .. `total` - 1, uniformly without replacement, in order; always the same ones for
    the same arguments: the positions with the smallest of `total` raw 64-bit draws of PCG64 seeded with 7 (the
    bit generator's raw stream, which NumPy keeps stable across releases, unlike its sampling methods)."""
    keys = np.random.PCG64(7).random_raw(total)
    return np.sort(np.argpartition(keys, count - 1)[:count]).astype(np.int64)


def _footer_stats(
    con: duckdb.DuckDBPyConnection, plan: ReadPlan, files: str, columns: dict[str, ColumnProfile]
) -> tuple[int, int]:
    """Exact null counts and min/max of top-level columns from the files' row-group statistics; the files' rows
    and bytes."""
    by_name = {f.name: f for f in plan.fields}
    id_to_name = {f.field_id: f.name for f in plan.fields}
    if plan.direct is not None:
        # Every file names every field as the schema does (`ReadPlan.direct`): its columns are the fields.
        phys = {(path, f.name): f.field_id for path in plan.files for f in plan.fields}
    else:
        # Files are matched by field id, so a file written before a rename still names the column by its
        # old name; map every file's physical column names to field ids through the Parquet schema.
        ids = con.execute(
            f"SELECT file_name, name, field_id FROM parquet_schema({files}) WHERE field_id IS NOT NULL"
        ).fetchall()
        phys = {(fn, nm): int(fid) for fn, nm, fid in ids}
    chunks = con.execute(
        f"SELECT file_name, row_group_id, path_in_schema, stats_min_value, stats_max_value, stats_null_count, "
        f"row_group_num_rows FROM parquet_metadata({files})"
    ).fetchall()
    # The files' rows: each row group's once (it has a column chunk at least), as their footers count them.
    groups = {(file_name, group): int(rg_rows or 0) for file_name, group, _, _, _, _, rg_rows in chunks}
    rows = sum(groups.values())
    size = sum(os.path.getsize(p) for p in plan.files)
    acc: dict[str, dict[str, Any]] = {}
    rows_seen: dict[str, int] = {}
    for file_name, _group, path, smin, smax, nulls, rg_rows in chunks:
        if "," in path:
            continue  # a nested column's part
        name = id_to_name.get(phys.get((file_name, path), -1))
        if name is None:
            continue
        a = acc.setdefault(name, {"mins": [], "maxs": [], "nulls": 0, "known": True})
        rows_seen[name] = rows_seen.get(name, 0) + int(rg_rows or 0)
        if nulls is None:
            a["known"] = False
        else:
            a["nulls"] += int(nulls)
        if smin is not None:
            a["mins"].append(smin)
        if smax is not None:
            a["maxs"].append(smax)
    ordered: list[tuple[str, str, list[Any], list[Any]]] = []  # (name, type, row groups' minimums, maximums)
    for name, a in acc.items():
        p, f = columns[name], by_name[name]
        if a["known"] and rows:
            # Files written before the column existed hold no rows for it: those rows are NULL.
            missing = rows - rows_seen.get(name, 0)
            p.null_fraction = round((a["nulls"] + missing) / rows, 6)
        if f.duckdb_type.startswith(_UNORDERED) or f.duckdb_type.endswith("]"):
            continue
        if a["mins"] and a["maxs"]:
            ordered.append((name, f.duckdb_type, a["mins"], a["maxs"]))
    # The minimum and maximum of up to _BOUNDS_AT_ONCE columns in one statement: unnesting lists of different
    # lengths side by side pads the shorter ones with NULLs, which min and max skip.
    for start in range(0, len(ordered), _BOUNDS_AT_ONCE):
        chunk = ordered[start : start + _BOUNDS_AT_ONCE]
        parts, lists = [], []
        for i, (_, duckdb_type, _, _) in enumerate(chunk):
            lowest, highest = f"min(TRY_CAST(x{i} AS {duckdb_type}))", f"max(TRY_CAST(y{i} AS {duckdb_type}))"
            parts.append(f"CAST({lowest} AS VARCHAR), CAST({highest} AS VARCHAR)")
            lists.append(f"unnest(${2 * i + 1}) AS x{i}, unnest(${2 * i + 2}) AS y{i}")
        row = con.execute(
            f"SELECT {', '.join(parts)} FROM (SELECT {', '.join(lists)})",
            [values for _, _, mins, maxs in chunk for values in (mins, maxs)],
        ).fetchall()[0]
        for i, (name, *_) in enumerate(chunk):
            columns[name].min_value, columns[name].max_value = row[2 * i], row[2 * i + 1]
    return rows, size


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)
