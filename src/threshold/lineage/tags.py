"""Tag inheritance: a derived column carries the tags of the columns its values come from.

So a column computed from a `personal.email` column is `personal.email` too, and the personal-data
guardrail keeps masking it for readers outside the domain, however many derivations away. Tags
flow through identity, transform and aggregate lineage (a hash of an email is still personal data:
pseudonymised data is personal data), not through a count (its values do not survive) nor through
columns that only filter or decide. Dataset-level tags (`confidential`) flow from every input. A
column whose origin is unresolved may come from any input column, so it carries all their tags.
Inherited tags have origin `lineage` and a reason naming the source column; each refresh recomputes
them, and a person's manual tags are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from threshold.lineage.models import DIRECT_KINDS
from threshold.store.models import Dataset, Tag

ORIGIN = "lineage"


def inherit(
    s: Session, dataset: Dataset, rows: Sequence[dict[str, Any]], inputs: Iterable[str]
) -> list[tuple[str, str]]:
    """Recompute `dataset`'s inherited tags from its column lineage `rows` (dicts with target_column,
    source_dataset, source_column, kind, masking). Returns the (column, tag) pairs inherited."""
    s.execute(delete(Tag).where(Tag.dataset_id == dataset.id, Tag.origin == ORIGIN))
    names = sorted(set(inputs) | {r["source_dataset"] for r in rows if r.get("source_dataset")})
    if not names:
        return []
    ids = dict(s.execute(select(Dataset.full_name, Dataset.id).where(Dataset.full_name.in_(names))).all())
    source_tags: dict[tuple[int, str | None], list[str]] = {}
    for ds_id, column, tag in s.execute(
        select(Tag.dataset_id, Tag.column_name, Tag.tag).where(Tag.dataset_id.in_(list(ids.values())))
    ):
        source_tags.setdefault((ds_id, column), []).append(tag)
    have = {(c, t) for c, t in s.execute(select(Tag.column_name, Tag.tag).where(Tag.dataset_id == dataset.id))}
    added: dict[tuple[str | None, str], str] = {}
    column_tags = [(ds_id, col, tag) for (ds_id, col), ts in source_tags.items() if col for tag in ts]
    by_id = {v: k for k, v in ids.items()}
    for r in rows:
        if r["kind"] == "unresolved" and r.get("target_column"):
            # Unknown origin: it may come from any input column, so it carries every input column's tags.
            for ds_id, col, tag in column_tags:
                key = (r["target_column"], tag)
                if key not in have and key not in added:
                    added[key] = f"origin unresolved: may come from {by_id[ds_id]}.{col}"
            continue
        if r["kind"] not in DIRECT_KINDS or r.get("masking") or not r.get("source_dataset"):
            continue
        src_id = ids.get(r["source_dataset"])
        for tag in source_tags.get((src_id or -1, r["source_column"]), []):
            key = (r["target_column"], tag)
            if key not in have and key not in added:
                added[key] = f"from {r['source_dataset']}.{r['source_column']} ({r['kind']})"
    for name in names:
        for tag in source_tags.get((ids.get(name, -1), None), []):
            key = (None, tag)
            if key not in have and key not in added:
                added[key] = f"from {name}"
    for (column, tag), reason in sorted(added.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
        s.add(Tag(dataset_id=dataset.id, column_name=column, tag=tag, origin=ORIGIN, reason=reason))
    s.flush()
    return [(c or "", t) for c, t in sorted(added, key=lambda k: (k[0] or "", k[1]))]
