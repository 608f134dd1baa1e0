"""Where an incident goes: upstream, through column lineage, to the dataset and domain that make the data.

A problem seen in column `c` of a derived dataset is followed back through the column lineage that the
lineage capability records (`threshold.lineage.models.ColumnLineage`: `target.column <- source.column`
with a kind), taking only edges along which values flow (`identity`, `transform`, `aggregate`), until a
column that lineage says comes from no other lake dataset: that dataset's domain is where it is fixed.
Among several sources, a copied value (`identity`) is followed before a computed one, then by name; the
others are listed in the path (`also`) so the owner can reroute. When lineage cannot say (not installed,
nothing recorded, a whole-dataset report), the incident goes to the dataset's own domain and the routing
reason says why. Downstream datasets (to tell their owners and consumers) come from the lineage graph walk
(`threshold.lineage.graph.walk`, downstream, 5 levels).

Quality builds on the lineage capability (declared in `threshold.capabilities`); a failure to read its
tables falls back to the dataset's own domain with the reason stated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from threshold.errors import NotFound
from threshold.lineage.graph import walk
from threshold.lineage.models import ColumnLineage, LineageNode
from threshold.platform import Platform
from threshold.store.models import Dataset, Domain

MAX_HOPS = 10
DOWNSTREAM_DEPTH = 5
_FLOW_KINDS = ("identity", "transform", "aggregate")
_RANK = {"identity": 0, "transform": 1, "aggregate": 2}


@dataclass
class Route:
    dataset_id: int
    dataset: str
    domain_id: int
    domain: str
    column: str | None
    method: str
    """`lineage` (followed upstream), `own-domain` (lineage could not say) or `rerouted` (by a person)."""
    reason: str
    path: list[dict[str, Any]] = field(default_factory=list)
    """From where it was seen to where it is routed: [{dataset, column, kind, also}]."""

    def routing(self) -> dict[str, Any]:
        return {"method": self.method, "reason": self.reason, "path": self.path}


def route(platform: Platform, dataset_id: int, column: str | None) -> Route:
    with platform.store.session() as s:
        ds = s.get(Dataset, dataset_id)
        if ds is None:
            raise NotFound(f"no dataset with id {dataset_id}")
        own = _own(s, ds, column)
        if column is None:
            own.reason = (
                f"the problem concerns the whole of {ds.full_name}, not one column: routed to its own domain "
                f"{own.domain} (lineage routes a column's problem upstream; its owners can reroute it)"
            )
            return own
        try:
            return _trace(s, ds, column, own)
        except SQLAlchemyError:
            own.reason = f"lineage is not recorded in this store, so it stays with {own.domain}"
        return own


def _own(s: Session, ds: Dataset, column: str | None) -> Route:
    domain = s.get(Domain, ds.domain_id)
    assert domain is not None
    return Route(
        ds.id,
        ds.full_name,
        domain.id,
        domain.name,
        column,
        "own-domain",
        "",
        [{"dataset": ds.full_name, "column": column, "kind": "seen"}],
    )


def _trace(s: Session, ds: Dataset, column: str, own: Route) -> Route:
    with s.begin_nested():  # a missing lineage table must not break the caller's transaction
        node = s.scalars(select(LineageNode).where(LineageNode.dataset_id == ds.id)).one_or_none()
    if node is None:
        own.reason = f"no lineage is recorded for {ds.full_name}: it is where {column} is made, in {own.domain}"
        return own
    path = list(own.path)
    here, col = node, column
    seen = {(node.id, column)}
    outside = ""
    for _ in range(MAX_HOPS):
        rows = s.execute(
            select(ColumnLineage.kind, ColumnLineage.source_column, LineageNode)
            .join(LineageNode, LineageNode.id == ColumnLineage.source_id)
            .where(
                ColumnLineage.target_id == here.id,
                ColumnLineage.target_column == col,
                ColumnLineage.kind.in_(_FLOW_KINDS),
                ColumnLineage.source_column.is_not(None),
            )
        ).all()
        lake = sorted(
            [(k, c, n) for k, c, n in rows if n.dataset_id is not None and (n.id, c) not in seen],
            key=lambda r: (_RANK.get(r[0], 9), r[2].name, r[1]),
        )
        if not lake:
            others = sorted({n.name for _, _, n in rows if n.dataset_id is None})
            if others:
                outside = f"; its values come from {', '.join(others)} outside the lake"
            break
        kind, src_col, src = lake[0]
        also = sorted({f"{n.name}.{c}" for _, c, n in lake[1:]})
        path.append({"dataset": src.name, "column": src_col, "kind": kind, "also": also})
        seen.add((src.id, str(src_col)))
        here, col = src, str(src_col)
    if len(path) == 1:
        own.reason = f"lineage records no upstream origin for {column}: {ds.full_name} is where it is made{outside}"
        return own
    target = s.get(Dataset, here.dataset_id) if here.dataset_id is not None else None
    if target is None:
        own.reason = f"the lineage of {column} leads to a dataset that no longer exists; kept with {own.domain}"
        return own
    domain = s.get(Domain, target.domain_id)
    assert domain is not None
    chain = " <- ".join(f"{p['dataset']}.{p['column']}" for p in path)
    reason = (
        f"{ds.full_name}.{column} is made from {target.full_name}.{col} ({chain}){outside}: "
        f"routed upstream to {domain.name}, which produces it"
    )
    return Route(target.id, target.full_name, domain.id, domain.name, col, "lineage", reason, path)


def downstream(platform: Platform, dataset_id: int, depth: int = DOWNSTREAM_DEPTH) -> list[tuple[int, int]]:
    """Lake datasets built on `dataset_id` (dataset id, level), nearest first; empty when lineage cannot say."""
    try:
        with platform.store.session() as s:
            node = s.scalar(select(LineageNode.id).where(LineageNode.dataset_id == dataset_id))
            if node is None:
                return []
            reached = walk(s, node, direction="downstream", depth=depth)
            ids = [n for n, level in reached.levels.items() if level > 0]
            if not ids:
                return []
            datasets = dict(
                s.execute(
                    select(LineageNode.id, LineageNode.dataset_id).where(
                        LineageNode.id.in_(ids), LineageNode.dataset_id.is_not(None)
                    )
                ).all()
            )
            found = sorted(((int(datasets[n] or 0), reached.levels[n]) for n in datasets), key=lambda x: (x[1], x[0]))
            return [(d, level) for d, level in found if d != dataset_id]
    except SQLAlchemyError:
        return []
