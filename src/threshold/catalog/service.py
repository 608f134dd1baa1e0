"""The catalog: a dataset's record, what a viewer may know exists, what was shared lately (search: `search.py`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from threshold.access import knowable, no_dataset
from threshold.catalog.results import (
    DatasetRecord,
    DatasetSummary,
    ExampleQuery,
    RecordColumn,
    RecordSnapshot,
    RecordSource,
    RecordTag,
)
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.store.models import Dataset, Domain, Share


def summary_of(d: Dataset) -> DatasetSummary:
    """A dataset as listings show it (its domain, columns, tags and sharer loaded)."""
    return DatasetSummary(**_summary_fields(d))


def _summary_fields(d: Dataset) -> dict[str, Any]:
    """The summary's fields, the head of a record too."""
    return {
        "name": d.full_name,
        "domain": d.domain.name,
        "title": d.title,
        "description": d.description,
        "stage": d.stage,
        "visibility": d.visibility or d.domain.default_visibility,
        "rows": d.row_count,
        "columns": len(d.columns),
        "tags": sorted({t.tag for t in d.tags}),
        "shared_by": d.created_by.name if d.created_by else None,
        "updated_at": _iso(d.updated_at),
    }


def _history(s: Any, d: Dataset) -> list[RecordSnapshot]:
    """Every snapshot the dataset published, newest first: its shares, and maintenance that rewrote its files
    (compaction, repair) with the rows it kept."""
    from threshold.store.models import Maintenance, User

    entries = [
        (
            sh.at,
            RecordSnapshot(
                snapshot_id=sh.snapshot_id,
                at=_iso(sh.at),
                by=sh.user.name if sh.user else None,
                mode=sh.mode,
                rows_added=sh.rows_added,
                rows_total=sh.rows_total,
                source=sh.source_name,
                sha256=sh.source_sha256,
                notes=sh.notes,
            ),
        )
        for sh in d.shares
    ]
    for m, who in s.execute(
        select(Maintenance, User.name)
        .outerjoin(User, User.id == Maintenance.user_id)
        .where(Maintenance.dataset_id == d.id, Maintenance.snapshot_id.is_not(None))
    ):
        entries.append(
            (
                m.at,
                RecordSnapshot(
                    snapshot_id=m.snapshot_id,
                    at=_iso(m.at),
                    by=who,
                    mode=m.kind,
                    rows_added=m.rows_after - m.rows_before,
                    rows_total=m.rows_after,
                    source="",
                    sha256=None,
                    notes=[str(m.detail.get("summary", ""))] if m.detail.get("summary") else [],
                ),
            )
        )
    entries.sort(key=lambda e: (_aware(e[0]), str(e[1].mode) in _MAINTENANCE), reverse=True)
    return [e for _, e in entries]


_MAINTENANCE = ("compact", "rollback", "drop-lost")


def _aware(at: Any) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def describe(platform: Platform, full_name: str, *, viewer: Person | None = None) -> DatasetRecord:
    """A dataset's record: schema with labels, tags and profile, and its history of shares."""
    with platform.store.session() as s:
        d = s.scalars(
            select(Dataset)
            .join(Domain, Domain.id == Dataset.domain_id)
            .where(Dataset.full_name == full_name.lower(), knowable(viewer))
            .options(
                selectinload(Dataset.domain),
                selectinload(Dataset.columns),
                selectinload(Dataset.tags),
                selectinload(Dataset.created_by),
                selectinload(Dataset.shares).selectinload(Share.user),
            )
        ).one_or_none()
        if d is None:
            raise no_dataset(full_name)
        tags_by_col: dict[str | None, list[RecordTag]] = {}
        for t in d.tags:
            tags_by_col.setdefault(t.column_name, []).append(RecordTag(t.tag, t.origin, t.confidence, t.reason))
        latest = d.shares[-1] if d.shares else None
        first = d.shares[0] if d.shares else None
        schema = [
            RecordColumn(
                name=c.name,
                label=c.label,
                type=c.type,
                tags=tags_by_col.get(c.name, []),
                null_fraction=c.null_fraction,
                distinct_estimate=c.distinct_estimate,
                min=c.min_value,
                max=c.max_value,
                top_values=c.top_values,
            )
            for c in d.columns
        ]
        record = DatasetRecord(
            **_summary_fields(d),
            purpose=d.purpose,
            snapshot_id=d.snapshot_id,
            size_bytes=d.size_bytes,
            created_at=_iso(d.created_at),
            source=RecordSource(latest.source_name, latest.source_format, latest.source_size, latest.source_sha256)
            if latest
            else None,
            first_shared_by=first.user.name if first and first.user else None,
            dataset_tags=tags_by_col.get(None, []),
            schema=schema,
            history=_history(s, d),
            example_queries=example_queries(d.full_name, [(c.name, c.type) for c in d.columns]),
        )
    if viewer is None:
        return record
    return replace(record, schema=_hide_protected_values(platform, viewer, record.name, record.schema))


