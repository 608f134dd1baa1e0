"""The Explore page's service: what a person can click (columns and their pickers, datasets to join) and
the answer to what they clicked, run through the gateway as them.

Pickers fit the column's type: dates get a from/to range, numbers a min/max range, text columns the
profile's most common values (the catalog hides them where the person reads the column masked) or a
"contains" box. Joins are offered along relationships the platform knows: columns of the same name and
kind in another dataset the person may know about, and datasets one lineage step away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from threshold import events
from threshold.access import knowable, may
from threshold.access.reading import decide
from threshold.catalog.service import describe
from threshold.errors import InvalidInput, NotFound
from threshold.gateway.service import query
from threshold.identity.service import Person
from threshold.insights import charts
from threshold.insights.explore import Built, ExploreSpec, Schemas, build, kind_of
from threshold.insights.formatting import FormattedTable, KeyNumber, format_table, key_numbers
from threshold.insights.parameters import Parameter, bind, check_sql, values_for
from threshold.lineage.models import LineageEdge, LineageNode
from threshold.platform import Platform
from threshold.store.models import Dataset

GENERIC_KEYS = {"id", "name", "description", "comment", "notes", "value", "amount", "date", "day", "type", "status"}
"""Column names too generic to join two datasets on by their name alone."""
EXPLORE_ROWS = 1000


@dataclass
class PickerColumn:
    name: str
    label: str
    type: str
    kind: str
    """`number`, `date`, `datetime`, `bool` or `text`: which picker fits."""
    values: list[str] = field(default_factory=list)
    """The most common values (text columns; empty where the person reads the column masked)."""
    min: str | None = None
    max: str | None = None
    masked: bool = False


@dataclass
class Relationship:
    dataset: str
    on: list[tuple[str, str]]
    why: str


@dataclass
class ExploreResult:
    sql: str
    spec: dict[str, Any] | None
    table: FormattedTable
    row_count: int
    truncated: bool
    notes: list[str]
    datasets: list[str]
    snapshots: dict[str, int | None]
    duration_ms: float
    chart: dict[str, Any]
    chart_kinds: list[str]
    svg: str | None
    key_numbers: list[KeyNumber]


def visible_schemas(platform: Platform, person: Person, names: list[str]) -> Schemas:
    """{dataset: {column: type}} of the datasets the person may know about (others are unknown to them)."""
    wanted = sorted({n.strip().lower() for n in names})
    with platform.store.reader() as s:
        rows = list(
            s.scalars(
                select(Dataset)
                .where(Dataset.full_name.in_(wanted), knowable(person))
                .options(selectinload(Dataset.columns))
            )
        )
    out = {d.full_name: {c.name: c.type for c in d.columns} for d in rows}
    for n in wanted:
        if n not in out:
            raise NotFound(f"no dataset {n[:80]!r}")
    return out


def picker_columns(platform: Platform, person: Person, dataset: str) -> list[PickerColumn]:
    """The dataset's columns with the picker each needs (profile values only where the person may read the
    column's values: `dataset.read_data`)."""
    record = describe(platform, dataset, viewer=person)
    decision = decide(platform, person, [record.name], None)[0]
    masks = {c.name for c in record.schema if not may(person, "dataset.read_data", (decision, c.name))}
    out = []
    for c in record.schema:
        kind = kind_of(c.type)
        masked = c.name in masks
        values = [str(v[0]) for v in c.top_values or [] if v and v[0] is not None] if kind == "text" else []
        values = [] if masked else values
        out.append(
            PickerColumn(
                c.name,
                c.label or c.name,
                c.type,
                kind,
                values[:50],
                None if c.min is None else str(c.min),
                None if c.max is None else str(c.max),
                masked,
            )
        )
    return out


