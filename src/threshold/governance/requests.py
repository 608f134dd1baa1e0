"""Access requests and grants: ask with a purpose, get an answer fast, and measure how fast.

request -> auto-approved by a domain rule, or routed to the dataset's owners -> approve (grant with
expiry) / deny with reason -> revoke. Every step is audited; time-to-access is computed per domain.
"""

from __future__ import annotations

import statistics
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from threshold import events
from threshold.access import DatasetRef, find_dataset, grants_decided_by, knowable, knows, may, require
from threshold.access.policy import active_rules, sensitive_class
from threshold.errors import Conflict, Denied, InvalidInput, NotFound
from threshold.events import GrantChanged
from threshold.governance.audit import append
from threshold.governance.results import AccessTimes, Approval, GrantRow, RequestRecord, RevokedGrant
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.store.models import AccessRequest, Dataset, Domain, Grant, Tag, User

MAX_DAYS = 366


def _may_decide(person: Person, d: Dataset) -> bool:
    return bool(may(person, "dataset.grant", DatasetRef.of(d)))


def request_access(
    platform: Platform,
    person: Person,
    dataset: str,
    *,
    purpose: str,
    days: int = 90,
    columns: list[str] | None = None,
    justification: str = "",
) -> RequestRecord:
    """File a request; auto-approval rules of the owning domain may grant it at once."""
    purpose = (purpose or "").strip().lower()
    if not purpose:
        raise InvalidInput("an access request needs a purpose (--purpose)")
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"--days must be between 1 and {MAX_DAYS}")
    with platform.store.session() as s:
        d = find_dataset(s, person, dataset)
        require(person, "dataset.request", DatasetRef.of(d))
        cols = sorted(set(columns or []))
        known = {c.name for c in s.scalars(select(Dataset).where(Dataset.id == d.id)).one().columns}
        unknown = sorted(set(cols) - known)
        if unknown:
            raise InvalidInput(f"{d.full_name} has no column {', '.join(unknown)}")
        allowed = [p.lower() for p in d.allowed_purposes or []]
        if allowed and purpose not in allowed:
            raise Denied(f"{d.full_name} may be read for {', '.join(allowed)} only (rule dataset.allowed-purposes)")
        review = _purpose_compatibility(platform, s, d, person, purpose)
        pending = s.scalars(
            select(AccessRequest).where(
                AccessRequest.requester_id == person.id,
                AccessRequest.dataset_id == d.id,
                AccessRequest.purpose == purpose,
                AccessRequest.status == "pending",
            )
        ).first()
        if pending is not None:
            raise Conflict(f"request {pending.id} for {d.full_name} and {purpose!r} is already waiting")
        sensitive = sensitive_class(active_rules(platform, session=s))
        personal = {
            t.column_name
            for t in s.scalars(select(Tag).where(Tag.dataset_id == d.id))
            if t.column_name and sensitive.covers(t.tag, d.domain.name)
        }
        wants_personal = bool(personal & set(cols)) if cols else bool(personal)
        req = AccessRequest(
            requester_id=person.id,
            dataset_id=d.id,
            columns=cols,
            purpose=purpose,
            days=days,
            justification=justification,
            created_at=platform.clock(),
        )
        s.add(req)
        s.flush()
        auto = None
        for r in active_rules(platform):
            rule = r.rule
            if r.rule.kind != "auto_approve" or r.domain != d.domain.name:
                continue
            if rule.datasets and d.name not in rule.datasets and d.full_name not in rule.datasets:
                continue
            if review:  # an incompatible purpose routed to review is never approved automatically
                break
            if purpose in [p.lower() for p in rule.purposes] and (rule.personal_columns or not wants_personal):
                auto = r.rule_id
                break
        append(
            platform,
            person,
            "request.created",
            dataset_id=d.id,
            purpose=purpose,
            detail={"request": req.id, "columns": cols, "days": days},
            session=s,
        )
        if auto is not None:
            grant = _grant(s, req, None, now=platform.clock(), allows_personal=False, auto_rule=auto)
            _granted(platform, s, d.full_name, grant)
            append(
                platform,
                person,
                "request.auto-approved",
                dataset_id=d.id,
                purpose=purpose,
                rules=[auto],
                detail={"request": req.id, "grant": grant.id},
                session=s,
            )
        result = _request_record(s, req)
    events.publish(platform, events.AccessRequested(person.id, result.id, d.full_name, purpose, platform.clock()))
    if auto is None:
        _notify_owners(platform, result)
    return result


