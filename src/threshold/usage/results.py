"""What usage answers with: typed results, each with its JSON form (`to_json`), the keys in the order the REST
API, the pages' `.json` twins and `threshold usage --format json` send them. The rows inside (per domain, per
purpose, per week, per query) stay plain dicts: each is a few scalars under the keys named in its field's
comment."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class DatasetUsage:
    """One dataset's use: queries, distinct people, last use, and the breakdowns (names of people only where the
    viewer may see them, `names_visible`)."""

    dataset: str
    queries: int
    users: int
    last_used: str | None
    domains: list[dict[str, Any]]
    """{domain, users, queries}, most queries first."""
    purposes: list[dict[str, Any]]
    """{purpose, queries}."""
    names_visible: bool
    top_users: list[dict[str, Any]]
    """{user, queries}: everyone when the names are visible, else only the viewer."""
    columns: list[dict[str, Any]]
    """{column, queries}, most read first."""
    weekly: list[dict[str, Any]]
    """{week (its Monday), queries, users}, oldest first."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OrgUsage:
    """The organisation's use: queries and people in all, the most used datasets and those never used."""

    queries: int
    users: int
    most_used: list[dict[str, Any]]
    """{dataset, queries, users, last_used}."""
    never_used: list[dict[str, Any]]
    """{dataset, shared_at}."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PersonUsage:
    """What one person used: datasets with counts, and their latest queries."""

    user: str
    datasets: list[dict[str, Any]]
    """{dataset, queries, last_used}."""
    recent: list[dict[str, Any]]
    """{at, interface, purpose, status, rows, duration_ms, query (None when it read what the viewer may not
    know), datasets}."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
