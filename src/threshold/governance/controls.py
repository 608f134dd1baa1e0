"""What owners control directly: tags, visibility and allowed purposes; and "what can I see and why"."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from threshold.errors import Denied, InvalidInput, NotFound
from threshold.governance.audit import append
from threshold.governance.decide import VISIBILITIES, decide
from threshold.identity.service import Person, get_person
from threshold.platform import Platform
from threshold.store.models import Dataset, Domain, Tag

TAG_RE = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$")


def check_may_set_visibility(person: Person, domain: str) -> None:
    """Whether `person` may classify datasets of `domain` (visibility, tags, purposes): its owners, admins and
    the governance group. Sharing asks it before a share that chooses a visibility, so nothing is shared when
    the choice would be refused."""
    if not (person.is_admin or person.is_governance or domain in person.owner_of):
        raise Denied(f"{person.name} does not own domain {domain!r} (rule: dataset.owner)")


def _owned_dataset(platform: Platform, s: Any, person: Person, target: str) -> tuple[Dataset, str | None]:
    """`domain.dataset` or `domain.dataset.column` -> (dataset, column), checking `person` owns its domain."""
    parts = target.lower().split(".")
    if len(parts) not in (2, 3):
        raise InvalidInput("name a dataset as domain.dataset, or a column as domain.dataset.column")
    d = s.scalars(
        select(Dataset)
        .where(Dataset.full_name == ".".join(parts[:2]))
        .options(selectinload(Dataset.domain), selectinload(Dataset.columns))
    ).one_or_none()
    if d is None or d.snapshot_id is None:
        raise NotFound(f"no dataset {'.'.join(parts[:2])!r}")
    check_may_set_visibility(person, d.domain.name)
    column = parts[2] if len(parts) == 3 else None
    if column is not None and column not in {c.name for c in d.columns}:
        raise NotFound(f"{d.full_name} has no column {column!r}")
    return d, column


def tag(platform: Platform, person: Person, target: str, tag_name: str) -> dict[str, Any]:
    tag_name = tag_name.strip().lower()
    if not TAG_RE.match(tag_name) or len(tag_name) > 100:
        raise InvalidInput(
            f"invalid tag {tag_name[:40]!r}: use lower-case words separated by dots, e.g. personal.email"
        )
    with platform.store.session() as s:
        d, column = _owned_dataset(platform, s, person, target)
        exists = s.scalars(
            select(Tag).where(Tag.dataset_id == d.id, Tag.column_name == column, Tag.tag == tag_name)
        ).first()
        if exists is None:
            s.add(
                Tag(
                    dataset_id=d.id,
                    column_name=column,
                    tag=tag_name,
                    origin="manual",
                    reason=f"tagged by {person.name}",
                )
            )
        append(platform, person, "tag.added", dataset_id=d.id, detail={"column": column, "tag": tag_name}, session=s)
        return {"dataset": d.full_name, "column": column, "tag": tag_name}


def untag(platform: Platform, person: Person, target: str, tag_name: str) -> dict[str, Any]:
    tag_name = tag_name.strip().lower()
    with platform.store.session() as s:
        d, column = _owned_dataset(platform, s, person, target)
        q = delete(Tag).where(Tag.dataset_id == d.id, Tag.tag == tag_name)
        q = q.where(Tag.column_name == column) if column else q.where(Tag.column_name.is_(None))
        removed = getattr(s.execute(q), "rowcount", 0)
        if not removed:
            raise NotFound(f"{target} has no tag {tag_name!r}")
        append(platform, person, "tag.removed", dataset_id=d.id, detail={"column": column, "tag": tag_name}, session=s)
        return {"dataset": d.full_name, "column": column, "removed": tag_name}


def set_visibility(platform: Platform, person: Person, target: str, visibility: str) -> dict[str, Any]:
    """A dataset's visibility, or a domain's default when `target` is a domain name."""
    if visibility not in VISIBILITIES:
        raise InvalidInput(f"visibility must be one of {', '.join(VISIBILITIES)}")
    with platform.store.session() as s:
        if "." not in target:
            dom = s.scalars(select(Domain).where(Domain.name == target.lower())).one_or_none()
            if dom is None:
                raise NotFound(f"no domain {target[:60]!r}")
            if not (person.is_admin or dom.name in person.owner_of):
                raise Denied(f"{person.name} does not own domain {dom.name!r} (rule: domain.owner)")
            dom.default_visibility = visibility
            append(
                platform, person, "visibility.domain", detail={"domain": dom.name, "visibility": visibility}, session=s
            )
            return {"domain": dom.name, "default_visibility": visibility}
        d, column = _owned_dataset(platform, s, person, target)
        if column:
            raise InvalidInput("visibility is set on a dataset or a domain, not a column")
        d.visibility = visibility
        append(platform, person, "visibility.dataset", dataset_id=d.id, detail={"visibility": visibility}, session=s)
        return {"dataset": d.full_name, "visibility": visibility}


def set_purposes(platform: Platform, person: Person, target: str, purposes: list[str]) -> dict[str, Any]:
    clean = sorted({p.strip().lower() for p in purposes if p.strip()})
    with platform.store.session() as s:
        d, column = _owned_dataset(platform, s, person, target)
        if column:
            raise InvalidInput("allowed purposes are set on a dataset")
        d.allowed_purposes = clean
        append(platform, person, "purposes.set", dataset_id=d.id, detail={"purposes": clean}, session=s)
        return {"dataset": d.full_name, "allowed_purposes": clean}


def explain(
    platform: Platform, asker: Person, dataset: str, reader: str | None = None, purpose: str | None = None
) -> dict[str, Any]:
    """What `reader` (default: the asker) can see of `dataset` for `purpose`, and which rule decided each part.

    Anyone may ask about themselves; owners of the dataset's domain, admins and the governance group
    may ask about anyone.
    """
    person = get_person(platform, reader) if reader else asker
    with platform.store.session() as s:
        d = s.scalars(
            select(Dataset).where(Dataset.full_name == dataset.lower()).options(selectinload(Dataset.domain))
        ).one_or_none()
        if d is None or d.snapshot_id is None or _hidden_from(asker, d):
            raise NotFound(f"no dataset {dataset[:80]!r}")
        domain = d.domain.name
    if person.id != asker.id and not (asker.is_admin or asker.is_governance or domain in asker.owner_of):
        raise Denied(f"{asker.name} may explain only their own access to {d.full_name} (rule: explain.self)")
    decision = decide(platform, person, [d.full_name], purpose)[0]
    out = decision.explain() | {"reader": person.name, "reader_domains": list(person.domains)}
    if decision.allowed and any(c.mask for c in decision.columns):
        out["how_to_see_more"] = (
            f"request access for a purpose that needs the masked columns: threshold request {d.full_name} "
            "--purpose ... ; owners may approve it with personal data allowed"
        )
    return out


def _hidden_from(asker: Person, d: Dataset) -> bool:
    """As in the catalog: another domain's restricted dataset does not exist for the asker."""
    restricted = (d.visibility or d.domain.default_visibility) == "restricted"
    return restricted and not (asker.is_admin or asker.is_governance or d.domain.name in asker.domains)