def _purpose_compatibility(platform: Platform, s: Session, d: Dataset, person: Person, purpose: str) -> str | None:
    """A `compatible_purposes` rule on why `d` was collected: refuse the request (Denied, naming the rule), or
    the rule id that routes it to review; None: compatible or no such rule."""
    from threshold.access.policy import incompatible
    from threshold.access.reading import collection_purposes

    rules = [r for r in active_rules(platform, session=s) if r.rule.kind == "compatible_purposes"]
    collected = collection_purposes(s, [d.id]).get(d.id) if rules else None
    for r in rules:
        if r.domain not in (None, d.domain.name) or (r.rule.domains and d.domain.name not in r.rule.domains):
            continue
        if r.rule.datasets and d.name not in r.rule.datasets and d.full_name not in r.rule.datasets:
            continue
        why = incompatible(r.rule, collected, purpose) if collected else None
        if why and r.rule.on_incompatible == "refuse":
            raise Denied(f"{d.full_name} was {why} (rule {r.rule_id})")
        if why:
            return r.rule_id
    return None


def _grant(
    s: Session,
    req: AccessRequest,
    approver: Person | None,
    *,
    now: datetime,
    allows_personal: bool,
    auto_rule: str | None = None,
) -> Grant:
    req.status = "approved"
    req.decided_at = now
    req.decided_by_id = approver.id if approver else None
    req.auto_rule = auto_rule
    grant = Grant(
        request_id=req.id,
        user_id=req.requester_id,
        dataset_id=req.dataset_id,
        purposes=[req.purpose],
        columns=req.columns,
        allows_personal=allows_personal,
        granted_by_id=approver.id if approver else None,
        created_at=now,
        expires_at=now + timedelta(days=req.days),
    )
    s.add(grant)
    s.flush()
    return grant


def approve(
    platform: Platform, person: Person, request_id: int, *, reason: str = "", allow_personal: bool = False
) -> Approval:
    with platform.store.session() as s:
        req = _decidable(s, person, request_id)
        d = s.get(Dataset, req.dataset_id)
        assert d is not None
        req.decision_reason = reason
        grant = _grant(s, req, person, now=platform.clock(), allows_personal=allow_personal)
        _granted(platform, s, d.full_name, grant)
        append(
            platform,
            person,
            "request.approved",
            dataset_id=d.id,
            purpose=req.purpose,
            detail={"request": req.id, "grant": grant.id, "personal": allow_personal, "reason": reason},
            session=s,
        )
        record = _request_record(s, req)
        result = Approval(**{f.name: getattr(record, f.name) for f in fields(record)}, grant=grant.id)
    events.publish(platform, events.RequestReviewed(person.id, request_id, "approved", platform.clock()))
    return result


def deny(platform: Platform, person: Person, request_id: int, *, reason: str) -> RequestRecord:
    if not reason or not reason.strip():
        raise InvalidInput("a denial needs a reason (--reason) the requester can act on")
    with platform.store.session() as s:
        req = _decidable(s, person, request_id)
        d = s.get(Dataset, req.dataset_id)
        assert d is not None
        req.status = "denied"
        req.decided_at = platform.clock()
        req.decided_by_id = person.id
        req.decision_reason = reason.strip()
        append(
            platform,
            person,
            "request.denied",
            dataset_id=d.id,
            purpose=req.purpose,
            detail={"request": req.id, "reason": reason.strip()},
            session=s,
        )
        result = _request_record(s, req)
    events.publish(platform, events.RequestReviewed(person.id, request_id, "denied", platform.clock()))
    return result


