"""What the catalog answers with: typed results, each with its JSON form (`to_json`), the keys in the order the
REST API, the pages' `.json` twins and the CLI send them. The forms are written out field by field (a record
of a wide dataset is rendered on every page view; `dataclasses.asdict` copies it deeply first)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DatasetSummary:
    """One dataset as a listing shows it (what was shared lately, a search hit, the head of its record)."""

    name: str
    domain: str
    title: str | None
    description: str | None
    stage: str
    visibility: str
    """Its own visibility, else its domain's default."""
    rows: int | None
    columns: int
    tags: list[str]
    """Every tag on it or on one of its columns, sorted."""
    shared_by: str | None
    updated_at: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "domain": self.domain,
            "title": self.title,
            "description": self.description,
            "stage": self.stage,
            "visibility": self.visibility,
            "rows": self.rows,
            "columns": self.columns,
            "tags": list(self.tags),
            "shared_by": self.shared_by,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class RecordTag:
    """A tag on the dataset or on one of its columns: who or what put it there (`origin`: detected, owner,
    policy …), how sure a detector was, and why."""

    tag: str
    origin: str
    confidence: float | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"tag": self.tag, "origin": self.origin, "confidence": self.confidence, "reason": self.reason}


@dataclass(frozen=True)
class RecordSource:
    """The file or table the latest share read, with its size and sha256."""

    name: str
    format: str
    size: int | None
    sha256: str | None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "format": self.format, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class RecordColumn:
    """One column of the schema: its label, type and tags, and its profile. `min`, `max` and `top_values` are
    lake data: empty for a viewer who may not read the column's values (`catalog.service._hide_protected_values`)."""

    name: str
    label: str
    type: str
    tags: list[RecordTag]
    null_fraction: float | None
    distinct_estimate: int | None
    min: str | None
    max: str | None
    top_values: list[Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "tags": [t.to_json() for t in self.tags],
            "null_fraction": self.null_fraction,
            "distinct_estimate": self.distinct_estimate,
            "min": self.min,
            "max": self.max,
            "top_values": self.top_values,
        }


@dataclass(frozen=True)
class RecordSnapshot:
    """One snapshot the dataset published: a share (its mode, source and sha256, notes) or maintenance that
    rewrote its files (`mode` compact, rollback or drop-lost; no source), with the rows it added and kept."""

    snapshot_id: int
    at: str | None
    by: str | None
    mode: str
    rows_added: int
    rows_total: int
    source: str
    sha256: str | None
    notes: list[Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "snapshot_id": self.snapshot_id,
            "at": self.at,
            "by": self.by,
            "mode": self.mode,
            "rows_added": self.rows_added,
            "rows_total": self.rows_total,
            "source": self.source,
            "sha256": self.sha256,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class ExampleQuery:
    """A question a business user can run as it is, built from the dataset's own columns."""

    title: str
    sql: str

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "sql": self.sql}


@dataclass(frozen=True)
class DatasetRecord(DatasetSummary):
    """A dataset's record (`catalog.service.describe`): its summary, then why it was collected, its current
    snapshot and size, where it came from and who shared it first, its tags, its schema with per-column tags
    and profile, every snapshot it published (newest first) and questions to start from."""

    purpose: str
    """Why the data was collected."""
    snapshot_id: int | None
    size_bytes: int
    created_at: str | None
    source: RecordSource | None
    """What the latest share read; None before the first share."""
    first_shared_by: str | None
    dataset_tags: list[RecordTag]
    """Tags on the dataset itself (a column's are on its `RecordColumn`)."""
    schema: list[RecordColumn]
    history: list[RecordSnapshot]
    example_queries: list[ExampleQuery]

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        out["purpose"] = self.purpose
        out["snapshot_id"] = self.snapshot_id
        out["size_bytes"] = self.size_bytes
        out["created_at"] = self.created_at
        out["source"] = self.source.to_json() if self.source else None
        out["first_shared_by"] = self.first_shared_by
        out["dataset_tags"] = [t.to_json() for t in self.dataset_tags]
        out["schema"] = [c.to_json() for c in self.schema]
        out["history"] = [h.to_json() for h in self.history]
        out["example_queries"] = [q.to_json() for q in self.example_queries]
        return out
