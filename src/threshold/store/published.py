"""The snapshots a dataset has published: its shares' and those of maintenance that changed its files.

Readers read only these; time travel picks among them; the clean-up treats every other snapshot of
the lake table as abandoned (a write that was never published), and snapshot expiry keeps those the
time-travel promise still needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from threshold.store.models import Maintenance, Share


@dataclass(frozen=True)
class Published:
    snapshot_id: int
    at: datetime
    kind: str
    """The share's mode (`create`, `append`, `replace`) or the maintenance kind (`compact`, `rollback`...)."""


def published_snapshots(session: Session, dataset_id: int) -> list[Published]:
    """Oldest first; a snapshot published twice (a rollback to it) appears at each time."""
    rows = [
        Published(int(sid), _aware(at), str(mode))
        for sid, at, mode in session.execute(
            select(Share.snapshot_id, Share.at, Share.mode).where(Share.dataset_id == dataset_id)
        )
    ]
    rows += [
        Published(int(sid), _aware(at), str(kind))
        for sid, at, kind in session.execute(
            select(Maintenance.snapshot_id, Maintenance.at, Maintenance.kind).where(
                Maintenance.dataset_id == dataset_id, Maintenance.snapshot_id.is_not(None)
            )
        )
        if sid is not None
    ]
    return sorted(rows, key=lambda p: p.at)


def snapshot_at(published: list[Published], at: datetime) -> int | None:
    """The snapshot a reader got at `at`: the last one published by then."""
    chosen = None
    for p in published:
        if p.at <= at:
            chosen = p.snapshot_id
    return chosen


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)