def revoke(platform: Platform, person: Person, grant_id: int, *, reason: str = "") -> RevokedGrant:
    with platform.store.session() as s:
        g = s.get(Grant, grant_id)
        d = s.get(Dataset, g.dataset_id) if g is not None else None
        if g is None or d is None or not knows(person, DatasetRef.of(d)):
            raise NotFound(f"no grant {grant_id}")
        if not (_may_decide(person, d) or g.user_id == person.id):
            raise Denied(f"only owners of {d.domain.name} or the grantee revoke grant {grant_id} (rule grant.owner)")
        if g.revoked_at is not None:
            raise Conflict(f"grant {grant_id} was revoked already")
        g.revoked_at = platform.clock()
        append(platform, person, "grant.revoked", dataset_id=d.id, detail={"grant": g.id, "reason": reason}, session=s)
        events.publish(platform, GrantChanged(s, d.full_name, g.id, g.user_id, "revoked", list(g.purposes)))
        return RevokedGrant(grant=g.id, dataset=d.full_name, revoked_at=g.revoked_at.isoformat(timespec="seconds"))


def _granted(platform: Platform, s: Session, dataset: str, grant: Grant) -> None:
    events.publish(platform, GrantChanged(s, dataset, grant.id, grant.user_id, "granted", list(grant.purposes)))


def _decidable(s: Session, person: Person, request_id: int) -> AccessRequest:
    """The request, if `person` may decide it (checked before its state, so its status never leaks)."""
    req = s.get(AccessRequest, request_id)
    d = s.get(Dataset, req.dataset_id) if req is not None else None
    if req is None or d is None or not knows(person, DatasetRef.of(d)):
        raise NotFound(f"no access request {request_id}")
    if not _may_decide(person, d):
        raise Denied(f"only owners of {d.domain.name} decide requests for {d.full_name} (rule request.owner)")
    return _pending(s, request_id)


def _pending(s: Session, request_id: int) -> AccessRequest:
    req = s.get(AccessRequest, request_id)
    if req is None:
        raise NotFound(f"no access request {request_id}")
    if req.status != "pending":
        raise Conflict(f"request {request_id} is {req.status} already")
    return req


def _request_record(s: Session, req: AccessRequest) -> RequestRecord:
    d = s.get(Dataset, req.dataset_id)
    who = s.get(User, req.requester_id)
    decider = s.get(User, req.decided_by_id) if req.decided_by_id else None
    return RequestRecord(
        id=req.id,
        dataset=d.full_name if d else None,
        domain=d.domain.name if d else None,
        requester=who.name if who else None,
        purpose=req.purpose,
        columns=req.columns,
        days=req.days,
        justification=req.justification,
        status=req.status,
        created_at=_iso(req.created_at),
        decided_at=_iso(req.decided_at),
        decided_by=decider.name if decider else None,
        reason=req.decision_reason,
        auto_rule=req.auto_rule,
        hours_to_decision=_hours(req.created_at, req.decided_at),
    )


def inbox(platform: Platform, person: Person) -> list[RequestRecord]:
    """Requests waiting for `person`: those on datasets whose grants they decide (`dataset.grant`)."""
    with platform.store.session() as s:
        decided = select(Dataset.id).where(grants_decided_by(person), knowable(person))
        q = (
            select(AccessRequest)
            .where(AccessRequest.status == "pending", AccessRequest.dataset_id.in_(decided))
            .order_by(AccessRequest.created_at)
        )
        return [_request_record(s, r) for r in s.scalars(q)]


def waiting_count_query(person: Person) -> Select[int]:
    """How many requests wait for `person` (the length of `inbox`), as one count the database makes: the
    navigation's badge asks it together with the other counts (`interface.home.waiting`)."""
    decided = select(Dataset.id).where(grants_decided_by(person), knowable(person))
    return select(func.count(AccessRequest.id)).where(
        AccessRequest.status == "pending", AccessRequest.dataset_id.in_(decided)
    )


def waiting_count(platform: Platform, person: Person) -> int:
    """How many requests wait for `person` (the length of `inbox`, counted in the database)."""
    with platform.store.session() as s:
        return int(s.scalar(waiting_count_query(person)) or 0)


