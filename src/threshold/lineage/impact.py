"""Impact analysis: if a column is dropped, renamed or retyped, what breaks and who must be told.

Effects propagate along column lineage, level by level:
- a derivation whose SQL names the column **breaks** on drop and rename (its next refresh fails);
  on retype it **may break** (unless it only passes the column through: then its column
  **changes type** too, and so on downstream);
- a derivation that reads it only through `*` **loses** (or renames) its own column, and that
  change travels further down as if it had been made there;
- whatever is built on a dataset that breaks goes **stale** (it keeps its last data);
- a filter, join or grouping on the column breaks on drop and rename, may break on retype;
- an external job with column lineage on it may break; one that reads the dataset without column
  lineage, or a dataset whose lineage has gaps, **may depend** on it (said so, not guessed away).
Who must be told: the owners of every affected dataset (domain owners, derivation owners), owners
named by OpenLineage for external jobs, and everyone who read an affected column lately.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlalchemy import select
from sqlalchemy.orm import Session

from threshold.access import DatasetRef, find_dataset, hidden_names, may, scrub
from threshold.access.privacy import HIDDEN, sights
from threshold.errors import Denied, InvalidInput, NotFound
from threshold.identity.service import Person
from threshold.lineage.models import DIRECT_KINDS, ColumnLineage, Derivation, LineageEdge, LineageNode
from threshold.lineage.owners import dataset_owners, times
from threshold.lineage.results import Impact
from threshold.platform import Platform
from threshold.store.models import Column, Dataset, Domain
from threshold.usage.service import recent_consumers

CHANGES = ("drop", "rename", "retype")
MAX_LEVELS = 10
_SEVERITY = {
    "breaks": 0,
    "may break": 1,
    "loses column": 2,
    "renames column": 2,
    "changes type": 3,
    "stale": 4,
    "may depend": 5,
}


@dataclass(frozen=True)
class _Step:
    node: int
    column: str | None
    change: str  # what happens to that column: drop, rename, retype


def impact(
    platform: Platform,
    dataset: str,
    column: str,
    *,
    change: str = "drop",
    viewer: Person | None = None,
    notify: bool = False,
) -> Impact:
    """Everything that depends on `dataset.column`, what the change does to it, and who to tell."""
    if change not in CHANGES:
        raise InvalidInput(f"change is one of {', '.join(CHANGES)}")
    column = column.lower()
    with platform.store.session() as s:
        ds = find_dataset(s, viewer, dataset)
        col = s.scalars(select(Column).where(Column.dataset_id == ds.id, Column.name == column)).one_or_none()
        if col is None:
            raise NotFound(f"{ds.full_name} has no column {column!r}")
        root = s.scalars(select(LineageNode).where(LineageNode.dataset_id == ds.id)).one_or_none()
        dependents = _propagate(s, root.id, column, change) if root is not None else []
        if root is not None:
            dependents += _unknown_dependents(s, root.id, {d["node_id"] for d in dependents})
        _add_people(s, ds, column, dependents)
        readers = recent_consumers(s, [ds.id], columns={ds.id: {column}})[ds.id]
        audience = _audience(dependents, readers, ds.full_name, column)
        if viewer is not None:
            audience = [a for a in audience if a["user_id"] != viewer.id] if notify else audience
        if notify:
            answer = may(viewer, "dataset.write", DatasetRef.of(ds))
            if viewer is None or not answer:
                raise Denied(f"only members of {ds.domain.name} announce changes to its data (rule: impact.notify)")
            _announce(s, ds, column, change, viewer, audience)
        names = _as_seen_by(s, platform, viewer, ds, dependents)
        unseen = hidden_names(s, viewer)
        for a in audience:
            a["reasons"] = [scrub(r, unseen) for r in a["reasons"]]
        for d in dependents:
            d.pop("node_id", None)
            d.pop("user_ids", None)
            d.pop("dataset_ref", None)
        return Impact(
            dataset=ds.full_name,
            column=column,
            type=col.type,
            change=change,
            dependents=dependents,
            breaks=sum(1 for d in dependents if d["effect"] == "breaks"),
            affected=len({d["name"] for d in dependents}),
            readers=[{k: v for k, v in r.items() if k != "user_id"} for r in readers] if names else [],
            reader_count=len(readers),
            names_visible=names,
            notify=[{k: v for k, v in a.items() if k != "user_id"} for a in audience] if names else [],
            notify_count=len(audience),
            notified=len(audience) if notify else 0,
        )


def _as_seen_by(
    s: Session, platform: Platform, viewer: Person | None, ds: Dataset, dependents: list[dict[str, Any]]
) -> bool:
    """Narrow the answer to what the viewer may see: a dependent dataset they may not know exists is named
    only by its domain; people are named only where `dataset.usage.names` allows (else counted). Returns
    whether the viewer sees the names of the column's readers."""
    ids = {d["dataset_ref"] for d in dependents if d.get("dataset_ref") is not None} | {ds.id}
    seen = sights(s, viewer, ids, platform=platform)
    unseen = hidden_names(s, viewer)
    for d in dependents:
        ref = d.get("dataset_ref")
        sight = seen.get(ref, HIDDEN) if ref is not None else None
        if sight is not None and not sight.exists:
            d.update(name=f"a dataset of {d['domain']} you may not see", column=None, via="", why="", owners=[])
        else:
            d["via"], d["why"] = scrub(d["via"], unseen) or "", scrub(d["why"], unseen) or ""
        d["consumer_count"] = len(d["consumers"])
        if sight is None or not sight.names:
            d["consumers"] = []
    return seen[ds.id].names


