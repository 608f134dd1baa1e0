"""Where a data subject is held: datasets whose columns carry the subject's tag, and datasets derived from them.

A derived dataset usually carries the tag too (tags flow through column lineage, `lineage.tags`); when it
does not, the columns its column lineage says come from a tagged column are searched, and when it has no
column lineage at all, every column of the tagged columns' type. Rows are counted in the published snapshot
(pyiceberg scan, pruned by the manifests' column bounds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyiceberg.expressions import AlwaysFalse, BooleanExpression, EqualTo, Or, Reference
from sqlalchemy import select

from threshold.erasure.subjects import Subject
from threshold.erasure.values import tables_hold, typed
from threshold.errors import InvalidInput
from threshold.lineage.graph import walk
from threshold.lineage.models import DIRECT_KINDS, ColumnLineage, LineageNode
from threshold.platform import Platform
from threshold.store.models import Column, Dataset, Tag

VIA = ("tag", "lineage", "same type")


@dataclass
class Place:
    """One dataset that may hold the subjects: the columns searched for each, and what was found."""

    dataset: str
    dataset_id: int
    snapshot_id: int | None
    columns: dict[str, list[str]] = field(default_factory=dict)
    """Subject (`tag=…` index as text) -> columns searched for it."""
    via: str = "tag"
    rows: int = 0
    """Rows of the published snapshot that hold a subject's value."""
    total_rows: int = 0
    in_history: bool = False
    """An earlier snapshot (time travel) still reads a file holding a subject's value."""

    @property
    def holds(self) -> bool:
        return bool(self.rows or self.in_history)

    def column_names(self) -> list[str]:
        return sorted({c for cols in self.columns.values() for c in cols})


def predicate(table: Any, subjects: list[Subject], place: Place) -> BooleanExpression:
    """Rows holding any subject's value in any of its columns (AlwaysFalse when none can)."""
    schema = table.schema()
    expr: BooleanExpression = AlwaysFalse()
    for i, subject in enumerate(subjects):
        for col in place.columns.get(str(i), []):
            f = schema.find_field(col) if col in {x.name for x in schema.fields} else None
            if f is None:
                continue
            v = typed(subject.value, f.field_type)
            if v is not None:
                expr = Or(expr, EqualTo(term=Reference(col), value=v))
    return expr


def find(platform: Platform, subjects: list[Subject]) -> list[Place]:
    """Every dataset that may hold a subject (searched, with rows counted), tagged ones first."""
    limit = platform.settings.erasure.max_datasets
    places: dict[int, Place] = {}
    with platform.store.session() as s:
        datasets = {d.id: d for d in s.scalars(select(Dataset).where(Dataset.snapshot_id.is_not(None)))}
        types = {(c.dataset_id, c.name): c.type for c in s.scalars(select(Column))}
        tagged_types: dict[int, set[str]] = {}
        for i, subject in enumerate(subjects):
            for ds_id, column in s.execute(
                select(Tag.dataset_id, Tag.column_name).where(Tag.tag == subject.tag, Tag.column_name.is_not(None))
            ):
                d = datasets.get(ds_id)
                if d is None:
                    continue
                place = places.setdefault(ds_id, Place(d.full_name, ds_id, d.snapshot_id))
                cols = place.columns.setdefault(str(i), [])
                if column not in cols:
                    cols.append(str(column))
                tagged_types.setdefault(i, set()).add(types.get((ds_id, str(column)), ""))
        if len(places) > limit:
            raise InvalidInput(
                f"the subjects' tags are on {len(places)} datasets, more than {limit} (THRESHOLD_ERASURE__MAX_DATASETS)"
            )
        nodes = {
            n.dataset_id: n.id
            for n in s.scalars(select(LineageNode).where(LineageNode.dataset_id.is_not(None)))
            if n.dataset_id is not None
        }
        by_node = {v: k for k, v in nodes.items()}
        starts = [nodes[i] for i in places if i in nodes]
        reached = walk(s, starts, direction="downstream", depth=50, limit=limit + len(starts)).levels if starts else {}
        for node_id, level in sorted(reached.items(), key=lambda kv: kv[1]):
            found_id = by_node.get(node_id)
            if level <= 0 or found_id is None or found_id not in datasets:
                continue
            ds_id = found_id
            d = datasets[ds_id]
            place = places.get(ds_id) or Place(d.full_name, ds_id, d.snapshot_id, via="lineage")
            lineage = list(
                s.execute(
                    select(
                        ColumnLineage.target_column,
                        ColumnLineage.source_id,
                        ColumnLineage.source_column,
                        ColumnLineage.kind,
                    ).where(ColumnLineage.target_id == node_id)
                )
            )
            for i, _subject in enumerate(subjects):
                if place.columns.get(str(i)):
                    continue  # the derived columns carry the tag themselves
                sources = {(nodes.get(p.dataset_id), c) for p in places.values() for c in p.columns.get(str(i), [])}
                cols = sorted(
                    {
                        str(t)
                        for t, src, src_col, kind in lineage
                        if t and kind in DIRECT_KINDS and (src, src_col) in sources
                    }
                )
                if not cols and not any(k in DIRECT_KINDS for _, _, _, k in lineage):
                    # No column lineage to follow: every column of a tagged column's type may hold it.
                    wanted = tagged_types.get(i, set())
                    cols = [c.name for c in d.columns if c.type in wanted]
                    if cols:
                        place.via = "same type" if place.via != "tag" else place.via
                if cols:
                    place.columns[str(i)] = cols
            if place.columns:
                places[ds_id] = place
            if len(places) > limit:
                raise InvalidInput(f"the subjects reach more than {limit} datasets (THRESHOLD_ERASURE__MAX_DATASETS)")
    found = sorted(places.values(), key=lambda p: (VIA.index(p.via), p.dataset))
    for place in found:
        count(platform, subjects, place)
    return found


def count(platform: Platform, subjects: list[Subject], place: Place) -> None:
    """Rows of the published snapshot holding a subject's value (and all its rows)."""
    table = platform.lake.load(place.dataset)
    expr = predicate(table, subjects, place)
    place.total_rows = 0
    place.rows = 0
    if place.snapshot_id is None:
        return
    snap = table.snapshot_by_id(place.snapshot_id)
    if snap is not None and snap.summary is not None:
        place.total_rows = int(snap.summary.additional_properties.get("total-records", 0))
    if isinstance(expr, AlwaysFalse):
        return
    scan = table.scan(row_filter=expr, snapshot_id=place.snapshot_id, selected_fields=tuple(place.column_names()))
    place.rows = int(scan.to_arrow().num_rows)
    place.in_history = in_history(platform, table, subjects, place.snapshot_id)


def in_history(platform: Platform, table: Any, subjects: list[Subject], current: int | None) -> bool:
    """Whether a file only earlier snapshots read holds a subject's value (decoded with pyarrow). Files the
    published snapshot reads are counted above; an append-only table has none of these."""
    import pyarrow.parquet as pq

    from threshold.lakefiles import inventory, live_files

    live = set(live_files(platform.lake, table, current)) if current is not None else set()
    for path, ref in inventory(platform.lake, table).data.items():
        if path in live or not ref.snapshots or platform.lake.files.stat(path) is None:
            continue
        with platform.lake.files.pin([path]):  # kept from the cache's bound while it is decoded
            decoded = pq.read_table(platform.lake.files.fetch(path))
        if tables_hold(decoded, subjects):
            return True
    return False
