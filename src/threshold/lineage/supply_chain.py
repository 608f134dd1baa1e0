"""Supply chain views: upstream to the sources and downstream to what is built on a dataset or a
column, with the domain and owners of every node; and the organisation-wide count of lineage gaps.

A viewer never learns the name or columns of another domain's restricted dataset from a graph: such
a node is shown as "restricted dataset" with its domain and owners (who to ask), nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from threshold.access import DatasetRef, find_dataset, hidden_names, knowable, knowable_ids, knows, scrub
from threshold.errors import InvalidInput, NotFound
from threshold.identity.service import Person
from threshold.jobs.models import Job
from threshold.lineage import graph
from threshold.lineage.models import (
    DIRECT_KINDS,
    ColumnLineage,
    Derivation,
    LineageEdge,
    LineageNode,
    SourceSystem,
)
from threshold.lineage.owners import dataset_owners
from threshold.lineage.results import (
    ChainEdge,
    ChainNode,
    ColumnEdge,
    ColumnGap,
    DatasetNode,
    Gaps,
    InsightNode,
    Lineage,
    LineageGap,
    LineageOverview,
    NodeDerivation,
)
from threshold.platform import Platform
from threshold.store.models import Column, Dataset, Domain, Membership, User

MAX_DEPTH = 20
FOLLOWED = (*DIRECT_KINDS, "conditional", "window")
"""Column kinds a column-level walk follows; whole-dataset dependencies (filters...) are listed."""


def lineage(
    platform: Platform,
    dataset: str,
    *,
    column: str | None = None,
    direction: str = "both",
    depth: int = 5,
    viewer: Person | None = None,
    limit: int = 2000,
) -> Lineage:
    """The supply chain of `dataset` (or of one of its columns), `depth` levels each way."""
    if direction not in graph.DIRECTIONS:
        raise InvalidInput(f"direction is one of {', '.join(graph.DIRECTIONS)}")
    if not 1 <= depth <= MAX_DEPTH:
        raise InvalidInput(f"depth is between 1 and {MAX_DEPTH}")
    with platform.store.reader() as s:
        ds = _visible_dataset(s, dataset, viewer)
        root = s.scalars(select(LineageNode).where(LineageNode.dataset_id == ds.id)).one_or_none()
        root_id = root.id if root is not None else 0
        if column is not None:
            column = column.lower()
            names = set(s.scalars(select(Column.name).where(Column.dataset_id == ds.id)))
            if column not in names:
                raise NotFound(f"{ds.full_name} has no column {column!r}")
            levels, column_edges, truncated = _column_walk(s, root_id, column, direction, depth, limit)
            if direction != "downstream":
                _add_origins(s, levels)
            edges = graph.edges_between(s, levels) if root_id else set()
            deeper = False
        else:
            column_edges = []
            if root_id:
                w = graph.walk(s, root_id, direction=direction, depth=depth, limit=limit)
                levels, edges, truncated, deeper = w.levels, w.edges, w.truncated, w.deeper
            else:
                levels, edges, truncated, deeper = {}, set(), False, False
        nodes = describe_nodes(s, levels, viewer)
        if not root_id:
            nodes = [_virtual_root(s, ds, viewer)]
        hidden = {n.id for n in nodes if n.hidden}
        jobs = _names_of(s, {j for _, _, j in edges if j})
        unseen = hidden_names(s, viewer)
        gaps = [replace(g, reason=scrub(g.reason, unseen)) for g in _gaps(s, [root_id])] if root_id else []
        return Lineage(
            dataset=ds.full_name,
            column=column,
            direction=direction,
            depth=depth,
            root=root_id,
            nodes=nodes,
            edges=[
                ChainEdge(from_=a, to=b, job=None if b in hidden else jobs.get(j) if j else None)
                for a, b, j in sorted(edges)  # (src, dst) is unique: job never compared
            ],
            column_edges=[
                replace(
                    e,
                    from_column=None if e.from_ in hidden else e.from_column,
                    to_column=None if e.to in hidden else e.to_column,
                )
                for e in column_edges
            ],
            truncated=truncated,
            deeper=deeper,
            gaps=gaps,
        )


def _visible_dataset(s: Session, name: str, viewer: Person | None) -> Dataset:
    return find_dataset(s, viewer, name)


def _column_walk(
    s: Session, root: int, column: str, direction: str, depth: int, limit: int
) -> tuple[dict[int, int], list[ColumnEdge], bool]:
    """Walk column lineage from (root, column): levels of the datasets reached, and the column edges."""
    levels = {root: 0} if root else {}
    edges: list[ColumnEdge] = []
    if not root:
        return levels, edges, False
    truncated = False
    for way, sign in (("upstream", -1), ("downstream", 1)):
        if direction not in (way, "both"):
            continue
        seen = {(root, column)}
        frontier = [(root, column)]
        for level in range(1, depth + 1):
            found: list[tuple[int, str]] = []
            by_node: dict[int, set[str]] = {}
            for n, c in frontier:
                by_node.setdefault(n, set()).add(c)
            for row in _column_rows(s, way, by_node):
                if way == "upstream":
                    if row.source_id is None:
                        continue
                    near = (row.target_id, row.target_column or "*")
                    far = (row.source_id, row.source_column or "")
                    edges.append(_column_edge(far, near, row))
                else:
                    near = (row.source_id or 0, row.source_column or "")
                    far = (row.target_id, row.target_column or "*")
                    edges.append(_column_edge(near, far, row))
                if row.kind not in FOLLOWED and way == "upstream":
                    continue
                if far not in seen:
                    seen.add(far)
                    found.append(far)
                    levels.setdefault(far[0], sign * level)
                    if len(levels) >= limit:
                        truncated = True
                        break
            if truncated:
                break
            # "*": the whole dataset depends on the column (a filter, a join): so does everything downstream.
            frontier = [f for f in found if f[1] != "*"]
            whole = [f[0] for f in found if f[1] == "*"]
            for n in whole:
                q = select(Column.name).join(LineageNode, LineageNode.dataset_id == Column.dataset_id)
                names = s.scalars(q.where(LineageNode.id == n))
                for name in names:
                    if (n, name) not in seen:
                        seen.add((n, name))
                        frontier.append((n, name))
            if not frontier:
                break
    # once each; edges that differ only in kind or masking keep a fixed order too
    unique = sorted(
        set(edges), key=lambda e: (e.from_, e.from_column or "", e.to, e.to_column or "", e.kind, e.masking)
    )
    return levels, unique, truncated


def _add_origins(s: Session, levels: dict[int, int]) -> None:
    """The files and source systems the datasets on a column's upstream path were shared from."""
    upstream = [n for n, lv in levels.items() if lv <= 0]
    if not upstream:
        return
    q = (
        select(LineageEdge.src_id, LineageEdge.dst_id)
        .join(LineageNode, LineageNode.id == LineageEdge.src_id)
        .where(LineageEdge.dst_id.in_(upstream), LineageNode.kind.in_(("file", "source")))
    )
    for src, dst in s.execute(q):
        levels.setdefault(src, levels[dst] - 1)


