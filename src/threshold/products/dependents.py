"""What depends on a dataset downstream, and where it comes from upstream: asked of lineage, defensively.

Lineage is its own capability (`threshold.lineage`). This module is the one place products reads
it, and it never fails because of it: when lineage cannot answer, the answer says
"lineage not available" (with why) instead of pretending nothing depends on the dataset.
Products built on a dataset are known here and always listed.

What is called, in order of preference:
- `threshold.lineage.supply_chain.lineage(platform, name, direction=..., depth=5, viewer=...)`: its
  `nodes` (typed `ChainNode`s, each with `kind`, `name`, `domain`, `owners`, `level`, an insight's
  `viewers`; the dataset itself is level 0);
- else `threshold.lineage.service.downstream|upstream(platform, name)` if a later layout has them;
- otherwise one hop of the lineage tables (`LineageNode`, `LineageEdge`, `SourceSystem`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from threshold.platform import Platform
from threshold.products.models import Product, ProductDataset
from threshold.store.models import Dataset, Domain, User

NOT_AVAILABLE = "lineage not available"


@dataclass
class Related:
    available: bool
    items: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"available": self.available, "items": self.items, "note": self.note, "insights": self.insights()}

    def insights(self) -> dict[str, Any]:
        """ "3 insights with 41 viewers depend on this dataset": the insights among the dependents."""
        found = [i for i in self.items if i.get("kind") == "insight"]
        viewers = sum(int(i.get("viewers") or 0) for i in found)
        n = len(found)
        people = f"{viewers} viewer{'s' if viewers != 1 else ''}"
        sentence = f"{n} insight{'s' if n != 1 else ''} with {people} depend{'s' if n == 1 else ''} on this"
        return {"count": n, "viewers": viewers, "sentence": sentence if n else ""}


def downstream(platform: Platform, full_name: str, *, viewer: Any = None) -> Related:
    """Derived datasets, jobs, insights (from lineage) and products built on `full_name`."""
    products = _products_using(platform, [full_name], viewer).get(full_name, [])
    found = _from_service(platform, "downstream", full_name, viewer)
    if found is None:
        found = _from_tables(platform, full_name, direction="down")
    found.items = _dedupe(found.items + products)
    return found


def upstream(platform: Platform, full_name: str, *, viewer: Any = None) -> Related:
    """What `full_name` is derived from (datasets, sources), with their owners where lineage knows them."""
    found = _from_service(platform, "upstream", full_name, viewer)
    if found is None:
        found = _from_tables(platform, full_name, direction="up")
    return found


def downstream_counts(platform: Platform) -> tuple[dict[int, int], str]:
    """Per dataset id, how many things depend on it directly (lineage edges plus products); and a note."""
    counts: dict[int, int] = defaultdict(int)
    note = ""
    try:
        from threshold.lineage.models import LineageEdge, LineageNode

        with platform.store.session() as s:
            src = LineageNode.__table__.alias("src")
            rows = (
                s.connection()
                .execute(
                    select(src.c.dataset_id, func.count(LineageEdge.dst_id))
                    .select_from(LineageEdge.__table__)
                    .join(src, src.c.id == LineageEdge.src_id)
                    .where(src.c.dataset_id.is_not(None))
                    .group_by(src.c.dataset_id)
                )
                .all()
            )
        for dataset_id, n in rows:
            counts[int(dataset_id)] += int(n)
    except Exception as e:  # lineage is optional here; say so instead of failing
        note = f"{NOT_AVAILABLE} ({type(e).__name__})"
    with platform.store.session() as s:
        parts = s.scalars(
            select(ProductDataset.dataset_id)
            .join(Product, Product.id == ProductDataset.product_id)
            .where(Product.dataset_id != ProductDataset.dataset_id, Product.status != "retired")
        ).all()
    for dataset_id in parts:
        counts[int(dataset_id)] += 1
    return dict(counts), note


def _products_using(platform: Platform, names: list[str], viewer: Any = None) -> dict[str, list[dict[str, Any]]]:
    """Products that include a dataset as one of their parts (not the product itself), those `viewer` may know."""
    from threshold.access import knowable_ids

    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with platform.store.session() as s:
        part = Dataset.__table__.alias("part")
        main = Dataset.__table__.alias("main")
        rows = s.execute(
            select(part.c.full_name, main.c.full_name, Product.status, User.name)
            .select_from(ProductDataset)
            .join(Product, Product.id == ProductDataset.product_id)
            .join(part, part.c.id == ProductDataset.dataset_id)
            .join(main, main.c.id == Product.dataset_id)
            .join(User, User.id == Product.owner_id)
            .where(part.c.full_name.in_(names), part.c.id != main.c.id, main.c.id.in_(knowable_ids(viewer)))
        ).all()
    for part_name, product, status, owner in rows:
        out[part_name].append(
            {"kind": "product", "name": product, "domain": product.split(".")[0], "owners": [owner], "status": status}
        )
    return out


def _from_service(platform: Platform, direction: str, full_name: str, viewer: Any = None) -> Related | None:
    """Ask lineage's supply-chain view (`threshold.lineage.supply_chain.lineage`) five levels deep; older
    layouts (`threshold.lineage.service.upstream|downstream`) are asked as a fallback."""
    fn: Any = None
    try:
        from threshold.lineage.supply_chain import lineage as supply_chain

        def fn(p: Platform, name: str) -> Any:
            return supply_chain(p, name, direction=direction, depth=5, viewer=viewer)
    except Exception:
        try:
            from threshold.lineage import service as lineage_service  # type: ignore[attr-defined]

            fn = getattr(lineage_service, direction, None)
        except Exception:
            return None
    if not callable(fn):
        return None
    try:
        result = fn(platform, full_name)
    except Exception as e:
        return Related(False, [], f"{NOT_AVAILABLE}: {type(e).__name__}: {str(e)[:120]}")
    items = [x for x in _as_list(result) if _fields(x).get("level") != 0]
    return Related(True, [_item(x) for x in items], "")


def _as_list(result: Any) -> list[Any]:
    if isinstance(result, dict):
        for key in ("nodes", "items", "datasets", "downstream", "upstream"):
            if isinstance(result.get(key), list):
                return list(result[key])
        return []
    if isinstance(result, (list, tuple)):
        return list(result)
    items = getattr(result, "nodes", None) or getattr(result, "items", None)
    return list(items) if isinstance(items, (list, tuple)) else []


def _fields(x: Any) -> dict[str, Any]:
    """A node as a mapping: a dict as it is, a typed node's (or any object's) attributes; a name has none."""
    return x if isinstance(x, dict) else getattr(x, "__dict__", {})


def _item(x: Any) -> dict[str, Any]:
    if isinstance(x, str):
        return {"kind": "dataset", "name": x, "domain": x.split(".")[0] if "." in x else None, "owners": []}
    d = _fields(x)
    name = d.get("name") or d.get("dataset") or d.get("full_name") or str(x)
    owners = d.get("owners") or ([d["owner"]] if d.get("owner") else [])
    return {
        "kind": d.get("kind", "dataset"),
        "name": str(name),
        "domain": d.get("domain"),
        "owners": [str(o) for o in owners],
        "level": abs(int(d["level"])) if isinstance(d.get("level"), int) else d.get("depth"),
    } | ({"viewers": int(d["viewers"])} if isinstance(d.get("viewers"), int) else {})


def _from_tables(platform: Platform, full_name: str, *, direction: str) -> Related:
    """One hop of the lineage graph, read from its tables."""
    try:
        from threshold.lineage.models import LineageEdge, LineageNode, SourceSystem

        with platform.store.session() as s:
            me = s.scalars(select(LineageNode).where(LineageNode.name == full_name, LineageNode.kind == "dataset"))
            node = me.first()
            if node is None:
                return Related(True, [], "no lineage recorded")
            near, far = (
                (LineageEdge.src_id, LineageEdge.dst_id)
                if direction == "down"
                else (LineageEdge.dst_id, LineageEdge.src_id)
            )
            others = s.scalars(select(LineageNode).join(LineageEdge, far == LineageNode.id).where(near == node.id))
            items = []
            for n in others:
                owners = [str(o) for o in (n.owners or [])]
                domain = None
                if n.dataset_id is not None:
                    q = select(Domain.name).join(Dataset, Dataset.domain_id == Domain.id)
                    domain = s.scalar(q.where(Dataset.id == n.dataset_id))
                if n.source_system_id is not None:
                    src = s.get(SourceSystem, n.source_system_id)
                    owner = s.get(User, src.owner_id) if src else None
                    owners += [owner.name] if owner else []
                items.append({"kind": n.kind, "name": n.name, "domain": domain, "owners": owners, "level": 1})
        return Related(True, items, "")
    except Exception as e:
        return Related(False, [], f"{NOT_AVAILABLE} ({type(e).__name__})")


def _dedupe(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for i in items:
        key = (i.get("kind"), i.get("name"))
        if key not in seen:
            seen.add(key)
            out.append(i)
    return out