def _propagate(s: Session, root: int, column: str, change: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[tuple[int, str | None]] = {(root, column)}
    frontier = [_Step(root, column, change)]
    names = _names(s)
    broken_at: dict[int, int] = {}
    for level in range(1, MAX_LEVELS + 1):
        nxt: list[_Step] = []
        broken: set[int] = set()
        for step in frontier:
            via = f"{names(step.node)}.{step.column}" if step.column else names(step.node)
            q = select(ColumnLineage).where(
                ColumnLineage.source_id == step.node, ColumnLineage.source_column == step.column
            )
            rows = s.scalars(q).all() if step.column else []
            for r in rows:
                key = (r.target_id, r.target_column)
                if key in seen:
                    continue
                seen.add(key)
                effect, why, follow = _effect(s, r, step, names)
                out.append(_dependent(s, r.target_id, r.target_column, level, via, r.kind, effect, why))
                if follow is not None:
                    nxt.append(follow)
                if effect == "breaks":
                    broken.add(r.target_id)
        broken_at.update(dict.fromkeys(broken - set(broken_at), level))
        frontier = nxt
        if not frontier:
            break
    # Whatever is built on something that breaks goes stale, all the way down.
    stale = sorted(broken_at.items(), key=lambda kv: kv[1])
    while stale:
        node_id, level = stale.pop(0)
        for (dst,) in s.execute(select(LineageEdge.dst_id).where(LineageEdge.src_id == node_id)):
            if (dst, None) in seen or dst in broken_at or level >= MAX_LEVELS:
                continue
            seen.add((dst, None))
            out.append(
                _dependent(
                    s,
                    dst,
                    None,
                    level + 1,
                    names(node_id),
                    "dataset",
                    "stale",
                    f"built on {names(node_id)}, which breaks: it keeps its last data",
                )
            )
            stale.append((dst, level + 1))
    out.sort(key=lambda d: (d["level"], _SEVERITY[d["effect"]], d["name"], d["column"] or ""))
    return out


def _effect(s: Session, r: ColumnLineage, step: _Step, names: Any) -> tuple[str, str, _Step | None]:
    """What `step.change` does to the target of lineage row `r`, why, and what to follow further."""
    target = names(r.target_id)
    if r.origin == "openlineage":
        job = names(r.job_id) if r.job_id else "an external job"
        return "may break", f"{job} reads it ({r.kind}), says its OpenLineage column lineage", None
    explicit = _names_column(s, r.target_id, step.column or "")
    if r.target_column is None or r.kind not in DIRECT_KINDS:
        if step.change == "retype":
            return (
                "may break",
                f"{target} filters, joins, groups or decides by it ({r.kind}): comparisons may fail",
                None,
            )
        return "breaks", f"{target}'s SQL uses it to {r.kind.replace('_', ' ')}: its next refresh fails", None
    if step.change in ("drop", "rename"):
        if explicit:
            return "breaks", f"{target}'s SQL names {step.column}: its next refresh fails", None
        effect = "loses column" if step.change == "drop" else "renames column"
        return (
            effect,
            f"{target} reads it through *: its column {r.target_column} goes too",
            _Step(r.target_id, r.target_column, step.change),
        )
    if r.kind == "identity":
        return (
            "changes type",
            f"{target}.{r.target_column} passes it through: its type changes too",
            _Step(r.target_id, r.target_column, "retype"),
        )
    return "may break", f"{target}.{r.target_column} computes from it ({r.kind}): check the expression", None


def _names_column(s: Session, node_id: int, column: str) -> bool:
    """The derivation writing `node_id` names `column` in its SQL (rather than reaching it via *)."""
    sql = s.scalar(
        select(Derivation.sql)
        .join(LineageNode, LineageNode.dataset_id == Derivation.dataset_id)
        .where(LineageNode.id == node_id)
    )
    if not sql:
        return True  # no SQL to read: assume the worst
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.SqlglotError:
        return True
    return any(c.name.lower() == column for c in tree.find_all(sqlglot.exp.Column))


def _unknown_dependents(s: Session, root: int, known: set[int]) -> list[dict[str, Any]]:
    """Direct consumers of the dataset whose column-level use is unknown: they may depend on it."""
    out = []
    for dst in s.scalars(select(LineageEdge.dst_id).where(LineageEdge.src_id == root)):
        if dst in known:
            continue
        rows = s.execute(
            select(ColumnLineage.kind, ColumnLineage.description).where(ColumnLineage.target_id == dst)
        ).all()
        from_root = s.scalar(
            select(ColumnLineage.id).where(ColumnLineage.target_id == dst, ColumnLineage.source_id == root).limit(1)
        )
        gaps = [d for k, d in rows if k == "unresolved"]
        if from_root is not None and not gaps:
            continue  # its column lineage is complete and does not use this column
        why = (
            f"its lineage has gaps ({gaps[0]})"
            if gaps
            else "it reads the dataset, but no column-level lineage says how"
        )
        out.append(_dependent(s, dst, None, 1, "", "unknown", "may depend", why))
    return out


def _dependent(
    s: Session, node_id: int, column: str | None, level: int, via: str, lineage: str, effect: str, why: str
) -> dict[str, Any]:
    n = s.get(LineageNode, node_id)
    assert n is not None
    domain = None
    if n.dataset_id is not None:
        domain = s.scalar(
            select(Domain.name).join(Dataset, Dataset.domain_id == Domain.id).where(Dataset.id == n.dataset_id)
        )
    return {
        "node_id": node_id,
        "dataset_ref": n.dataset_id,
        "name": n.name,
        "kind": n.kind,
        "domain": domain,
        "dataset_id": n.dataset_id,
        "column": column,
        "level": level,
        "via": via,
        "lineage": lineage,
        "effect": effect,
        "why": why,
        "owners": list(n.owners or []),
        "consumers": [],
    }


def _add_people(s: Session, ds: Dataset, column: str, dependents: list[dict[str, Any]]) -> None:
    ids = [d["dataset_id"] for d in dependents if d["dataset_id"] is not None]
    owners = dataset_owners(s, ids)
    wanted: dict[int, set[str]] = {}
    for d in dependents:
        if d["dataset_id"] is not None and d["column"]:
            wanted.setdefault(d["dataset_id"], set()).add(d["column"])
    consumers = recent_consumers(s, ids, columns=wanted)
    for d in dependents:
        ds_id = d.pop("dataset_id")
        if ds_id is None:
            d["user_ids"] = []
            continue
        d["owners"] = owners[ds_id].names
        d["user_ids"] = owners[ds_id].user_ids
        d["consumers"] = [
            {"user": c["user"], "queries": c["queries"], "last_read": c["last_read"], "user_id": c["user_id"]}
            for c in consumers[ds_id]
        ]


def _audience(
    dependents: list[dict[str, Any]], readers: list[dict[str, Any]], dataset: str, column: str
) -> list[dict[str, Any]]:
    people: dict[int, dict[str, Any]] = {}

    def add(user_id: int, user: str, reason: str) -> None:
        entry = people.setdefault(user_id, {"user": user, "user_id": user_id, "reasons": []})
        if reason not in entry["reasons"]:
            entry["reasons"].append(reason)

    for d in dependents:
        for uid, name in zip(d["user_ids"], d["owners"], strict=False):
            add(uid, name, f"owns {d['name']} ({d['effect']})")
        for c in d["consumers"]:
            add(c["user_id"], c["user"], f"read {d['name']}{'.' + d['column'] if d['column'] else ''} lately")
        for c in d["consumers"]:
            c.pop("user_id", None)
    for r in readers:
        add(r["user_id"], r["user"], f"read {dataset}.{column} {times(r['queries'])} in the last 30 days")
    return sorted(people.values(), key=lambda p: p["user"])


def _announce(s: Session, ds: Dataset, column: str, change: str, by: Person, audience: list[dict[str, Any]]) -> None:
    from threshold.notifications.models import Notification

    for a in audience:
        s.add(
            Notification(
                user_id=a["user_id"],
                kind="change.planned",
                title=f"Planned change: {change} {ds.full_name}.{column}",
                body=f"{by.name} plans to {change} {ds.full_name}.{column}. You are told because you "
                + "; ".join(a["reasons"])
                + ".",
                link=f"/lineage/{ds.full_name}?column={column}",
                dataset_id=ds.id,
                data={"dataset": ds.full_name, "column": column, "change": change, "by": by.name},
            )
        )


def _names(s: Session) -> Any:
    cache: dict[int, str] = {}

    def name(node_id: int) -> str:
        if node_id not in cache:
            cache[node_id] = str(s.scalar(select(LineageNode.name).where(LineageNode.id == node_id)) or node_id)
        return cache[node_id]

    return name