def pending(platform: Platform, viewer: Person | None = None) -> list[RequestRecord]:
    """Every request still waiting for an answer across the organisation, oldest first (`governance.oversee`)."""
    require(viewer, "governance.oversee")
    with platform.store.session() as s:
        q = select(AccessRequest).where(AccessRequest.status == "pending").order_by(AccessRequest.created_at)
        return [_request_record(s, r) for r in s.scalars(q)]


def my_requests(platform: Platform, person: Person) -> list[RequestRecord]:
    """`person`'s requests, newest first (on datasets they may still know exist)."""
    with platform.store.session() as s:
        q = (
            select(AccessRequest)
            .where(AccessRequest.requester_id == person.id, AccessRequest.dataset_id.in_(_known(person)))
            .order_by(AccessRequest.id.desc())
        )
        return [_request_record(s, r) for r in s.scalars(q)]


def _known(person: Person) -> Any:
    return select(Dataset.id).where(knowable(person))


def grants(platform: Platform, person: Person, *, dataset: str | None = None) -> list[GrantRow]:
    """Grants `person` holds, or, for a dataset they own, every grant on it."""
    with platform.store.session() as s:
        q = (
            select(Grant, Dataset.full_name, User.name)
            .join(Dataset, Dataset.id == Grant.dataset_id)
            .join(User, User.id == Grant.user_id)
        )
        if dataset:
            d = find_dataset(s, person, dataset)
            q = q.where(Grant.dataset_id == d.id)
            if not _may_decide(person, d):
                q = q.where(Grant.user_id == person.id)
        else:
            q = q.where(Grant.user_id == person.id, Grant.dataset_id.in_(_known(person)))
        now = platform.clock()
        return [
            GrantRow(
                id=g.id,
                dataset=ds,
                user=who,
                purposes=g.purposes,
                columns=g.columns,
                allows_personal=g.allows_personal,
                expires_at=_iso(g.expires_at),
                revoked_at=_iso(g.revoked_at),
                active=g.revoked_at is None and (g.expires_at is None or _aware(g.expires_at) > now),
            )
            for g, ds, who in s.execute(q.order_by(Grant.id))
        ]


def time_to_access(platform: Platform) -> list[AccessTimes]:
    """Per domain: how long people waited for an answer (median, p90), decided and waiting counts."""
    now = platform.clock()
    with platform.store.session() as s:
        rows = s.execute(
            select(
                Domain.name,
                AccessRequest.created_at,
                AccessRequest.decided_at,
                AccessRequest.status,
                AccessRequest.auto_rule,
            )
            .join(Dataset, Dataset.id == AccessRequest.dataset_id)
            .join(Domain, Domain.id == Dataset.domain_id)
        ).all()
        domains = [d for (d,) in s.execute(select(Domain.name).order_by(Domain.name))]
    out = []
    for dom in domains:
        mine = [r for r in rows if r[0] == dom]
        waits = sorted(_hours(c, d) or 0.0 for _, c, d, st, _a in mine if st in ("approved", "denied") and d)
        pending = [r for r in mine if r[3] == "pending"]
        out.append(
            AccessTimes(
                domain=dom,
                requests=len(mine),
                decided=len(waits),
                auto_approved=sum(1 for r in mine if r[4]),
                waiting=len(pending),
                oldest_waiting_hours=max((_hours(r[1], now) or 0.0 for r in pending), default=None),
                median_hours=round(statistics.median(waits), 2) if waits else None,
                p90_hours=round(_percentile(waits, 0.9), 2) if waits else None,
            )
        )
    return out


def _percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    pos = (len(values) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def _iso(d: datetime | None) -> str | None:
    return _aware(d).isoformat(timespec="seconds") if d else None


def _hours(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return round((_aware(b) - _aware(a)).total_seconds() / 3600, 4)


def _notify_owners(platform: Platform, request: RequestRecord) -> None:
    """The owners of the dataset's domain get the request in their inbox and on the domain webhook."""
    from threshold.notifications.service import domain_owners, emit, notify

    notify(
        platform,
        domain_owners(platform, request.domain or ""),
        "request.waiting",
        f"{request.requester} asks for {request.dataset} ({request.purpose})",
        body=request.justification or "",
        link="/inbox",
        data={"request": request.id},
    )
    emit(platform, request.domain or "", "request.waiting", request.to_json())