def _hide_protected_values(
    platform: Platform, viewer: Person, full_name: str, schema: list[RecordColumn]
) -> list[RecordColumn]:
    """The columns as `viewer` may see them. Profile values (min, max, most common) are lake data
    (`dataset.read_data`): none for a column the viewer reads masked, and none at all when they read the
    dataset row-filtered or may not read it."""
    from threshold.access import may
    from threshold.access.reading import decide

    d = decide(platform, viewer, [full_name], None)[0]
    return [
        c if may(viewer, "dataset.read_data", (d, c.name)) else replace(c, min=None, max=None, top_values=[])
        for c in schema
    ]


def recently_shared(platform: Platform, limit: int = 10, *, viewer: Person | None = None) -> list[DatasetSummary]:
    """The datasets the viewer may know, newest change first."""
    with platform.store.session() as s:
        rows = s.scalars(
            select(Dataset)
            .join(Domain, Domain.id == Dataset.domain_id)
            .where(knowable(viewer))
            .options(
                selectinload(Dataset.domain),
                selectinload(Dataset.columns),
                selectinload(Dataset.tags),
                selectinload(Dataset.created_by),
            )
            .order_by(Dataset.updated_at.desc(), Dataset.id.desc())
            .limit(limit)
        ).all()
        return [summary_of(d) for d in rows]


def example_queries(full_name: str, columns: list[tuple[str, str]]) -> list[ExampleQuery]:
    """Questions a business user can run as-is, built from the dataset's own columns."""
    examples = [ExampleQuery("See the first rows", f"SELECT * FROM {full_name} LIMIT 20")]
    examples.append(ExampleQuery("Count the rows", f"SELECT count(*) AS row_count FROM {full_name}"))
    text = [n for n, t in columns if t == "VARCHAR"]
    numbers = [n for n, t in columns if t in ("INTEGER", "BIGINT", "DOUBLE", "FLOAT") or t.startswith("DECIMAL")]
    dates = [n for n, t in columns if t in ("DATE", "TIMESTAMP", "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE")]
    if text and numbers:
        g, m = text[0], numbers[0]
        examples.append(
            ExampleQuery(
                f"Total {m} by {g}",
                f"SELECT {g}, sum({m}) AS total_{m}, count(*) AS rows\nFROM {full_name}\n"
                f"GROUP BY {g}\nORDER BY total_{m} DESC\nLIMIT 10",
            )
        )
    if dates:
        dcol = dates[0]
        measure = f", sum({numbers[0]}) AS total_{numbers[0]}" if numbers else ""
        examples.append(
            ExampleQuery(
                f"Rows per month of {dcol}",
                f"SELECT date_trunc('month', {dcol}) AS month, count(*) AS rows{measure}\n"
                f"FROM {full_name}\nGROUP BY month\nORDER BY month",
            )
        )
    return examples


def _iso(d: datetime | None) -> str | None:
    if d is None:
        return None
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).isoformat(timespec="seconds")
