"""The lineage graph in the metadata store: write nodes, edges and column lineage; walk it.

Traversal is breadth-first, one query per level: `SELECT src, dst FROM lineage_edges WHERE src IN
(frontier)` answered from the (src_id, dst_id) unique index going downstream and from the
(dst_id, src_id) index going upstream, so each level costs one index range scan per frontier node,
and a node is expanded once however many paths reach it. A recursive CTE (`walk_cte`) gives the same
answer in one statement; `benchmarks/bench_lineage.py` measures both (BENCHMARKS.md). The walk stops
at `depth` levels or `limit` nodes and says whether it stopped early.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, insert, select, text
from sqlalchemy.orm import Session

from threshold.lineage import naming
from threshold.lineage.models import ColumnLineage, LineageEdge, LineageNode
from threshold.store.models import Dataset, utcnow

CHUNK = 500
"""Frontier ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits."""
DIRECTIONS = ("upstream", "downstream", "both")


# --- writing ----------------------------------------------------------------------------------


def node(s: Session, kind: str, namespace: str, name: str, **values: Any) -> LineageNode:
    """The node (namespace, name), created when missing; `values` update it."""
    row = s.scalars(
        select(LineageNode).where(LineageNode.namespace == namespace, LineageNode.name == name)
    ).one_or_none()
    if row is None:
        row = LineageNode(kind=kind, namespace=namespace, name=name, owners=[], columns=[], detail={})
        s.add(row)
    for key, value in values.items():
        if value is not None:
            setattr(row, key, value)
    if row.kind != kind and kind == "dataset":
        row.kind = kind  # an external name that turned out to be a lake dataset
    row.updated_at = utcnow()
    s.flush()
    return row


def dataset_node(s: Session, dataset: Dataset) -> LineageNode:
    """The node of a lake dataset (one per dataset)."""
    row = s.scalars(select(LineageNode).where(LineageNode.dataset_id == dataset.id)).one_or_none()
    if row is not None:
        if row.name != dataset.full_name:
            row.name = dataset.full_name
        return row
    return node(s, "dataset", naming.LAKE, dataset.full_name, dataset_id=dataset.id)


def lake_node(s: Session, full_name: str) -> LineageNode | None:
    """The node of the lake dataset `domain.name`, created when the dataset exists."""
    ds = s.scalars(select(Dataset).where(Dataset.full_name == full_name.lower())).one_or_none()
    return dataset_node(s, ds) if ds is not None else None


def connect(s: Session, src_id: int, dst_id: int, *, origin: str, job_id: int | None = None) -> None:
    """Upsert the edge src -> dst."""
    if src_id == dst_id:
        return
    edge = s.scalars(
        select(LineageEdge).where(LineageEdge.src_id == src_id, LineageEdge.dst_id == dst_id)
    ).one_or_none()
    if edge is None:
        s.add(LineageEdge(src_id=src_id, dst_id=dst_id, job_id=job_id, origin=origin))
    else:
        edge.updated_at = utcnow()
        if job_id is not None:
            edge.job_id = job_id
        edge.origin = origin
    s.flush()


def replace_inputs(s: Session, dst_id: int, src_ids: Iterable[int], *, origin: str, job_id: int | None) -> None:
    """The inputs of `dst` made by `job` are exactly `src_ids` (a derivation whose SQL changed drops old ones)."""
    wanted = set(src_ids) - {dst_id}
    stale = select(LineageEdge.id).where(
        LineageEdge.dst_id == dst_id, LineageEdge.origin == origin, LineageEdge.src_id.not_in(wanted or {-1})
    )
    if job_id is not None:
        stale = stale.where(LineageEdge.job_id == job_id)
    ids = list(s.scalars(stale))
    if ids:
        s.execute(delete(LineageEdge).where(LineageEdge.id.in_(ids)))
    for src in sorted(wanted):
        connect(s, src, dst_id, origin=origin, job_id=job_id)


def replace_column_lineage(
    s: Session, target_id: int, rows: Sequence[dict[str, Any]], *, origin: str, job_id: int | None
) -> None:
    """The column lineage of `target` from this origin (and job) is exactly `rows`."""
    q = delete(ColumnLineage).where(ColumnLineage.target_id == target_id, ColumnLineage.origin == origin)
    if job_id is not None:
        q = q.where(ColumnLineage.job_id == job_id)
    s.execute(q)
    if rows:
        now = utcnow()
        s.execute(
            insert(ColumnLineage),
            [
                {
                    "target_id": target_id,
                    "origin": origin,
                    "job_id": job_id,
                    "masking": False,
                    "description": "",
                    "created_at": now,
                    "source_id": None,
                    "source_column": None,
                    "target_column": None,
                }
                | r
                for r in rows
            ],
        )


# --- walking ----------------------------------------------------------------------------------


@dataclass
class Walk:
    """What a traversal reached: node id -> level (negative upstream, positive downstream)."""

    levels: dict[int, int] = field(default_factory=dict)
    edges: set[tuple[int, int, int | None]] = field(default_factory=set)
    """(src, dst, job) of every edge followed."""
    truncated: bool = False
    """Stopped at `limit` nodes before the walk was complete."""
    deeper: bool = False
    """There is more beyond `depth` levels."""


def walk(s: Session, start: int | Iterable[int], *, direction: str = "both", depth: int = 5, limit: int = 2000) -> Walk:
    """Upstream and/or downstream of `start`, breadth-first, `depth` levels, at most `limit` nodes."""
    if direction not in DIRECTIONS:
        raise ValueError(direction)
    starts = {start} if isinstance(start, int) else set(start)
    result = Walk(levels=dict.fromkeys(starts, 0))
    for way, sign in (("upstream", -1), ("downstream", 1)):
        if direction not in (way, "both"):
            continue
        here, there = ("dst_id", "src_id") if way == "upstream" else ("src_id", "dst_id")
        seen = set(starts)
        frontier = sorted(starts)
        cursor = s.connection().connection.cursor()  # the driver's own rows: a walk reads thousands of them
        for level in range(1, depth + 1):
            found: list[int] = []
            for i in range(0, len(frontier), CHUNK):
                cursor.execute(_step(here, there, frontier[i : i + CHUNK]))
                for near, far, job in cursor.fetchall():
                    edge = (far, near, job) if way == "upstream" else (near, far, job)
                    result.edges.add(edge)
                    if far not in seen:
                        seen.add(far)
                        found.append(far)
                        result.levels.setdefault(far, sign * level)
                        if len(result.levels) >= limit:
                            result.truncated = True
                            return _prune(result)
            frontier = found
            if not frontier:
                break
        else:
            if frontier:
                cursor.execute(_step(here, there, frontier[:CHUNK]) + " LIMIT 1")
                result.deeper = result.deeper or cursor.fetchone() is not None
        cursor.close()
    return result


def _step(here: str, there: str, ids: Sequence[int]) -> str:
    """One level of a walk, as plain SQL. The ids are integers read from the store, written as literals:
    binding hundreds of parameters costs more than the index lookups themselves."""
    listed = ",".join(str(int(i)) for i in ids)
    return f"SELECT {here}, {there}, job_id FROM lineage_edges WHERE {here} IN ({listed})"


def in_ids(column: Any, ids: Iterable[int]) -> Any:
    """`column IN (ids)` as one cached statement with an expanding parameter (literal ids would make
    each statement a new entry of SQLAlchemy's compiled cache, and churn it)."""
    return column.in_(sorted(set(ids)))


def _prune(result: Walk) -> Walk:
    """Keep only edges between reached nodes (a cut walk must not point at nodes it does not list)."""
    result.edges = {e for e in result.edges if e[0] in result.levels and e[1] in result.levels}
    return result


_CTE = {
    "downstream": """
        WITH RECURSIVE reach(node, depth) AS (
            SELECT CAST(:start AS INTEGER), CAST(0 AS INTEGER)
            UNION
            SELECT e.dst_id, r.depth + 1 FROM lineage_edges e JOIN reach r ON e.src_id = r.node
            WHERE r.depth < :depth
        )
        SELECT node, min(depth) FROM reach GROUP BY node""",
    "upstream": """
        WITH RECURSIVE reach(node, depth) AS (
            SELECT CAST(:start AS INTEGER), CAST(0 AS INTEGER)
            UNION
            SELECT e.src_id, r.depth + 1 FROM lineage_edges e JOIN reach r ON e.dst_id = r.node
            WHERE r.depth < :depth
        )
        SELECT node, min(depth) FROM reach GROUP BY node""",
}


def walk_cte(s: Session, start: int, *, direction: str, depth: int = 5) -> dict[int, int]:
    """The same reach as `walk` for one direction, in one recursive SQL statement (no node limit)."""
    sign = -1 if direction == "upstream" else 1
    rows = s.execute(text(_CTE[direction]), {"start": start, "depth": depth})
    return {int(n): sign * int(d) for n, d in rows}


def edges_between(s: Session, ids: Iterable[int]) -> set[tuple[int, int, int | None]]:
    """Every edge among `ids` (to draw a graph of nodes found otherwise)."""
    ids = sorted(set(ids))
    out: set[tuple[int, int, int | None]] = set()
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        q = select(LineageEdge.src_id, LineageEdge.dst_id, LineageEdge.job_id).where(
            and_(LineageEdge.src_id.in_(chunk), LineageEdge.dst_id.in_(ids))
        )
        out |= {(a, b, j) for a, b, j in s.execute(q)}
    return out
