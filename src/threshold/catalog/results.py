"""What the catalog answers with: typed results, each with its JSON form (`to_json`), the keys in the order the
REST API, the pages' `.json` twins and the CLI send them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
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
        return asdict(self)