def _column_rows(s: Session, way: str, by_node: dict[int, set[str]]) -> list[ColumnLineage]:
    if not by_node:
        return []
    if way == "upstream":
        q = select(ColumnLineage).where(ColumnLineage.target_id.in_(list(by_node)))
        rows = [r for r in s.scalars(q) if r.target_column in by_node[r.target_id]]
    else:
        q = select(ColumnLineage).where(ColumnLineage.source_id.in_(list(by_node)))
        rows = [r for r in s.scalars(q) if r.source_column in by_node[r.source_id or 0]]
    return rows


def _column_edge(src: tuple[int, str], dst: tuple[int, str], row: ColumnLineage) -> ColumnEdge:
    return ColumnEdge(
        from_=src[0],
        from_column=src[1],
        kind=row.kind,
        masking=row.masking,
        to=dst[0],
        to_column=None if dst[1] == "*" else dst[1],
    )


def describe_nodes(s: Session, levels: dict[int, int], viewer: Person | None) -> list[ChainNode]:
    """Every node with its level, kind, name, domain, owners, stage and derivation, in level order."""
    if not levels:
        return []
    ids = sorted(levels)
    rows: list[Any] = []  # plain rows, not ORM objects: a view may list thousands of nodes
    for i in range(0, len(ids), graph.CHUNK):
        q = (
            select(
                LineageNode.id,
                LineageNode.kind,
                LineageNode.name,
                LineageNode.namespace,
                LineageNode.dataset_id,
                LineageNode.source_system_id,
                LineageNode.owners,
                LineageNode.detail,
                Dataset.full_name,
                Dataset.stage,
                Dataset.visibility,
                Dataset.title,
                Dataset.row_count,
                Dataset.domain_id,
                Domain.name.label("domain"),
                Domain.default_visibility,
            )
            .outerjoin(Dataset, Dataset.id == LineageNode.dataset_id)
            .outerjoin(Domain, Domain.id == Dataset.domain_id)
            .where(graph.in_ids(LineageNode.id, ids[i : i + graph.CHUNK]))
        )
        rows.extend(s.execute(q))
    dataset_ids = [n.dataset_id for n in rows if n.full_name is not None]
    owners_of_domain: dict[int, list[str]] = {}
    domain_ids = {n.domain_id for n in rows if n.domain_id is not None}
    if domain_ids:
        q = (
            select(Membership.domain_id, User.name)
            .join(User, User.id == Membership.user_id)
            .where(Membership.role == "owner", graph.in_ids(Membership.domain_id, domain_ids))
            .order_by(User.name)
        )
        for domain_id, name in s.execute(q):
            owners_of_domain.setdefault(domain_id, []).append(name)
    derivations: dict[int, Any] = {}
    for i in range(0, len(dataset_ids), graph.CHUNK):
        q = (
            select(
                Derivation.dataset_id,
                Derivation.schedule,
                Derivation.status,
                Derivation.last_run_at,
                Job.next_run_at,
                User.name.label("owner"),
            )
            .join(User, User.id == Derivation.owner_id)
            .join(Dataset, Dataset.id == Derivation.dataset_id)
            .outerjoin(Job, and_(Job.kind == "derivation.refresh", Job.key == Dataset.full_name))
            .where(graph.in_ids(Derivation.dataset_id, dataset_ids[i : i + graph.CHUNK]))
        )
        derivations.update({d.dataset_id: d for d in s.execute(q)})
    systems = {
        sid: (name, owner, kind)
        for sid, name, owner, kind in s.execute(
            select(SourceSystem.id, SourceSystem.name, User.name, SourceSystem.kind)
            .join(User)
            .where(graph.in_ids(SourceSystem.id, {n.source_system_id for n in rows if n.source_system_id}))
        )
    }
    gaps = dict(
        s.execute(
            select(ColumnLineage.target_id, func.count())
            .where(ColumnLineage.kind == "unresolved", graph.in_ids(ColumnLineage.target_id, ids))
            .group_by(ColumnLineage.target_id)
        ).all()
    )
    out: list[ChainNode] = []
    for n in rows:
        level, unresolved = levels[n.id], int(gaps.get(n.id, 0))
        if n.full_name is not None:
            derived = derivations.get(n.dataset_id)
            out.append(_dataset_node(n, level, unresolved, owners_of_domain.get(n.domain_id, []), derived, viewer))
            continue
        kind, domain, owners, title = n.kind, None, list(n.owners or []), ""
        if n.kind == "insight":  # named by its number only; its viewers are what producers weigh
            viewers = int((n.detail or {}).get("viewers") or 0)
            out.append(
                InsightNode(
                    id=n.id,
                    kind=kind,
                    name=n.name,
                    namespace=n.namespace,
                    level=level,
                    domain=None,
                    owners=owners,
                    stage=None,
                    title="an insight",
                    hidden=False,
                    link=None,
                    derivation=None,
                    gaps=unresolved,
                    viewers=viewers,
                )
            )
            continue
        if n.kind == "dataset" and n.dataset_id is None:
            kind, title = "deleted", "a dataset that no longer exists"
        elif n.source_system_id in systems:
            _, owner, system_kind = systems[n.source_system_id]
            owners, title = [owner], f"{system_kind} source system"
        elif n.kind == "file":
            domain, title = n.namespace.removeprefix("file://"), "shared file"
        out.append(
            ChainNode(
                id=n.id,
                kind=kind,
                name=n.name,
                namespace=n.namespace,
                level=level,
                domain=domain,
                owners=owners,
                stage=None,
                title=title,
                hidden=False,
                link=None,
                derivation=None,
                gaps=unresolved,
            )
        )
    out.sort(key=lambda x: (x.level, x.domain or "", x.name))
    return out


