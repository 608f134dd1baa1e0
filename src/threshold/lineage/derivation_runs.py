"""A derivation run in flight: its context (`deriving`), and what it records inside the share's transaction.

`derive.py` runs the query and shares the result inside `deriving(spec)`; the share announces
`DatasetPublished`, and lineage's subscriber (`hooks.published`) calls `record_run` with the
publishing session when the published dataset is the one being derived.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from threshold.jobs import service as jobs
from threshold.lineage import graph, naming, openlineage_out, tags
from threshold.lineage.models import Derivation, DerivationRun, LineageNode
from threshold.platform import Platform
from threshold.store.models import Dataset

if TYPE_CHECKING:  # the query's analysis (sqlglot) is derive's: a share's publication records no run without it
    from threshold.lineage.query_lineage import QueryLineage


@dataclass
class DerivationRunSpec:
    """What `derive`/`refresh` know about the run whose result is being shared."""

    dataset: str
    sql: str
    owner_id: int
    owner: str
    purpose: str | None
    schedule: str | None
    next_run_at: datetime | None
    trigger: str
    triggered_by: int | None
    run_id: str
    started_at: datetime
    analysis: QueryLineage
    inputs: dict[str, int | None] = field(default_factory=dict)
    """Datasets read, and the snapshot each was read at."""
    recorded: dict[str, Any] = field(default_factory=dict)
    """Filled by the hook: column lineage rows, inherited tags, gaps (read back by derive)."""
    masked: dict[str, set[str]] = field(default_factory=dict)
    """Input dataset -> the columns the owner read masked (their derived tags stay in this dataset's scope)."""
    owner_domains: tuple[str, ...] = ()


_current: contextvars.ContextVar[DerivationRunSpec | None] = contextvars.ContextVar("derivation", default=None)


@contextmanager
def deriving(spec: DerivationRunSpec) -> Iterator[DerivationRunSpec]:
    token = _current.set(spec)
    try:
        yield spec
    finally:
        _current.reset(token)


def current(dataset: str) -> DerivationRunSpec | None:
    """The run being shared as `dataset` in this context, if any."""
    spec = _current.get()
    return spec if spec is not None and spec.dataset == dataset else None


def record_run(
    platform: Platform,
    s: Session,
    ds: Dataset,
    node: LineageNode,
    spec: DerivationRunSpec,
    *,
    snapshot_id: int,
    columns: list[tuple[str, str]],
) -> None:
    """Inside the share's publish transaction: the derivation, its run, edges, column lineage, tags."""
    now = datetime.now(UTC)
    d = s.scalars(select(Derivation).where(Derivation.dataset_id == ds.id)).one_or_none()
    if d is None:
        d = Derivation(dataset_id=ds.id, sql=spec.sql, owner_id=spec.owner_id, created_at=now)
        s.add(d)
    d.sql, d.owner_id, d.purpose, d.schedule = spec.sql, spec.owner_id, spec.purpose, spec.schedule
    if spec.trigger != "schedule":  # a scheduled run is timed by the jobs core that runs it
        jobs.plan(s, "derivation.refresh", ds.full_name, spec.schedule, label=ds.full_name, now=spec.started_at)
    d.last_run_at, d.last_snapshot_id, d.status, d.last_error, d.updated_at = now, snapshot_id, "ok", None, now
    s.flush()
    job = graph.node(
        s,
        "job",
        naming.LAKE,
        naming.derive_job(ds.full_name),
        detail={"sql": spec.sql, "type": "derivation", "dataset": ds.full_name},
    )
    inputs = {name: graph.lake_node(s, name) for name in spec.inputs}
    node_ids = {name: n.id for name, n in inputs.items() if n is not None}
    graph.replace_inputs(s, node.id, node_ids.values(), origin="derivation", job_id=job.id)
    rows = column_rows(spec.analysis, [c for c, _ in columns])
    stored = []
    for r in rows:
        src = r.pop("source_dataset", None)
        if src is not None and src not in node_ids:
            r.update(kind="unresolved", description=f"{src} was not read by the query", source_column=None)
        stored.append(r | {"source_id": node_ids.get(src) if src else None})
        r["source_dataset"] = src
    graph.replace_column_lineage(s, node.id, stored, origin="derivation", job_id=job.id)
    read_as = tags.ReadAs(spec.owner_id, spec.owner_domains, spec.masked)
    inherited = tags.inherit(s, ds, rows, node_ids, read_as)
    gaps = [{"column": r["target_column"], "reason": r["description"]} for r in rows if r["kind"] == "unresolved"]
    s.add(
        DerivationRun(
            derivation_id=d.id,
            run_id=spec.run_id,
            trigger=spec.trigger,
            user_id=spec.triggered_by,
            started_at=spec.started_at,
            finished_at=now,
            status="ok",
            snapshot_id=snapshot_id,
            rows=ds.row_count,
        )
    )
    spec.recorded.update(rows=rows, tags=inherited, gaps=gaps)
    openlineage_out.enqueue(
        s,
        platform,
        openlineage_out.run_event(
            platform,
            state="COMPLETE",
            run_id=spec.run_id,
            job=job.name,
            job_type="DERIVE",
            sql=spec.sql,
            owner=spec.owner,
            at=now,
            inputs=[
                openlineage_out.lake_dataset(platform, n, version=openlineage_out.version_facet(v))
                for n, v in sorted(spec.inputs.items())
            ],
            outputs=[
                openlineage_out.lake_dataset(
                    platform,
                    ds.full_name,
                    schema=openlineage_out.schema_facet(columns),
                    version=openlineage_out.version_facet(snapshot_id),
                    columnLineage=openlineage_out.column_lineage_facet(platform, rows),
                )
            ],
        ),
    )


def column_rows(analysis: QueryLineage, columns: list[str]) -> list[dict[str, Any]]:
    """Column lineage rows of a derived dataset's `columns` (mapped by position to the query's outputs).
    Every column gets at least one row: its sources, `constant`, or `unresolved` with the reason."""
    rows: list[dict[str, Any]] = []
    aligned = len(analysis.columns) == len(columns)
    by_name = {c.name: c for c in analysis.columns}
    for i, name in enumerate(columns):
        out = analysis.columns[i] if aligned else by_name.get(name)
        if out is None:
            reason = (
                analysis.unresolved[0]
                if analysis.unresolved and not analysis.columns
                else f"the query returned {len(columns)} columns where its text shows {len(analysis.columns)}"
                " (a COLUMNS(...) or * that could not be expanded)"
            )
            rows.append(_row(name, None, None, "unresolved", reason))
            continue
        for o in out.sources:
            rows.append(_row(name, o.dataset, o.column, o.kind, out.expression, o.masking))
        for o in out.indirect:
            rows.append(_row(name, o.dataset, o.column, o.kind, out.expression))
        for reason in out.unresolved:
            rows.append(_row(name, None, None, "unresolved", reason))
        if out.status == "constant":
            rows.append(_row(name, None, None, "constant", out.expression))
    for o in analysis.indirect:
        rows.append(_row(None, o.dataset, o.column, o.kind, ""))
    if analysis.columns:
        for reason in analysis.unresolved:
            rows.append(_row(None, None, None, "unresolved", reason))
    return rows


def _row(
    target: str | None, dataset: str | None, column: str | None, kind: str, description: str, masking: bool = False
) -> dict[str, Any]:
    return {
        "target_column": target,
        "source_dataset": dataset,
        "source_column": column,
        "kind": kind,
        "description": description[:2000],
        "masking": masking,
    }
