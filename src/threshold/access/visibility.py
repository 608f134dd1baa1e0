"""Which datasets a person may know exist (`dataset.know`): the rule, the SQL filter every listing uses,
and the lookups that refuse a hidden dataset exactly as they refuse one that does not exist.

A restricted dataset exists only for its own domain's members, the governance group and administrators;
open and on-request datasets exist for everyone signed in. A dataset without a published snapshot (a share
in progress) exists for no one. `knowable(viewer)` is the same rule as a SQL condition over `Dataset`
(no join needed), so a listing filters in the database and never loads what it may not show.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.orm import Session, joinedload

from threshold.access.resources import DatasetRef
from threshold.errors import NotFound
from threshold.identity.service import Person
from threshold.kept import Kept, kept_on
from threshold.store.db import now_of
from threshold.store.models import Dataset, Domain, Grant

if TYPE_CHECKING:
    from threshold.platform import Platform


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
    if sees_every_dataset(viewer):
        return _knowable_to(None)
    assert viewer is not None
    return _knowable_to(tuple(viewer.domains))


@lru_cache(maxsize=1024)
def _knowable_to(domains: tuple[str, ...] | None) -> ColumnElement[bool]:
    """`knowable` for a viewer of `domains` (None: one who sees every dataset). Kept per domains: the condition
    is SQL, evaluated by the database on each query, so it holds no decision that a change could make stale;
    built once, it spares each lookup and listing its construction and SQLAlchemy its cache key."""
    published = Dataset.snapshot_id.is_not(None)
    if domains is None:
        return published
    own = select(Domain.id).where(Domain.name.in_(domains)) if domains else None
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
    """The published dataset `name` if `viewer` may know it exists, else `no_dataset(name)`. Its domain comes
    in the same query (every caller reads it: who may know, write, own the dataset)."""
    full = name.strip().lower()
    d = s.scalars(
        select(Dataset).where(Dataset.full_name == full, knowable(viewer)).options(joinedload(Dataset.domain), *options)
    ).one_or_none()
    if d is None:
        raise no_dataset(name)
    return d


def dataset_ref(s: Session, viewer: Person | None, name: str) -> DatasetRef:
    """`find_dataset` as a `DatasetRef` (with `granted` looked up when the dataset is on request)."""
    d = find_dataset(s, viewer, name)
    return refs(s, viewer, [d.id])[d.id]


MAX_REFS_KEPT = 4096
"""Datasets looked up by name kept per platform by `known_ref` (least recently used dropped first)."""


def known_ref(platform: Platform, viewer: Person | None, name: str) -> DatasetRef:
    """`dataset_ref` in a transaction of its own, kept per (store metadata version, viewer, name): the lookup
    every request about a dataset makes first (the decision point of `Requires(..., on=...)`) reads one
    number instead of the dataset, its domain and the viewer's grants. The version moves with every committed
    change to datasets, domains, people, memberships and grants (`Store.metadata_version`), so the next
    request after a share, a grant, a revocation or a new membership sees it; a granted answer is kept only
    until the grant expires (by the platform's clock). A dataset the viewer may not know exists is kept as
    missing, and refused exactly like one that does not exist. Without the version it reads every time."""
    version = platform.store.metadata_version()  # before the read: a later change moves it past this key
    if version is None:
        with platform.store.session() as s:
            return dataset_ref(s, viewer, name)
    kept = _kept_refs(platform)
    key = (version, viewer_key(viewer), name.strip().lower())
    found = kept.get(key)
    if found is None:
        with platform.store.session() as s:
            try:
                d = find_dataset(s, viewer, name)
            except NotFound:
                d = None
            ref, until = _ref_until(s, viewer, d.id) if d is not None else (None, None)
        found = (ref,)
        kept.put(key, found, until)
    if found[0] is None:
        raise no_dataset(name)
    return found[0]


def kept_ref(platform: Platform, viewer: Person | None, name: str) -> DatasetRef | None:
    """`known_ref`'s answer when it is kept for the current metadata version and names a dataset the viewer
    may know (one read of the version, no session), else None."""
    version = platform.store.metadata_version()
    if version is None:
        return None
    found = _kept_refs(platform).get((version, viewer_key(viewer), name.strip().lower()))
    return found[0] if found is not None else None


def _kept_refs(platform: Platform) -> Kept[tuple[DatasetRef | None]]:
    return kept_on(platform, "_known_refs", lambda: Kept(MAX_REFS_KEPT, lambda: platform.clock()))


def viewer_key(viewer: Person | None) -> tuple[Any, ...] | None:
    """Everything of the viewer a kept lookup depends on (a `Person` made by hand is keyed by what it says)."""
    if viewer is None:
        return None
    return (viewer.id, viewer.name, viewer.is_admin, viewer.is_governance, viewer.domains, viewer.owner_of)


def _ref_until(s: Session, viewer: Person | None, dataset_id: int) -> tuple[DatasetRef, datetime | None]:
    """`refs` of one dataset, and when its answer ends: the first end of the viewer's live grants on it."""
    ref = refs(s, viewer, [dataset_id])[dataset_id]
    if not ref.granted or viewer is None:
        return ref, None
    ends = live_grant_ends(s, viewer, [dataset_id]).get(dataset_id, [])
    dated = [e if e.tzinfo else e.replace(tzinfo=UTC) for e in ends if e is not None]
    return ref, min(dated) if dated else None


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
    return set(live_grant_ends(s, viewer, dataset_ids))


def live_grant_ends(s: Session, viewer: Person, dataset_ids: Iterable[int]) -> dict[int, list[datetime | None]]:
    """`live_grants` with when each of them ends (None: never), per dataset."""
    ids = sorted(set(dataset_ids))
    if not ids:
        return {}
    q = select(Grant.dataset_id, Grant.expires_at).where(
        Grant.user_id == viewer.id,
        Grant.dataset_id.in_(ids),
        Grant.revoked_at.is_(None),
        or_(Grant.expires_at.is_(None), Grant.expires_at > now_of(s)),
    )
    out: dict[int, list[datetime | None]] = {}
    for dataset_id, ends in s.execute(q):
        out.setdefault(dataset_id, []).append(ends)
    return out


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
