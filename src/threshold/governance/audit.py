"""The audit log: append-only, searchable by owners (their data) and the governance group (all)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from threshold.access import audited_by, knowable_or_none, sees_every_dataset
from threshold.governance.results import AuditRecord
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.store.models import AuditEntry, Dataset, User


def append(
    platform: Platform,
    actor: Person | None,
    action: str,
    *,
    dataset_id: int | None = None,
    purpose: str | None = None,
    rules: list[str] | None = None,
    detail: dict[str, Any] | None = None,
    session: Session | None = None,
) -> None:
    row = {
        "at": platform.clock(),
        "actor_id": actor.id if actor else None,
        "action": action,
        "dataset_id": dataset_id,
        "purpose": purpose,
        "rules": rules or [],
        "detail": detail or {},
    }
    if session is not None:
        session.execute(insert(AuditEntry), [row])
        return
    with platform.store.session() as s:
        s.execute(insert(AuditEntry), [row])


def append_many(platform: Platform, rows: list[dict[str, Any]]) -> None:
    if rows:
        with platform.store.session() as s:
            s.execute(insert(AuditEntry), rows)


def search(
    platform: Platform,
    person: Person,
    *,
    dataset: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[AuditRecord]:
    """Entries `person` may see (`dataset.audit`): everything for the governance group and admins, else their
    domains' data and their own actions, never an entry about a dataset they may not know exists."""
    with platform.store.session() as s:
        q = (
            select(AuditEntry, User.name, Dataset.full_name)
            .outerjoin(User, User.id == AuditEntry.actor_id)
            .outerjoin(Dataset, Dataset.id == AuditEntry.dataset_id)
        )
        if not sees_every_dataset(person):
            owned = select(Dataset.id).where(audited_by(person))
            q = q.where(or_(AuditEntry.dataset_id.in_(owned), AuditEntry.actor_id == person.id))
            q = q.where(knowable_or_none(person, AuditEntry.dataset_id))
        if dataset:
            q = q.where(Dataset.full_name == dataset.lower())
        if action:
            q = q.where(AuditEntry.action.like(f"{action}%"))
        if actor:
            q = q.where(User.name == actor)
        rows = s.execute(q.order_by(AuditEntry.id.desc()).offset(offset).limit(min(limit, 10_000))).all()
    return [
        AuditRecord(
            id=e.id,
            at=(e.at if e.at.tzinfo else e.at.replace(tzinfo=UTC)).isoformat(timespec="seconds"),
            actor=who,
            action=e.action,
            dataset=ds,
            purpose=e.purpose,
            rules=e.rules,
            detail=e.detail,
        )
        for e, who, ds in rows
    ]
