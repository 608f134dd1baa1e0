"""What a snapshot's Parquet footers say without reading a row: its row count and the exact bounds of its
integer columns.

Checks use these facts to plan their one scan, never as a result about rows: a unique key within known
bounds is counted with a bitmap instead of a hash table (the query itself still reads every key through
the gateway, and fails rather than miscounts if a value lies outside the bounds), and a row count check
takes the row count from here when no other check needs the scan. Data files never change once written,
so what a file's footer says is kept (per file path) for the life of the process.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from threshold.lake import ReadPlan
from threshold.quality.kinds.base import Facts

log = logging.getLogger(__name__)

_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")


def snapshot_facts(plan: ReadPlan) -> Facts:
    """Row count of the snapshot and bounds of its integer columns (a column only when every row group of
    every file states them; none when files name columns other than the schema does)."""
    if not plan.files:
        return Facts(rows=0)
    wanted = tuple(f.name for f in plan.fields if f.duckdb_type.upper() in _INTEGER_TYPES)
    rows = 0
    bounds: dict[str, tuple[int, int]] | None = {} if plan.direct is not None else None
    for path in plan.files:
        footer = _footer(path, wanted if plan.direct is not None else ())
        if footer is None:
            return Facts()
        file_rows, file_bounds = footer
        rows += file_rows
        if bounds is not None:
            bounds = _merge(bounds, file_bounds, first=path == plan.files[0])
    return Facts(rows=rows, bounds=bounds or {})


def _merge(
    acc: dict[str, tuple[int, int]], more: dict[str, tuple[int, int]], *, first: bool
) -> dict[str, tuple[int, int]]:
    if first:
        return dict(more)
    return {c: (min(lo, more[c][0]), max(hi, more[c][1])) for c, (lo, hi) in acc.items() if c in more}


@lru_cache(maxsize=8192)
def _footer(path: str, columns: tuple[str, ...]) -> tuple[int, dict[str, tuple[int, int]]] | None:
    """(rows, {column: (min, max)}) of one data file; None when its footer cannot be read."""
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except (OSError, ValueError) as e:  # not a local file (object store), or damaged: plan without facts
        log.debug("quality: no footer facts for %s: %s", path, e)
        return None
    index = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
    bounds: dict[str, tuple[int, int]] = {}
    for name in columns:
        i = index.get(name)
        if i is None:
            continue
        lows, highs = [], []
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            stats = group.column(i).statistics
            if group.num_rows == 0 or (stats is not None and stats.null_count == group.num_rows):
                continue  # no value in this group (all NULL): nothing to bound
            if stats is None or not stats.has_min_max or not isinstance(stats.min, int):
                break
            lows.append(stats.min)
            highs.append(stats.max)
        else:
            if lows:
                bounds[name] = (min(lows), max(highs))
    return meta.num_rows, bounds
