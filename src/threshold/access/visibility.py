"""Which datasets a person may know exist (`dataset.know`): the rule, the SQL filter every listing uses,
and the lookups that refuse a hidden dataset exactly as they refuse one that does not exist.

A restricted dataset exists only for its own domain's members, the governance group and administrators;
open and on-request datasets exist for everyone signed in. A dataset without a published snapshot (a share
in progress) exists for no one. `knowable(viewer)` is the same rule as a SQL condition over `Dataset`
(no join needed), so a listing filters in the database and never loads what it may not show.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.orm import Session, selectinload

from threshold.access.resources import DatasetRef
from threshold.errors import NotFound
from threshold.identity.service import Person
from threshold.store.db import now_of
from threshold.store.models import Dataset, Domain, Grant


def sees_every_dataset(viewer: Person | None) -> bool:
    """The platform itself (None), administrators and the governance group know every dataset exists."""
    return viewer is None or viewer.is_admin or viewer.is_governance


def knows(viewer: Person | None, ref: DatasetRef) -> bool:
    """`dataset.know` for one dataset."""
    if sees_every_dataset(viewer) or ref.domain in viewer.domains:  # type: ignore[union-attr]
        return True
    return ref.visibility != "restricted"


def knowable(viewer: Person | None) -> ColumnElement[bool]:
    """`dataset.know` as a SQL condition over `Dataset` (published datasets the viewer may know exist)."""
    published = Dataset.snapshot_id.is_not(None)
    if sees_every_dataset(viewer):
        return published
    assert viewer is not None
    own = select(Domain.id).where(Domain.name.in_(viewer.domains)) if viewer.domains else None
    restricted_by_default = select(Domain.id).where(Domain.default_visibility == "restricted")
    visible = or_(
        Dataset.visibility.is_not(None) & (Dataset.visibility != "restricted"),
        Dataset.visibility.is_(None) & Dataset.domain_id.not_in(restricted_by_default),
        Dataset.domain_id.in_(own) if own is not None else false(),
    )
    return published & visible


def knowable_ids(viewer: Person | None) -> Select[Any]:
    """`select(Dataset.id)` of the datasets `viewer` may know: for `X.dataset_id.in_(...)` on other tables."""
    return select(Dataset.id).where(knowable(viewer))


def knowable_or_none(viewer: Person | None, column: Any) -> ColumnElement[bool]:
    """For rows that may name a dataset: rows naming none, or one the viewer may know (audit, notifications)."""
    if sees_every_dataset(viewer):
        return true()
    return or_(column.is_(None), column.in_(knowable_ids(viewer)))


def no_dataset(name: str) -> NotFound:
    """The one refusal for a dataset that does not exist *and* for one the person may not know exists."""
    return NotFound(f"no dataset {name.strip().lower()[:80]!r}")  # each interface says where to look


def find_dataset(s: Session, viewer: Person | None, name: str, *, options: Iterable[Any] = ()) -> Dataset:
    """The published dataset `name` if `viewer` may know it exists, else `no_dataset(name)`."""
    full = name.strip().lower()
    d = s.scalars(
        select(Dataset)
        .where(Dataset.full_name == full, knowable(viewer))
        .options(selectinload(Dataset.domain), *options)
    ).one_or_none()
    if d is None:
        raise no_dataset(name)
    return d


def dataset_ref(s: Session, viewer: Person | None, name: str) -> DatasetRef:
    """`find_dataset` as a `DatasetRef` (with `granted` looked up when the dataset is on request)."""
    d = find_dataset(s, viewer, name)
    return refs(s, viewer, [d.id])[d.id]


def refs(s: Session, viewer: Person | None, ids: Iterable[int] | None) -> dict[int, DatasetRef]:
    """`DatasetRef`s of existing datasets by id, every dataset when `ids` is None (whether the viewer may
    know them or not: ask `knows`)."""
    q = select(Dataset.id, Dataset.full_name, Domain.name, Dataset.visibility, Domain.default_visibility).join(
        Domain, Domain.id == Dataset.domain_id
    )
    if ids is not None:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        q = q.where(Dataset.id.in_(wanted))
    rows = s.execute(q).all()
    asked = [i for i, _, dom, vis, default in rows if (vis or default) == "on-request"]
    granted = live_grants(s, viewer, asked) if viewer is not None else set()
    return {i: DatasetRef(i, full, dom, vis or default or "open", i in granted) for i, full, dom, vis, default in rows}


def live_grants(s: Session, viewer: Person, dataset_ids: Iterable[int]) -> set[int]:
    """Datasets among `dataset_ids` on which `viewer` holds a grant that is neither revoked nor expired."""
    ids = sorted(set(dataset_ids))
    if not ids:
        return set()
    q = select(Grant.dataset_id).where(
        Grant.user_id == viewer.id,
        Grant.dataset_id.in_(ids),
        Grant.revoked_at.is_(None),
        or_(Grant.expires_at.is_(None), Grant.expires_at > now_of(s)),
    )
    return set(s.scalars(q))


# --- the same rules as SQL conditions, for listings (each beside its rule in rules.py) ------------------


def _owned_domain_ids(viewer: Person) -> Select[Any]:
    return select(Domain.id).where(Domain.name.in_(viewer.owner_of or ("",)))


def grants_decided_by(viewer: Person | None) -> ColumnElement[bool]:
    """`dataset.grant` over `Dataset`: datasets whose access requests and grants `viewer` decides."""
    if viewer is None or viewer.is_admin:
        return true()
    return Dataset.domain_id.in_(_owned_domain_ids(viewer))


def audited_by(viewer: Person | None) -> ColumnElement[bool]:
    """`dataset.audit` over `Dataset`: datasets whose audit entries `viewer` reads (owners, governance)."""
    if viewer is None or viewer.is_admin or viewer.is_governance:
        return true()
    return Dataset.domain_id.in_(_owned_domain_ids(viewer))


def written_by(viewer: Person | None) -> ColumnElement[bool]:
    """`dataset.write` over `Dataset`: datasets `viewer` may write (share into, check, derive)."""
    if viewer is None or viewer.is_admin:
        return true()
    return Dataset.domain_id.in_(select(Domain.id).where(Domain.name.in_(viewer.domains or ("",))))


def hidden_names(s: Session, viewer: Person | None) -> list[str]:
    """Names of the published datasets `viewer` may not know exist (for scrubbing free text that may quote
    them: lineage reasons, SQL expressions, error messages)."""
    if sees_every_dataset(viewer):
        return []
    return list(s.scalars(select(Dataset.full_name).where(Dataset.snapshot_id.is_not(None), ~knowable(viewer))))


def scrub(text: str | None, names: list[str]) -> str | None:
    """`text` with every dataset name of `names` (and its columns, `name.column`) replaced by a placeholder."""
    if not text or not names:
        return text
    import re

    low = text.lower()
    present = [n for n in names if n.lower() in low]  # most texts name none: no pattern to build
    if not present:
        return text
    pattern = re.compile(
        r"(?<![\w.])(" + "|".join(re.escape(n) for n in sorted(present, key=len, reverse=True)) + r")(\.\w+)?(?![\w])",
        re.IGNORECASE,
    )
    return pattern.sub("(a dataset you may not see)", text)