def _dataset_node(
    n: Any, level: int, unresolved: int, domain_owners: list[str], derived: Any, viewer: Person | None
) -> DatasetNode:
    """A node of a catalog dataset: named, linked and with its derivation only for a viewer who may know it;
    for another, "a dataset you may not see" with its domain and owners (who to ask), nothing more."""
    ref = DatasetRef(n.dataset_id, n.full_name, n.domain, n.visibility or n.default_visibility or "open")
    seen = knows(viewer, ref)
    owners = list(domain_owners)
    if derived is not None and derived.owner not in owners and seen:
        owners.append(derived.owner)
    derivation = None
    if derived is not None and seen:
        derivation = NodeDerivation(
            schedule=derived.schedule,
            status=derived.status,
            last_run_at=_iso(derived.last_run_at),
            next_run_at=_iso(derived.next_run_at),
        )
    return DatasetNode(
        id=n.id,
        kind=n.kind,
        name=n.name if seen else "a dataset you may not see",
        namespace=n.namespace,
        level=level,
        domain=n.domain,
        owners=owners,
        stage=n.stage,
        title=n.title if seen else "",
        hidden=not seen,
        link=f"/lineage/{n.full_name}" if seen else None,
        derivation=derivation,
        gaps=unresolved,
        rows=n.row_count if seen else None,
    )


