"""Small reads every view of this package needs: the window of weeks, datasets, people and their domains."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from threshold.access import knowable, no_dataset
from threshold.errors import InvalidInput
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.store.models import Dataset, Domain, Membership, User


@dataclass(frozen=True)
class Window:
    """The last `weeks` weeks, this (partial) week included; `weeks=0`: everything recorded."""

    weeks: int
    since: date
    this_week: date

    @classmethod
    def of(cls, platform: Platform, weeks: int | None = None, *, today: date | None = None) -> Window:
        n = platform.settings.products.window_weeks if weeks is None else weeks
        if n < 0 or n > 520:
            raise InvalidInput("weeks must be between 0 (all) and 520")
        this = monday(today or platform.clock().date())
        since = date(1970, 1, 5) if n == 0 else this - timedelta(weeks=n - 1)
        return cls(n, since, this)

    def mondays(self, first_seen: date | None = None) -> list[date]:
        start = self.since if self.weeks else (first_seen or self.this_week)
        out, d = [], start
        while d <= self.this_week:
            out.append(d)
            d += timedelta(weeks=1)
        return out

    def as_dict(self) -> dict[str, object]:
        return {"weeks": self.weeks or None, "since": self.since.isoformat() if self.weeks else None}


@dataclass(frozen=True)
class DatasetRef:
    id: int
    full_name: str
    domain: str
    domain_id: int
    stage: str
    visibility: str
    created_at: datetime


def monday(at: datetime | date) -> date:
    """The Monday (UTC) of the week `at` falls in."""
    if isinstance(at, datetime):
        at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).date()
    return at - timedelta(days=at.weekday())


def dataset_ref(s: Session, full_name: str, viewer: Person | None = None) -> DatasetRef:
    """The published dataset `full_name`, if `viewer` may know it exists (None: the platform, every dataset);
    refused like a dataset that does not exist otherwise."""
    row = s.execute(
        select(
            Dataset.id,
            Dataset.full_name,
            Domain.name,
            Domain.id,
            Dataset.stage,
            func.coalesce(Dataset.visibility, Domain.default_visibility),
            Dataset.created_at,
        )
        .join(Domain, Domain.id == Dataset.domain_id)
        .where(Dataset.full_name == full_name.strip().lower(), knowable(viewer))
    ).first()
    if row is None:
        raise no_dataset(full_name)
    return DatasetRef(*row)


def memberships(s: Session) -> dict[int, tuple[str, ...]]:
    """user id -> the domains they belong to (sorted)."""
    out: dict[int, list[str]] = {}
    q = select(Membership.user_id, Domain.name).join(Domain, Domain.id == Membership.domain_id).order_by(Domain.name)
    for uid, name in s.connection().execute(q):
        out.setdefault(uid, []).append(name)
    return {k: tuple(v) for k, v in out.items()}


def owners_of(s: Session) -> dict[str, list[str]]:
    """domain -> names of its owners."""
    out: dict[str, list[str]] = {}
    q = select(Domain.name, User.name).join(Membership, Membership.domain_id == Domain.id)
    q = q.join(User, User.id == Membership.user_id).where(Membership.role == "owner").order_by(User.name)
    for domain, user in s.connection().execute(q):
        out.setdefault(domain, []).append(user)
    return out


def user_names(s: Session, ids: set[int] | list[int]) -> dict[int, tuple[str, str]]:
    """user id -> (name, display name)."""
    wanted = sorted(set(ids))
    out: dict[int, tuple[str, str]] = {}
    for i in range(0, len(wanted), 900):
        q = select(User.id, User.name, User.display_name).where(User.id.in_(wanted[i : i + 900]))
        out.update({uid: (n, d or n) for uid, n, d in s.connection().execute(q)})
    return out


def iso(d: datetime | date | None) -> str | None:
    if d is None:
        return None
    if isinstance(d, datetime):
        return (d if d.tzinfo else d.replace(tzinfo=UTC)).isoformat(timespec="seconds")
    return d.isoformat()


NO_DOMAIN = "(no domain)"


def as_consumer(domains: tuple[str, ...], owner: str) -> tuple[str, ...]:
    """The domains a person consumes a dataset *from*: a member of the owning domain counts there only
    (their other memberships do not make them an outside consumer); others count in each of theirs."""
    if owner in domains:
        return (owner,)
    return domains or (NO_DOMAIN,)


def with_consumer_domain(q: Any, user_col: Any, owner_domain_id: Any) -> tuple[Any, Any]:
    """Join a query on (..., user) rows to the domain each person consumes from (see `as_consumer`):
    members of the owning domain get one row with it, others one row per domain they belong to (NULL:
    none). Returns the query and the consumer domain id column, to group by."""
    own = aliased(Membership, name="own_m")
    m = aliased(Membership, name="consumer_m")
    q = q.outerjoin(own, and_(own.user_id == user_col, own.domain_id == owner_domain_id))
    q = q.outerjoin(m, and_(m.user_id == user_col, or_(own.user_id.is_(None), m.domain_id == owner_domain_id)))
    return q, m.domain_id


def domain_names(s: Session) -> dict[int, str]:
    return {int(i): str(n) for i, n in s.connection().execute(select(Domain.id, Domain.name))}
