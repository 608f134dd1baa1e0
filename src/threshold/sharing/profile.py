"""Column profiles at share time, cheaply: exact nulls/min/max from Parquet footers, the rest from a sample.

Reading footers costs nothing next to the conversion itself; top values and the distinct estimate
come from a sample of whole row groups (exact when the table fits in the sample). The distinct estimate uses
Haas & Stokes' Duj1 estimator: n·d / (n − f1 + f1·n/N), with d the distinct values and f1 the values
seen exactly once in a sample of n out of N rows: a column unique in the sample is estimated
unique in the table, one whose values all repeat keeps the sample's count.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from threshold.lake import ReadPlan, _quote_ident, _quote_str

_UNORDERED = ("STRUCT", "MAP", "BLOB")


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
    rows, size = con.execute(
        f"SELECT coalesce(sum(num_rows), 0), coalesce(sum(file_size_bytes), 0) FROM parquet_file_metadata({files})"
    ).fetchall()[0] or (0, 0)
    rows, size = int(rows), int(size)
    _footer_stats(con, plan, files, rows, columns)
    if rows <= sample_rows:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _sample AS {plan.relation_sql()}")
    else:
        sample = _row_group_sample(plan, sample_rows)
        con.register("_sample_arrow", sample)
        casts = ", ".join(
            f"CAST({_quote_ident(f.name)} AS {f.duckdb_type}) AS {_quote_ident(f.name)}" for f in plan.fields
        )
        con.execute(f"CREATE OR REPLACE TEMP TABLE _sample AS SELECT {casts} FROM _sample_arrow")
        con.unregister("_sample_arrow")
    n = int((con.execute("SELECT count(*) FROM _sample").fetchall()[0] or (0,))[0])
    for f in plan.fields:
        col = _quote_ident(f.name)
        p = columns[f.name]
        if n == 0:
            continue
        if f.duckdb_type.startswith(_UNORDERED) or f.duckdb_type.endswith("]"):
            value = f"CAST({col} AS VARCHAR)"
        else:
            value = col
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _freq AS SELECT {value} AS v, count(*) AS c FROM _sample "
            f"WHERE {col} IS NOT NULL GROUP BY 1"
        )
        counts = con.execute("SELECT c, count(*) FROM _freq GROUP BY 1").fetchall()
        distinct_in_sample = sum(k for _, k in counts)
        if n >= rows:
            p.distinct_estimate = distinct_in_sample
        else:
            f1 = sum(k for c, k in counts if c == 1)
            p.distinct_estimate = min(int(round(n * distinct_in_sample / (n - f1 + f1 * n / rows))), rows)
        top = con.execute("SELECT v, c FROM _freq ORDER BY c DESC, v LIMIT 5").fetchall()
        p.top_values = [[_jsonable(v), int(c)] for v, c in top if c > 1 or distinct_in_sample <= 5]
        p.sample = [r[0] for r in con.execute("SELECT v FROM _freq ORDER BY c DESC, v LIMIT 1000").fetchall()]
        if p.null_fraction is None:
            nulls = (con.execute(f"SELECT count(*) FILTER (WHERE {col} IS NULL) FROM _sample").fetchall()[0] or (0,))[0]
            p.null_fraction = round(int(nulls) / n, 6)
    con.execute("DROP TABLE IF EXISTS _sample")
    con.execute("DROP TABLE IF EXISTS _freq")
    return TableProfile(rows, size, columns, n)


def _row_group_sample(plan: ReadPlan, sample_rows: int) -> pa.Table:
    """About `sample_rows` rows from whole row groups spread evenly over the files, read alone.

    Reading a few row groups costs a fraction of a scan; rows are then thinned evenly inside them.
    Columns are matched by Iceberg field id, so renamed and added columns sample right.
    """
    groups: list[tuple[str, int, int]] = []
    for path in plan.files:
        meta = pq.ParquetFile(path).metadata
        groups.extend((path, i, meta.row_group(i).num_rows) for i in range(meta.num_row_groups))
    per_group = max(1, int(sum(g[2] for g in groups) / max(len(groups), 1)))
    wanted = min(len(groups), max(4, -(-2 * sample_rows // per_group)))
    picked = [groups[round(i * (len(groups) - 1) / max(wanted - 1, 1))] for i in range(wanted)]
    picked = list(dict.fromkeys(picked))
    parts = []
    for path, index, _n in picked:
        f = pq.ParquetFile(path)
        by_id = {
            int(fld.metadata[b"PARQUET:field_id"]): fld.name
            for fld in f.schema_arrow
            if fld.metadata and b"PARQUET:field_id" in fld.metadata
        }
        physical = [by_id.get(fld.field_id) for fld in plan.fields]
        group = f.read_row_group(index, columns=[p for p in physical if p is not None])
        columns = [group.column(p) if p is not None else pa.nulls(group.num_rows) for p in physical]
        parts.append(pa.table(columns, names=[fld.name for fld in plan.fields]))
    table = pa.concat_tables(parts, promote_options="permissive")
    if table.num_rows <= sample_rows:
        return table
    # Random rows (seeded: the same file profiles the same way), never a stride that could alias with
    # a periodic pattern in the data.
    rows = sorted(random.Random(7).sample(range(table.num_rows), sample_rows))
    return table.take(pa.array(rows, pa.int64()))


def _footer_stats(
    con: duckdb.DuckDBPyConnection, plan: ReadPlan, files: str, rows: int, columns: dict[str, ColumnProfile]
) -> None:
    """Exact null counts and min/max of top-level columns from the files' row-group statistics."""
    by_name = {f.name: f for f in plan.fields}
    # Files are matched by field id, so a file written before a rename still names the column by its
    # old name; map every file's physical column names to field ids through the Parquet schema.
    ids = con.execute(
        f"SELECT file_name, name, field_id FROM parquet_schema({files}) WHERE field_id IS NOT NULL"
    ).fetchall()
    phys: dict[tuple[str, str], int] = {(fn, nm): int(fid) for fn, nm, fid in ids}
    id_to_name = {f.field_id: f.name for f in plan.fields}
    stats = con.execute(
        f"SELECT file_name, path_in_schema, min_is_exact, stats_min_value, stats_max_value, stats_null_count, "
        f"num_values, row_group_num_rows FROM parquet_metadata({files}) WHERE NOT contains(path_in_schema, ',')"
    ).fetchall()
    acc: dict[str, dict[str, Any]] = {}
    rows_seen: dict[str, int] = {}
    for file_name, path, _exact, smin, smax, nulls, _nv, rg_rows in stats:
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
    for name, a in acc.items():
        p, f = columns[name], by_name[name]
        if a["known"] and rows:
            # Files written before the column existed hold no rows for it: those rows are NULL.
            missing = rows - rows_seen.get(name, 0)
            p.null_fraction = round((a["nulls"] + missing) / rows, 6)
        if f.duckdb_type.startswith(_UNORDERED) or f.duckdb_type.endswith("]"):
            continue
        if a["mins"] and a["maxs"]:
            lo, hi = con.execute(
                f"SELECT CAST(min(TRY_CAST(x AS {f.duckdb_type})) AS VARCHAR), "
                f"CAST(max(TRY_CAST(y AS {f.duckdb_type})) AS VARCHAR) FROM (SELECT unnest($1) AS x, unnest($2) AS y)",
                [a["mins"], a["maxs"] if len(a["maxs"]) == len(a["mins"]) else a["mins"]],
            ).fetchall()[0] or (None, None)
            if len(a["maxs"]) != len(a["mins"]):
                hi = con.execute(
                    f"SELECT CAST(max(TRY_CAST(y AS {f.duckdb_type})) AS VARCHAR) FROM (SELECT unnest($1) AS y)",
                    [a["maxs"]],
                ).fetchall()[0][0]  # type: ignore[index]
            p.min_value, p.max_value = lo, hi


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)