def _virtual_root(s: Session, ds: Dataset, viewer: Person | None) -> DatasetNode:
    """A dataset nothing was ever recorded about still shows, alone."""
    owners = dataset_owners(s, [ds.id])[ds.id].names
    return DatasetNode(
        id=0,
        kind="dataset",
        name=ds.full_name,
        namespace="threshold",
        level=0,
        domain=ds.domain.name,
        owners=owners,
        stage=ds.stage,
        title=ds.title,
        hidden=False,
        link=f"/lineage/{ds.full_name}",
        derivation=None,
        gaps=0,
        rows=ds.row_count,
    )


def _names_of(s: Session, node_ids: set[int]) -> dict[int, str]:
    ids = sorted(node_ids)
    out: dict[int, str] = {}
    for i in range(0, len(ids), graph.CHUNK):
        q = select(LineageNode.id, LineageNode.name).where(graph.in_ids(LineageNode.id, ids[i : i + graph.CHUNK]))
        out.update({int(a): str(b) for a, b in s.execute(q)})
    return out


def _gaps(s: Session, node_ids: Iterable[int]) -> list[ColumnGap]:
    rows = s.execute(
        select(LineageNode.name, ColumnLineage.target_column, ColumnLineage.description)
        .join(LineageNode, LineageNode.id == ColumnLineage.target_id)
        .where(ColumnLineage.kind == "unresolved", ColumnLineage.target_id.in_(list(node_ids)))
        .order_by(ColumnLineage.target_column)
    )
    return [ColumnGap(dataset=n, column=c, reason=r) for n, c, r in rows]


def overview(platform: Platform, *, viewer: Person | None = None, limit: int = 200) -> LineageOverview:
    """The whole graph in numbers, and every lineage gap (columns whose origin is unresolved)."""
    with platform.store.reader() as s:
        # counted as the viewer may know them: a dataset node of a dataset hidden from them is not one
        visible_node = or_(LineageNode.dataset_id.is_(None), LineageNode.dataset_id.in_(knowable_ids(viewer)))
        kinds = dict(
            s.execute(select(LineageNode.kind, func.count()).where(visible_node).group_by(LineageNode.kind)).all()
        )
        edges = s.scalar(select(func.count()).select_from(LineageEdge)) or 0
        column_rows = s.scalar(select(func.count()).select_from(ColumnLineage)) or 0
        statuses = dict(s.execute(select(Derivation.status, func.count()).group_by(Derivation.status)).all())
        gap_q = (
            select(
                LineageNode.name,
                LineageNode.dataset_id,
                ColumnLineage.target_column,
                ColumnLineage.description,
                ColumnLineage.origin,
            )
            .join(LineageNode, LineageNode.id == ColumnLineage.target_id)
            .where(ColumnLineage.kind == "unresolved")
            .order_by(LineageNode.name, ColumnLineage.target_column)
        )
        rows = s.execute(gap_q).all()
        hidden_ids = _hidden_dataset_ids(s, {r[1] for r in rows if r[1] is not None}, viewer)
        unseen = hidden_names(s, viewer)
        gaps = [
            LineageGap(dataset=name, column=col, reason=scrub(reason, unseen), origin=origin)
            for name, ds_id, col, reason, origin in rows
            if ds_id not in hidden_ids
        ]
        total_datasets = s.scalar(select(func.count()).select_from(Dataset).where(knowable(viewer)))
        return LineageOverview(
            nodes={k: int(v) for k, v in sorted(kinds.items())},
            edges=int(edges),
            column_lineage=int(column_rows),
            derivations={k: int(v) for k, v in sorted(statuses.items())},
            datasets=int(total_datasets or 0),
            gaps=Gaps(columns=len(gaps), datasets=len({g.dataset for g in gaps}), list=gaps[:limit]),
        )


def _hidden_dataset_ids(s: Session, ids: set[int], viewer: Person | None) -> set[int]:
    if not ids:
        return set()
    return set(s.scalars(select(Dataset.id).where(Dataset.id.in_(ids), ~knowable(viewer))))


def _iso(d: Any) -> str | None:
    from datetime import UTC

    if d is None:
        return None
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).isoformat(timespec="seconds")
