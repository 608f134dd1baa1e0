"""Reads prepared once and run many times: what parsing, resolving, deciding and binding a query produced.

A dashboard, an insight or a script asks the same question again and again. Everything the gateway does
before the engine runs it depends only on the query text, the reader (who they are, their domains and
roles), the declared purpose and the metadata of the datasets (their published snapshots, columns, tags,
visibility, domains, memberships, grants and policies). The store keeps one number that changes with any
committed change to that metadata (`Store.metadata_version`); a prepared read is reused only under the
same number, before the earliest expiry of the reader's grants, and never for time travel (decided per
snapshot). Admission, limits, execution and the usage record still happen for every query.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from threshold.kept import Kept, kept_on

if TYPE_CHECKING:
    from threshold.access.reading import Decision
    from threshold.identity.service import Person
    from threshold.lake import ReadPlan
    from threshold.platform import Platform

MAX_PREPARED = 1024
"""Prepared reads kept per platform (least recently used dropped first)."""


@dataclass
class Prepared:
    bound: dict[str, Any]
    decisions: list[Decision]
    purpose: str | None
    views: dict[str, tuple[ReadPlan, str]]
    generated: str
    fingerprint: str
    text: str
    read: dict[str, list[str]] | None
    until: datetime | None = None
    """The earliest expiry of one of the reader's grants: the decision may change then."""


Key = tuple[Any, ...]


class PreparedReads(Kept[Prepared]):
    """Prepared reads of one platform, keyed on everything they depend on; one is forgotten when the
    earliest of its reader's grants ends (`Prepared.until`)."""

    def __init__(self, platform: Platform) -> None:
        super().__init__(MAX_PREPARED, lambda: platform.clock())  # the clock in force at each read (tests move it)

    def put(self, key: Hashable, value: Prepared, until: datetime | None = None) -> None:
        super().put(key, value, value.until if until is None else until)


def reads_of(platform: Platform) -> PreparedReads:
    return kept_on(platform, "_prepared_reads", lambda: PreparedReads(platform))  # type: ignore[return-value]


def key_of(version: int | None, sql: str, user: Person, purpose: str | None) -> Key | None:
    """The key of a prepared read; None when it may not be kept (the store has no metadata version)."""
    if version is None:
        return None
    reader = (user.id, user.name, user.is_admin, user.is_governance, user.domains, user.owner_of)
    return (version, sql, reader, purpose)
