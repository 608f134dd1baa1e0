"""The target picture's history: versions (who changed it, when, why), the version in force at any moment,
and domains' proposals of their own target that the governance group approves or rejects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from threshold.access import DomainRef, TargetProposalRef, require
from threshold.errors import Conflict, InvalidInput, NotFound
from threshold.identity.service import Person
from threshold.maturity.models import TargetPicture, TargetProposal
from threshold.maturity.picture import DIMENSIONS, Picture, default_document, parse, with_target
from threshold.platform import Platform
from threshold.store.models import Domain, User

SINCE_EVER = datetime(1970, 1, 1, tzinfo=UTC)
"""When the shipped default picture (version 1) is in force from: before anything was measured."""
MAX_REASON = 2000


@dataclass(frozen=True)
class PictureVersion:
    version: int
    document: str
    reason: str
    author: str | None
    at: datetime
    proposal_id: int | None


@dataclass(frozen=True)
class ProposalView:
    id: int
    domain: str
    levels: dict[str, int]
    reason: str
    status: str
    proposed_by: str | None
    at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str


def ensure_default(s: Session) -> None:
    """Version 1, the shipped picture, exists (in the caller's transaction). Several workers' schedulers may
    take the first snapshot at once: the one that inserts second finds version 1 there and inserts nothing."""
    if s.scalar(select(func.count()).select_from(TargetPicture)) == 0:
        insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
        first = {
            "version": 1,
            "document": default_document(),
            "reason": "the target picture shipped with Threshold",
            "created_at": SINCE_EVER,
        }
        s.execute(insert(TargetPicture).values(first).on_conflict_do_nothing(index_elements=["version"]))


def in_force(s: Session, at: datetime | None = None) -> tuple[int, Picture]:
    """(version, picture) in force at `at` (default: now); the shipped one when none was stored yet."""
    q = select(TargetPicture.version, TargetPicture.document).order_by(TargetPicture.version.desc()).limit(1)
    if at is not None:
        q = q.where(TargetPicture.created_at <= at)
    row = s.execute(q).first()
    if row is None:
        return 1, parse(default_document())
    return int(row[0]), parse(row[1])


def version(s: Session, number: int) -> Picture:
    doc = s.scalar(select(TargetPicture.document).where(TargetPicture.version == number))
    if doc is None:
        if number == 1:
            return parse(default_document())
        raise NotFound(f"no target picture version {number}")
    return parse(doc)


def history(platform: Platform, viewer: Person) -> list[PictureVersion]:
    """Every version, newest first."""
    require(viewer, "maturity.view")
    with platform.store.reader() as s:
        rows = s.execute(
            select(TargetPicture, User.name)
            .outerjoin(User, User.id == TargetPicture.author_id)
            .order_by(TargetPicture.version.desc())
        ).all()
        if not rows:
            return [
                PictureVersion(
                    1, default_document(), "the target picture shipped with Threshold", None, SINCE_EVER, None
                )
            ]
        return [
            PictureVersion(p.version, p.document, p.reason, name, _aware(p.created_at), p.proposal_id)
            for p, name in rows
        ]


def set_picture(platform: Platform, actor: Person, document: str, *, reason: str) -> PictureVersion:
    """A new version of the target picture (governance group): validated first, kept with who and why."""
    require(actor, "maturity.target.set")
    parse(document)
    reason = _reason(reason)
    with platform.store.session() as s:
        ensure_default(s)
        return _add_version(s, platform, actor, document, reason, None)


def _add_version(
    s: Session, platform: Platform, actor: Person, document: str, reason: str, proposal_id: int | None
) -> PictureVersion:
    number = int(s.scalar(select(func.max(TargetPicture.version))) or 0) + 1
    now = platform.clock()
    last = s.scalar(select(func.max(TargetPicture.created_at)))
    if last is not None and _aware(last) > now:
        raise Conflict("the target picture has a version newer than now; check the server's clock")
    s.add(
        TargetPicture(
            version=number,
            document=document,
            reason=reason,
            author_id=actor.id,
            proposal_id=proposal_id,
            created_at=now,
        )
    )
    s.flush()
    return PictureVersion(number, document, reason, actor.name, now, proposal_id)


def propose(platform: Platform, actor: Person, domain: str, levels: dict[str, int], *, reason: str) -> ProposalView:
    """A domain proposes its own target levels; the governance group decides."""
    with platform.store.session() as s:
        d = _domain(s, domain)
        require(actor, "maturity.target.propose", DomainRef(d.name))
        _, picture = in_force(s)
        clean = _levels(levels, picture)
        pending = s.scalar(
            select(TargetProposal.id).where(TargetProposal.domain_id == d.id, TargetProposal.status == "pending")
        )
        if pending is not None:
            raise Conflict(f"{d.name} already has a target proposal waiting (#{pending}): it is decided first")
        p = TargetProposal(
            domain_id=d.id, levels=clean, reason=_reason(reason), proposed_by_id=actor.id, created_at=platform.clock()
        )
        s.add(p)
        s.flush()
        return _proposal_view(s, p)


def decide(platform: Platform, actor: Person, proposal_id: int, *, approve: bool, note: str = "") -> ProposalView:
    """Approve (the domain's target in a new picture version) or reject a pending proposal."""
    with platform.store.session() as s:
        p = s.get(TargetProposal, proposal_id)
        if p is None:
            raise NotFound(f"no target proposal #{proposal_id}")
        domain = s.get(Domain, p.domain_id)
        assert domain is not None
        require(actor, "maturity.target.approve", TargetProposalRef(domain.name, p.proposed_by_id))
        if p.status != "pending":
            raise Conflict(f"target proposal #{proposal_id} was already {p.status}")
        if not approve and not note.strip():
            raise InvalidInput("a rejection needs a reason (--note)")
        p.status = "approved" if approve else "rejected"
        p.decided_by_id, p.decided_at, p.decision_note = actor.id, platform.clock(), note.strip()[:MAX_REASON]
        if approve:
            ensure_default(s)
            number, _ = in_force(s)
            current = s.scalar(select(TargetPicture.document).where(TargetPicture.version == number))
            document = with_target(current or default_document(), domain.name, p.levels)
            parse(document)
            why = f"target of {domain.name} proposed by {_name(s, p.proposed_by_id)}: {p.reason}"
            _add_version(s, platform, actor, document, why[:MAX_REASON], p.id)
        s.flush()
        return _proposal_view(s, p)


def proposals(platform: Platform, viewer: Person, *, status: str | None = None) -> list[ProposalView]:
    require(viewer, "maturity.view")
    with platform.store.reader() as s:
        q = select(TargetProposal).order_by(TargetProposal.id.desc()).limit(200)
        if status:
            q = q.where(TargetProposal.status == status)
        return [_proposal_view(s, p) for p in s.scalars(q)]


def _levels(levels: dict[str, int], picture: Picture) -> dict[str, int]:
    if not levels:
        raise InvalidInput("a target names at least one dimension's level (e.g. sharing=3)")
    out = {}
    for dim, level in levels.items():
        if dim != "default" and dim not in DIMENSIONS:
            raise InvalidInput(f"no dimension {dim!r} (known: {', '.join(DIMENSIONS)})")
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= picture.top:
            raise InvalidInput(f"{dim}: level {level!r} is not between 1 and {picture.top}")
        if dim != "default" and level < picture.baseline[dim]:
            raise InvalidInput(f"{dim}: level {level} is below the organisation baseline {picture.baseline[dim]}")
        out[dim] = level
    if "default" not in out:
        missing = [d for d in DIMENSIONS if d not in out]
        if missing:
            out["default"] = max(picture.baseline[d] for d in missing)
    return out


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("say why (--reason): every change of the target picture keeps its reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"the reason is longer than {MAX_REASON} characters")
    return reason


def _domain(s: Session, name: str) -> Domain:
    d = s.scalars(select(Domain).where(Domain.name == name.strip().lower())).one_or_none()
    if d is None:
        raise NotFound(f"no domain {name.strip().lower()[:63]!r}; see `threshold domains`")
    return d


def _name(s: Session, user_id: int | None) -> str | None:
    return None if user_id is None else s.scalar(select(User.name).where(User.id == user_id))


def _proposal_view(s: Session, p: TargetProposal) -> ProposalView:
    domain = s.scalar(select(Domain.name).where(Domain.id == p.domain_id)) or ""
    return ProposalView(
        p.id,
        domain,
        dict(p.levels),
        p.reason,
        p.status,
        _name(s, p.proposed_by_id),
        _aware(p.created_at),
        _name(s, p.decided_by_id),
        _aware(p.decided_at) if p.decided_at else None,
        p.decision_note,
    )


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)
