"""Maintenance goes on the record: the dataset's history, the audit log and, when data changed, its owners."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from threshold.errors import TransientError
from threshold.identity.service import Person
from threshold.operations.results import MaintenanceEntry
from threshold.platform import Platform
from threshold.store.models import Dataset, Domain, Maintenance


def publish(
    platform: Platform,
    person: Person | None,
    dataset: str,
    *,
    kind: str,
    snapshot_id: int | None,
    previous: int | None,
    rows_before: int,
    rows_after: int,
    size_bytes: int | None,
    detail: dict[str, Any],
) -> int:
    """Record one maintenance operation; when it made a new snapshot, publish that snapshot in the same
    transaction, over the one it was built on only (compare-and-set, as shares publish). Returns its id."""
    from threshold.governance import audit

    with platform.store.session() as s:
        ds = s.scalars(select(Dataset).where(Dataset.full_name == dataset)).one()
        if snapshot_id is not None and snapshot_id != ds.snapshot_id:
            values: dict[str, Any] = {"snapshot_id": snapshot_id, "row_count": rows_after}
            if size_bytes is not None:
                values["size_bytes"] = size_bytes
            moved = s.execute(
                update(Dataset).where(Dataset.id == ds.id, Dataset.snapshot_id == previous).values(**values)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                raise TransientError(f"{dataset} was changed by a share at the same time; try again")
        entry = Maintenance(
            dataset_id=ds.id,
            kind=kind,
            snapshot_id=snapshot_id,
            previous_snapshot_id=previous,
            user_id=person.id if person else None,
            rows_before=rows_before,
            rows_after=rows_after,
            detail=detail,
        )
        s.add(entry)
        s.flush()
        audit.append(
            platform,
            person,
            f"dataset.{kind}",
            dataset_id=ds.id,
            detail={"maintenance_id": entry.id, "snapshot_id": snapshot_id, "previous_snapshot_id": previous}
            | {k: v for k, v in detail.items() if k in ("rows_lost", "lost_files", "files_before", "files_after")},
            session=s,
        )
        return int(entry.id)


def tell_owners(platform: Platform, dataset: str, kind: str, title: str, body: str, data: dict[str, Any]) -> int:
    """Put a message in the inbox of each owner of the dataset's domain."""
    from threshold.notifications.service import domain_owners, notify

    with platform.store.session() as s:
        row = s.execute(
            select(Dataset.id, Domain.name)
            .join(Domain, Domain.id == Dataset.domain_id)
            .where(Dataset.full_name == dataset)
        ).one()
    return notify(
        platform,
        domain_owners(platform, row[1]),
        kind,
        title,
        body=body,
        link=f"/datasets/{dataset}",
        dataset_id=row[0],
        data=data,
    )


def history(platform: Platform, dataset_id: int, *, limit: int = 200) -> list[MaintenanceEntry]:
    """A dataset's maintenance, newest first."""
    from threshold.store.models import User

    with platform.store.session() as s:
        rows = s.execute(
            select(Maintenance, User.name)
            .outerjoin(User, User.id == Maintenance.user_id)
            .where(Maintenance.dataset_id == dataset_id)
            .order_by(Maintenance.at.desc(), Maintenance.id.desc())
            .limit(limit)
        ).all()
    return [
        MaintenanceEntry(
            kind=m.kind,
            at=m.at.isoformat(timespec="seconds"),
            by=who,
            snapshot_id=m.snapshot_id,
            previous_snapshot_id=m.previous_snapshot_id,
            rows_before=m.rows_before,
            rows_after=m.rows_after,
            detail=m.detail,
        )
        for m, who in rows
    ]