def relationships(platform: Platform, person: Person, dataset: str, *, limit: int = 20) -> list[Relationship]:
    """Datasets to join `dataset` with: same-named columns of the same kind, and lineage neighbours."""
    main = visible_schemas(platform, person, [dataset])[dataset.strip().lower()]
    with platform.store.reader() as s:
        others = list(
            s.scalars(
                select(Dataset)
                .where(knowable(person), Dataset.full_name != dataset.strip().lower())
                .options(selectinload(Dataset.columns))
            )
        )
        me = s.scalars(select(Dataset.id).where(Dataset.full_name == dataset.strip().lower())).one()
        near = _lineage_neighbours(s, me)
    found: list[Relationship] = []
    for d in others:
        cols = {c.name: c.type for c in d.columns}
        shared = [
            (c, c)
            for c in main
            if c in cols
            and c not in GENERIC_KEYS
            and kind_of(main[c]) == kind_of(cols[c])
            and kind_of(cols[c]) != "bool"
        ]
        if d.id in near:
            found.append(Relationship(d.full_name, shared, "lineage: " + near[d.id]))
        elif shared:
            found.append(Relationship(d.full_name, shared, "shared columns: " + ", ".join(a for a, _ in shared)))
    found.sort(key=lambda r: (not r.why.startswith("lineage"), -len(r.on), r.dataset))
    return [r for r in found if r.on][:limit]


def _lineage_neighbours(s: Any, dataset_id: int) -> dict[int, str]:
    node = s.scalars(select(LineageNode.id).where(LineageNode.dataset_id == dataset_id)).one_or_none()
    if node is None:
        return {}
    out: dict[int, str] = {}
    for src, dst in s.execute(
        select(LineageEdge.src_id, LineageEdge.dst_id).where(
            (LineageEdge.src_id == node) | (LineageEdge.dst_id == node)
        )
    ):
        other = dst if src == node else src
        ds = s.scalars(select(LineageNode.dataset_id).where(LineageNode.id == other)).one_or_none()
        if ds is not None:
            out[int(ds)] = "derived from it" if src == node else "it is derived from this one"
    return out


def generate(platform: Platform, person: Person, spec: ExploreSpec) -> Built:
    """The gateway SQL of an explore spec, every name checked against what the person may know."""
    names = [spec.dataset] + ([spec.join.dataset] if spec.join else [])
    return build(spec, visible_schemas(platform, person, names))


def run(
    platform: Platform,
    person: Person,
    *,
    spec: ExploreSpec | None = None,
    sql: str | None = None,
    parameters: list[Parameter] | None = None,
    values: dict[str, Any] | None = None,
    purpose: str | None = None,
    chart: dict[str, Any] | None = None,
    interface: str = "python",
    locale: str = "en_GB",
    max_rows: int = EXPLORE_ROWS,
) -> ExploreResult:
    """Run an explored question (a spec, or SQL edited from one) through the gateway as `person`."""
    if spec is None and not (sql or "").strip():
        raise InvalidInput("choose a dataset to explore, or write SQL")
    params = parameters or []
    text = generate(platform, person, spec).sql if spec is not None and not (sql or "").strip() else str(sql)
    check_sql(text, params)
    bound = bind(text, params, values_for(params, values)) if params else text
    result = query(platform, bound, user=person, purpose=purpose, interface=interface, max_rows=max_rows)
    table = result.table
    resolved = charts.resolve(table, charts.ChartSpec.from_dict(chart))
    svg = charts.svg(table, resolved) if resolved.kind != "table" else None
    if spec is not None and not (sql or "").strip():  # clicked together: no SQL written
        kind = resolved.kind if resolved.kind != "table" else None
        events.publish(platform, events.QuestionExplored(person.id, tuple(result.datasets), kind, platform.clock()))
    return ExploreResult(
        text,
        spec.as_dict() if spec is not None else None,
        format_table(table, locale),
        table.num_rows,
        result.truncated,
        result.notes,
        result.datasets,
        result.snapshots,
        round(result.duration_ms, 1),
        resolved.as_dict(),
        charts.possible(table),
        svg,
        key_numbers(table, resolved.x, resolved.y, locale),
    )
