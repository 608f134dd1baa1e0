"""What owners control directly: tags, visibility and allowed purposes; and "what can I see and why"."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from threshold import events
from threshold.access import VISIBILITIES, DatasetRef, DomainRef, find_dataset, may, require
from threshold.access.reading import decide
from threshold.errors import Denied, InvalidInput, NotFound
from threshold.events import TagAdded
from threshold.governance.audit import append
from threshold.governance.results import (
    AllowedPurposes,
    ColumnAccess,
    DatasetVisibility,
    DomainVisibility,
    Explanation,
    RowFilterShown,
    TagRemoved,
    TagSet,
)
from threshold.identity.service import Person, get_person
from threshold.platform import Platform
from threshold.store.models import Dataset, Domain, Tag

TAG_RE = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$")


def check_may_set_visibility(person: Person, domain: str) -> None:
    """Whether `person` may classify datasets of `domain` (visibility, tags, purposes): its owners, admins and
    the governance group. Sharing asks it before a share that chooses a visibility, so nothing is shared when
    the choice would be refused. The decision point's `dataset.manage`, asked of the domain."""
    require(person, "dataset.manage", DomainRef(domain))


def _owned_dataset(platform: Platform, s: Any, person: Person, target: str) -> tuple[Dataset, str | None]:
    """`domain.dataset` or `domain.dataset.column` -> (dataset, column), checking `person` owns its domain."""
    parts = target.lower().split(".")
    if len(parts) not in (2, 3):
        raise InvalidInput("name a dataset as domain.dataset, or a column as domain.dataset.column")
    d = find_dataset(s, person, ".".join(parts[:2]), options=[selectinload(Dataset.columns)])
    require(person, "dataset.manage", DatasetRef.of(d))
    column = parts[2] if len(parts) == 3 else None
    if column is not None and column not in {c.name for c in d.columns}:
        raise NotFound(f"{d.full_name} has no column {column!r}")
    return d, column


def tag(platform: Platform, person: Person, target: str, tag_name: str) -> TagSet:
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
        events.publish(platform, TagAdded(session=s, dataset=d.full_name, column=column, tag=tag_name))
        return TagSet(dataset=d.full_name, column=column, tag=tag_name)


def untag(platform: Platform, person: Person, target: str, tag_name: str) -> TagRemoved:
    tag_name = tag_name.strip().lower()
    with platform.store.session() as s:
        d, column = _owned_dataset(platform, s, person, target)
        where = [Tag.dataset_id == d.id, Tag.tag == tag_name]
        where.append(Tag.column_name == column if column else Tag.column_name.is_(None))
        # A tag inherited with the scope of values from another domain is that domain's classification:
        # removing it here would loosen what its owners decided (domains tighten, never loosen).
        removed = getattr(s.execute(delete(Tag).where(*where, Tag.scope_domain_id.is_(None))), "rowcount", 0)
        if not removed:
            if s.scalar(select(Tag.id).where(*where).limit(1)) is not None:
                raise Denied(
                    f"{target} carries {tag_name!r} from where its values come from (lineage); it is removed only "
                    "at the source (rule: guardrail.origin)"
                )
            raise NotFound(f"{target} has no tag {tag_name!r}")
        append(platform, person, "tag.removed", dataset_id=d.id, detail={"column": column, "tag": tag_name}, session=s)
        return TagRemoved(dataset=d.full_name, column=column, removed=tag_name)


def set_visibility(
    platform: Platform, person: Person, target: str, visibility: str
) -> DatasetVisibility | DomainVisibility:
    """A dataset's visibility, or a domain's default when `target` is a domain name."""
    if visibility not in VISIBILITIES:
        raise InvalidInput(f"visibility must be one of {', '.join(VISIBILITIES)}")
    with platform.store.session() as s:
        if "." not in target:
            dom = s.scalars(select(Domain).where(Domain.name == target.lower())).one_or_none()
            if dom is None:
                raise NotFound(f"no domain {target[:60]!r}")
            require(person, "domain.own", DomainRef(dom.name))
            dom.default_visibility = visibility
            append(
                platform, person, "visibility.domain", detail={"domain": dom.name, "visibility": visibility}, session=s
            )
            return DomainVisibility(domain=dom.name, default_visibility=visibility)
        d, column = _owned_dataset(platform, s, person, target)
        if column:
            raise InvalidInput("visibility is set on a dataset or a domain, not a column")
        d.visibility = visibility
        append(platform, person, "visibility.dataset", dataset_id=d.id, detail={"visibility": visibility}, session=s)
        return DatasetVisibility(dataset=d.full_name, visibility=visibility)


def set_purposes(platform: Platform, person: Person, target: str, purposes: list[str]) -> AllowedPurposes:
    clean = sorted({p.strip().lower() for p in purposes if p.strip()})
    with platform.store.session() as s:
        d, column = _owned_dataset(platform, s, person, target)
        if column:
            raise InvalidInput("allowed purposes are set on a dataset")
        d.allowed_purposes = clean
        append(platform, person, "purposes.set", dataset_id=d.id, detail={"purposes": clean}, session=s)
        return AllowedPurposes(dataset=d.full_name, allowed_purposes=clean)


def explain(
    platform: Platform, asker: Person, dataset: str, reader: str | None = None, purpose: str | None = None
) -> Explanation:
    """What `reader` (default: the asker) can see of `dataset` for `purpose`, and which rule decided each part.

    Anyone may ask about themselves; owners of the dataset's domain, admins and the governance group
    may ask about anyone.
    """
    person = get_person(platform, reader) if reader else asker
    with platform.store.session() as s:
        d = find_dataset(s, asker, dataset)
        ref = DatasetRef.of(d)
    if person.id != asker.id:
        require(asker, "dataset.explain.others", ref)
    decision = decide(platform, person, [ref.name], purpose)[0]
    reader_ref = replace(ref, granted=decision.grant_id is not None)
    allowed_to = {
        a: bool(may(person, a, reader_ref, platform=platform))
        for a in ("dataset.know", "dataset.read", "dataset.request", "dataset.usage.names", "dataset.manage")
    }
    masked = any(c.mask for c in decision.columns)
    hidden = decision.hidden  # the reader asked about may not know it exists: say only that they cannot read it
    return Explanation(
        dataset=decision.dataset,
        allowed=decision.allowed,
        rule=decision.rule,
        reason=f"{person.name} may not read {ref.name}" if hidden else decision.reason,
        purpose=decision.purpose,
        visibility=decision.visibility,
        grant=decision.grant_id,
        columns=[] if hidden else [ColumnAccess(c.name, c.visible, c.mask, c.rules, c.why) for c in decision.columns],
        row_filters=[] if hidden else [RowFilterShown(r, where) for r, where in decision.row_filters],
        reader=person.name,
        reader_domains=list(person.domains),
        may=allowed_to,
        can_request=allowed_to["dataset.request"] and (not decision.allowed or masked or bool(decision.row_filters)),
        how_to_see_more=(
            f"request access for a purpose that needs the masked columns: threshold request {ref.name} "
            "--purpose ... ; owners may approve it with personal data allowed"
        )
        if decision.allowed and masked
        else None,
    )
