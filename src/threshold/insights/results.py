"""An insight's result for one reader: computed through the gateway as them, kept per decision.

`result_for` binds the parameters, asks the gateway for the reader's read key (deciding exactly as a
query would, and refusing as it would), and looks for a result kept under (insight, version, parameter
values, the reader's *decision*). One found is shown again and recorded as a governed read of its
datasets (`gateway.reuse.record_reuse`); none, or `fresh=True`, runs the query through the gateway as the
reader and keeps the result. A reader of another decision (masked, filtered, another purpose) never
shares a result: the key differs.

A kept result says which snapshots it read. It is shown until someone reruns the insight, except when the
insight ran since (its owner reran it, or its schedule did) and newer data was published: then the first
reader of each decision computes the new numbers.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from sqlalchemy import delete, select

from threshold.gateway.reuse import ReadKey, read_key, record_reuse
from threshold.gateway.service import query
from threshold.identity.service import Person
from threshold.insights.models import Insight, InsightResult, InsightRun, InsightVersion
from threshold.insights.parameters import Parameter, bind, parse_parameters, values_for
from threshold.platform import Platform


@dataclass
class Computed:
    """A result as one reader sees it."""

    table: pa.Table
    key: str
    truncated: bool
    notes: list[str]
    snapshots: dict[str, int | None]
    current: dict[str, int | None]
    """The snapshots published now: a result on older ones is stale."""
    computed_at: datetime
    duration_ms: float
    reused: bool
    digest: str
    values: dict[str, Any]
    sql: str
    """The SQL as run, parameters bound."""
    event_id: int | None = None
    charts: dict[str, str] = field(default_factory=dict)

    @property
    def newer_data(self) -> list[str]:
        return sorted(d for d, snap in self.current.items() if self.snapshots.get(d) != snap)


def result_for(
    platform: Platform,
    person: Person,
    insight: Insight,
    version: InsightVersion,
    given: dict[str, Any] | None,
    *,
    interface: str,
    fresh: bool = False,
    trigger: str = "view",
) -> Computed:
    """The result of `version` with the `given` parameter values, as `person` may see it."""
    params = parse_parameters(version.parameters)
    values = values_for(params, given)
    sql = bind(version.sql, params, values)
    started = time.perf_counter()
    key = read_key(platform, sql, user=person, purpose=insight.purpose or None, interface=interface)
    cache_key = _cache_key(insight.id, version.version, values, key, platform)
    if not fresh:
        kept = _kept(platform, cache_key)
        if kept is not None and not _outrun(insight, kept, key):
            table = _table(kept.arrow)
            event = record_reuse(
                platform, key, user=person, interface=interface, rows=table.num_rows, snapshots=kept.snapshots
            )
            return Computed(
                table,
                cache_key,
                kept.truncated,
                list(kept.notes),
                dict(kept.snapshots),
                key.snapshots,
                _aware(kept.created_at),
                kept.duration_ms,
                True,
                kept.digest,
                values,
                sql,
                event,
                dict(kept.charts or {}),
            )
    return _compute(platform, person, insight, version, values, sql, key, cache_key, interface, trigger, started)


def _compute(
    platform: Platform,
    person: Person,
    insight: Insight,
    version: InsightVersion,
    values: dict[str, Any],
    sql: str,
    key: ReadKey,
    cache_key: str,
    interface: str,
    trigger: str,
    started: float,
) -> Computed:
    limit = platform.settings.insights.result_rows
    now = datetime.now(UTC)
    try:
        result = query(platform, sql, user=person, purpose=insight.purpose or None, interface=interface, max_rows=limit)
    except Exception as e:  # refused, failed or stopped by a limit: the run says so, and the error goes on
        _record_run(platform, insight, version, person, values, trigger, "failed", error=str(e)[:2000])
        raise
    table = result.table
    truncated = result.truncated or table.num_rows > limit
    if table.num_rows > limit:
        table = table.slice(0, limit)
    notes = list(result.notes)
    if truncated and not any("cut" in n for n in notes):
        notes.append(f"the result is cut at {limit:,} rows (insights.result_rows)")
    digest = _digest(table)
    duration = result.duration_ms
    blob = _ipc(table)
    if len(blob) <= platform.settings.insights.result_bytes:
        _keep(platform, insight.id, version.version, cache_key, blob, table, truncated, notes, result, digest, now)
    _record_run(
        platform,
        insight,
        version,
        person,
        values,
        trigger,
        "ok",
        rows=table.num_rows,
        duration_ms=(time.perf_counter() - started) * 1000,
        snapshots=result.snapshots,
        digest=digest,
    )
    return Computed(
        table,
        cache_key,
        truncated,
        notes,
        dict(result.snapshots),
        key.snapshots,
        now,
        duration,
        False,
        digest,
        values,
        sql,
        result.event_id,
    )


def _cache_key(insight_id: int, version: int, values: dict[str, Any], key: ReadKey, platform: Platform) -> str:
    shape = [insight_id, version, sorted(values.items()), key.decision, platform.settings.insights.result_rows]
    return hashlib.sha256(json.dumps(shape, default=str).encode()).hexdigest()


def _outrun(insight: Insight, kept: InsightResult, key: ReadKey) -> bool:
    """The insight ran since this result was kept, and newer data was published: compute again."""
    if insight.last_run_at is None or _aware(kept.created_at) >= _aware(insight.last_run_at):
        return False
    return any(kept.snapshots.get(d) != snap for d, snap in key.snapshots.items())


def _kept(platform: Platform, cache_key: str) -> InsightResult | None:
    with platform.store.reader() as s:
        return s.get(InsightResult, cache_key)


def _keep(
    platform: Platform,
    insight_id: int,
    version: int,
    cache_key: str,
    blob: bytes,
    table: pa.Table,
    truncated: bool,
    notes: list[str],
    result: Any,
    digest: str,
    now: datetime,
) -> None:
    """Keep the result (replacing the one under the same key) and forget the oldest beyond the bound."""
    keep = platform.settings.insights.results_per_insight
    with platform.store.session() as s:
        s.execute(delete(InsightResult).where(InsightResult.key == cache_key))
        s.add(
            InsightResult(
                key=cache_key,
                insight_id=insight_id,
                version=version,
                created_at=now,
                arrow=blob,
                rows=table.num_rows,
                truncated=truncated,
                notes=notes,
                snapshots=dict(result.snapshots),
                digest=digest,
                duration_ms=result.duration_ms,
                charts={},
            )
        )
        s.flush()
        old = list(
            s.scalars(
                select(InsightResult.key)
                .where(InsightResult.insight_id == insight_id)
                .order_by(InsightResult.created_at.desc())
                .offset(keep)
            )
        )
        if old:
            s.execute(delete(InsightResult).where(InsightResult.key.in_(old)))


def keep_chart(platform: Platform, cache_key: str, chart_key: str, svg: str) -> None:
    """Remember a chart drawn for a kept result (drawn once, shown many times)."""
    with platform.store.session() as s:
        kept = s.get(InsightResult, cache_key)
        if kept is not None and len(kept.charts or {}) < 16:
            kept.charts = {**(kept.charts or {}), chart_key: svg}


def _record_run(
    platform: Platform,
    insight: Insight,
    version: InsightVersion,
    person: Person,
    values: dict[str, Any],
    trigger: str,
    status: str,
    *,
    rows: int = 0,
    duration_ms: float = 0.0,
    snapshots: dict[str, int | None] | None = None,
    digest: str | None = None,
    error: str | None = None,
) -> None:
    with platform.store.session() as s:
        s.add(
            InsightRun(
                insight_id=insight.id,
                version=version.version,
                trigger=trigger,
                user_id=person.id,
                parameters=dict(values.items()),
                status=status,
                rows=rows,
                duration_ms=duration_ms,
                snapshots=dict(snapshots or {}),
                digest=digest,
                error=error,
            )
        )


def _ipc(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as w:
        w.write_table(table)
    return sink.getvalue()


def _table(blob: bytes) -> pa.Table:
    return pa.ipc.open_stream(io.BytesIO(blob)).read_all()


def _digest(table: pa.Table) -> str:
    """The numbers of a result, as one hash: another digest means other numbers."""
    h = hashlib.sha256(str(table.schema).encode())
    for batch in table.to_batches(max_chunksize=65_536):
        h.update(json.dumps(batch.to_pylist(), default=str, sort_keys=True).encode())
    return h.hexdigest()


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def parameters_of(version: InsightVersion) -> list[Parameter]:
    return parse_parameters(version.parameters)
