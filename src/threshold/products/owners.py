"""Finding a data product's owner by working backward from the data, with the evidence for each person.

Who shared it and who appends to it; the owners of its domain; the owner of the source it came from
and of the datasets it is derived from (lineage); who knows it best from the usage record (its
heaviest long-term users, the people who first asked its recurring questions). Each piece of
evidence is worth points (below); people are ranked by their sum.

Ownership is proposed to one person at a time. They accept or decline with a reason; a decline is
recorded and ownership is proposed to the next person in the ranking.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from threshold.access import knowable, refs, require
from threshold.access.privacy import sight
from threshold.access.resources import OwnershipRef
from threshold.errors import Conflict, Denied, InvalidInput, NotFound
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.products import dependents, rollup
from threshold.products.lookup import dataset_ref, iso, owners_of
from threshold.products.models import OwnerDecision, Product, UsageQuestionSummary, UsageWeekly
from threshold.products.results import (
    Evidence,
    OwnerDecided,
    OwnerDecisionRow,
    OwnerSuggestion,
    OwnerSuggestions,
    Proposal,
    ProposalWaiting,
)
from threshold.settings import OwnerEvidencePoints
from threshold.store.models import Dataset, Domain, Membership, Share, User

_PAST = {"append": "appended", "replace": "replaced", "create": "created"}


def suggest(platform: Platform, dataset: str, *, viewer: Person | None = None) -> OwnerSuggestions:
    """Ranked owner suggestions with their evidence, and where the proposal stands."""
    rollup.refresh(platform)
    settings = platform.settings.products
    points = settings.owner_points
    with platform.store.session() as s:
        ref = dataset_ref(s, dataset, viewer)
        seen = sight(s, viewer, ref.id, platform=platform)
        if not seen.names:
            raise Denied(
                f"owner suggestions name the people who use {ref.full_name}: they are shown to its producers and "
                "the governance group (rule privacy.aggregates)"
            )
        conn = s.connection()
        shares = conn.execute(
            select(Share.user_id, Share.at, Share.mode, Share.source_name)
            .where(Share.dataset_id == ref.id)
            .order_by(Share.at, Share.id)
        ).all()
        domain_owners = owners_of(s).get(ref.domain, [])
        usage = conn.execute(
            select(UsageWeekly.user_id, func.count(func.distinct(UsageWeekly.week)), func.sum(UsageWeekly.queries))
            .where(UsageWeekly.dataset_id == ref.id, UsageWeekly.queries > 0)
            .group_by(UsageWeekly.user_id)
        ).all()
        questions = _first_askers(s, ref.id, settings.recurring_people)
        decisions = list(
            s.scalars(select(OwnerDecision).where(OwnerDecision.dataset_id == ref.id).order_by(OwnerDecision.id))
        )
        first_week = s.scalar(select(func.min(UsageWeekly.week)).where(UsageWeekly.dataset_id == ref.id))
        product_owner = s.scalar(select(Product.owner_id).where(Product.dataset_id == ref.id))
    people = _Directory(platform)
    evidence: dict[int, list[Evidence]] = defaultdict(list)
    notes: list[str] = []

    def add(uid: int | None, kind: str, points: float, text: str) -> None:
        if uid is not None:
            evidence[uid].append(Evidence(kind, round(points, 1), text))

    _from_shares(shares, add, points)
    people.load(names=domain_owners)
    for name in domain_owners:
        add(people.id_of(name), "domain_owner", points.domain_owner, f"owner of domain {ref.domain}")
    _from_lineage(platform, ref.full_name, people, add, notes, viewer)
    weeks_total = _weeks_since(first_week, platform.clock())
    for uid, weeks, n in usage:
        if weeks >= settings.repeat_weeks:
            share = min(weeks / max(min(weeks_total, settings.window_weeks), 1), 1.0)
            add(uid, "heavy_user", points.heavy_user_max * share, f"used it in {weeks} weeks ({int(n)} queries)")
    _from_questions(questions, add, points)
    domains_of = _domains_of(platform, list(evidence))
    for uid in list(evidence):
        if ref.domain in domains_of.get(uid, ()):
            add(uid, "member", points.member, f"member of {ref.domain}")
    people.load(
        ids=[
            *evidence,
            *(d.user_id for d in decisions),
            *(d.proposed_by_id for d in decisions),
            *(d.decided_by_id for d in decisions),
            product_owner,
        ]
    )
    evidence = {uid: items for uid, items in evidence.items() if uid in people.by_id}
    by_id = people.by_id
    status = _status(decisions)
    ranked = sorted(evidence.items(), key=lambda kv: (-sum(e.points for e in kv[1]), by_id[kv[0]][0]))
    suggestions: list[OwnerSuggestion] = []
    for rank, (uid, items) in enumerate(ranked, start=1):
        items.sort(key=lambda e: -e.points)
        st = status.get(uid)
        suggestions.append(
            OwnerSuggestion(
                rank=rank,
                user=by_id[uid][0],
                display_name=by_id[uid][1],
                domains=list(domains_of.get(uid, ())),
                score=round(sum(e.points for e in items), 1),
                evidence=items,
                status=st.status if st else None,
                reason=st.reason if st else None,
            )
        )
    proposed = next((d for d in reversed(decisions) if d.status == "proposed"), None)
    accepted = next((d for d in reversed(decisions) if d.status == "accepted"), None)
    return OwnerSuggestions(
        dataset=ref.full_name,
        domain=ref.domain,
        suggestions=suggestions,
        proposed_to=by_id[proposed.user_id][0] if proposed else None,
        accepted_by=by_id[accepted.user_id][0] if accepted else None,
        owner=by_id[product_owner][0] if product_owner in by_id else None,
        next=next((x.user for x in suggestions if x.status not in ("declined", "proposed")), None),
        history=[_decision(d, by_id) for d in decisions],
        notes=notes,
    )


def _from_shares(shares: Sequence[Any], add: Any, points: OwnerEvidencePoints) -> None:
    if not shares:
        return
    first = shares[0]
    add(
        first.user_id,
        "shared",
        points.shared_first,
        f"shared it first on {_day(first.at)} from {(first.source_name or '?').strip('<>')}",
    )
    later: dict[int, list[Any]] = defaultdict(list)
    for sh in shares[1:]:
        if sh.user_id is not None:
            later[sh.user_id].append(sh)
    for uid, items in later.items():
        modes = sorted({_PAST.get(i.mode, i.mode) for i in items})
        add(
            uid,
            "appends",
            min(points.append_each * len(items), points.append_max),
            f"{'/'.join(modes)} it {len(items)} time{'s' if len(items) > 1 else ''}, last on {_day(items[-1].at)}",
        )


def _day(at: datetime) -> str:
    return str(iso(at))[:10]


def _from_lineage(
    platform: Platform, full_name: str, people: _Directory, add: Any, notes: list[str], viewer: Person | None
) -> None:
    """The owner of the source it came from, the owner of its derivation, the owners of its upstream datasets."""
    points = platform.settings.products.owner_points
    up = dependents.upstream(platform, full_name, viewer=viewer)
    if not up.available:
        notes.append(f"source and upstream owners: {up.note or dependents.NOT_AVAILABLE}")
    with platform.store.session() as s:
        owners = owners_of(s)
    seen: set[tuple[int | None, str]] = set()
    for item in up.items:
        kind, name = item.get("kind"), item.get("name")
        if kind in ("file", "deleted"):
            continue  # the shared file: its sharer already counts as "shared it first"
        listed = item.get("owners") or []
        if kind == "dataset" and not listed and item.get("domain"):
            listed = owners.get(item["domain"], [])
        for owner in listed:
            uid = people.id_of(owner)
            if (uid, str(kind)) in seen:
                continue  # one piece of evidence per person and kind, however many upstream nodes they own
            seen.add((uid, str(kind)))
            if kind == "source":
                add(uid, "source_owner", points.source_owner, f"owns its source {name}")
            elif kind == "job":
                add(uid, "writes_it", points.writes_it, f"owns {name}, which writes it")
            else:
                add(uid, "upstream_owner", points.upstream_owner, f"owns upstream {name}")
    try:
        from threshold.lineage.models import Derivation

        with platform.store.session() as s:
            row = s.execute(
                select(Derivation.owner_id)
                .join(Dataset, Dataset.id == Derivation.dataset_id)
                .where(Dataset.full_name == full_name)
            ).first()
        if row is not None:
            add(row[0], "writes_it", points.writes_it, "owns the derivation that computes it")
    except Exception:
        notes.append(f"derivation owner: {dependents.NOT_AVAILABLE}")


def _first_askers(s: Session, dataset_id: int, recurring: int) -> list[int]:
    """Who first asked each recurring question of a dataset (one person per question)."""
    S = UsageQuestionSummary
    rows = (
        s.connection()
        .execute(
            select(S.first_user_id).where(
                S.dataset_id == dataset_id, S.browse.is_(False), S.people >= recurring, S.first_user_id.is_not(None)
            )
        )
        .all()
    )
    return [int(uid) for (uid,) in rows if uid is not None]


def _from_questions(askers: list[int], add: Any, points: OwnerEvidencePoints) -> None:
    firsts: dict[int, int] = defaultdict(int)
    for uid in askers:
        firsts[uid] += 1
    for uid, n in firsts.items():
        add(
            uid,
            "question_author",
            min(points.question_each * n, points.question_max),
            f"first asked {n} of its recurring questions" if n > 1 else "first asked one of its recurring questions",
        )


def _domains_of(platform: Platform, ids: list[int]) -> dict[int, tuple[str, ...]]:
    out: dict[int, list[str]] = defaultdict(list)
    with platform.store.session() as s:
        q = select(Membership.user_id, Domain.name).join(Domain, Domain.id == Membership.domain_id)
        for uid, name in s.connection().execute(q.where(Membership.user_id.in_(ids)).order_by(Domain.name)):
            out[uid].append(name)
    return {k: tuple(v) for k, v in out.items()}


class _Directory:
    """Names of the people a suggestion mentions, read as needed (not the whole user table)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.by_id: dict[int, tuple[str, str]] = {}
        self.ids: dict[str, int] = {}

    def load(self, *, ids: Sequence[int | None] = (), names: Sequence[str] = ()) -> None:
        want_ids = sorted({i for i in ids if i is not None and i not in self.by_id})
        want_names = sorted({n for n in names if n not in self.ids})
        if not want_ids and not want_names:
            return
        with self.platform.store.session() as s:
            rows = (
                s.connection()
                .execute(
                    select(User.id, User.name, User.display_name).where(
                        or_(User.id.in_(want_ids), User.name.in_(want_names))
                    )
                )
                .all()
            )
        for uid, name, display in rows:
            self.by_id[uid] = (name, display or name)
            self.ids[name] = uid

    def id_of(self, name: str) -> int | None:
        self.load(names=[name])
        return self.ids.get(name)


def _weeks_since(first_week: Any, now: datetime) -> int:
    if first_week is None:
        return 1
    return int((rollup.monday(now) - first_week).days // 7) + 1


def _status(decisions: list[OwnerDecision]) -> dict[int, OwnerDecision]:
    """Each person's latest decision (withdrawn proposals do not count)."""
    out: dict[int, OwnerDecision] = {}
    for d in decisions:
        if d.status != "withdrawn":
            out[d.user_id] = d
    return out


def _decision(d: OwnerDecision, by_id: dict[int, tuple[str, str]]) -> OwnerDecisionRow:
    def name(uid: int | None) -> str | None:
        return by_id[uid][0] if uid in by_id else None

    return OwnerDecisionRow(
        user=name(d.user_id),
        status=d.status,
        rank=d.rank,
        reason=d.reason,
        proposed_by=name(d.proposed_by_id),
        decided_by=name(d.decided_by_id),
        proposed_at=iso(d.created_at),
        decided_at=iso(d.decided_at),
    )


def propose(platform: Platform, person: Person, dataset: str, *, to: str | None = None) -> Proposal:
    """Ask the next suggested person (or `to`) to own the dataset as a product; they get it in their inbox."""
    found = suggest(platform, dataset, viewer=person)
    with platform.store.session() as s:
        require(person, "product.propose_owner", dataset_ref(s, found.dataset, person))
    if found.owner:
        raise Conflict(f"{found.dataset} is a product already, owned by {found.owner}")
    if found.proposed_to:
        raise Conflict(
            f"ownership of {found.dataset} is proposed to {found.proposed_to} already; they accept or decline first"
        )
    target = to or found.next
    if target is None:
        raise NotFound(f"no one left to suggest as owner of {found.dataset}: every suggestion declined")
    suggestion = next((x for x in found.suggestions if x.user == target), None)
    if suggestion and suggestion.status == "declined":
        raise Conflict(f"{target} declined ownership of {found.dataset}: {suggestion.reason}")
    return _propose(platform, found, target, suggestion, proposer=person)


def _propose(
    platform: Platform,
    found: OwnerSuggestions,
    target: str,
    suggestion: OwnerSuggestion | None,
    *,
    proposer: Person | None,
) -> Proposal:
    from threshold.notifications.service import emit, notify

    with platform.store.session() as s:
        user = s.scalars(select(User).where(User.name == target)).one_or_none()
        if user is None:
            raise NotFound(f"no user {target[:60]!r}")
        ds_id = dataset_ref(s, found.dataset).id
        s.add(
            OwnerDecision(
                dataset_id=ds_id,
                user_id=user.id,
                status="proposed",
                rank=suggestion.rank if suggestion else None,
                evidence=[asdict(e) for e in suggestion.evidence] if suggestion else [],
                proposed_by_id=proposer.id if proposer else None,
            )
        )
    evidence = suggestion.evidence if suggestion else []
    why = "; ".join(e.text for e in evidence[:3]) or "named by " + (proposer.name if proposer else "the platform")
    notify(
        platform,
        [target],
        "promotion.proposed",
        f"Would you own {found.dataset} as a data product?",
        body=f"You were suggested because you {why}. Accept or decline with a reason: "
        f"threshold owners accept {found.dataset} --as {target}",
        link=f"/candidates#{found.dataset}",
        dataset_id=ds_id,
        data={"dataset": found.dataset, "rank": suggestion.rank if suggestion else None},
    )
    emit(
        platform,
        found.domain,
        "promotion.proposed",
        {"dataset": found.dataset, "owner": target, "evidence": [asdict(e) for e in evidence]},
    )
    return Proposal(
        dataset=found.dataset, proposed_to=target, rank=suggestion.rank if suggestion else None, evidence=evidence
    )


def accept(platform: Platform, person: Person, dataset: str, *, reason: str = "") -> OwnerDecided:
    """`person` agrees to own the dataset as a product (proposed to them, or among the suggestions)."""
    return _decide(platform, person, dataset, "accepted", reason)


def decline(platform: Platform, person: Person, dataset: str, *, reason: str) -> OwnerDecided:
    """`person` declines, with a reason; ownership is then proposed to the next suggestion."""
    if not reason or not reason.strip():
        raise InvalidInput("a decline needs a reason (--reason) the next person and the domain can read")
    return _decide(platform, person, dataset, "declined", reason.strip())


def _decide(platform: Platform, person: Person, dataset: str, status: str, reason: str) -> OwnerDecided:
    from threshold.notifications.service import domain_owners, notify

    with platform.store.session() as s:
        known = dataset_ref(s, dataset, person)  # a dataset the person may not know exists is not theirs to decide on
        seen = refs(s, person, [known.id])[known.id]
    found = suggest(platform, dataset, viewer=None)
    if found.owner:
        raise Conflict(f"{found.dataset} is a product already, owned by {found.owner}")
    mine = next((x for x in found.suggestions if x.user == person.name), None)
    suggested = tuple(x.user for x in found.suggestions)
    require(person, "product.decide_owner", OwnershipRef(seen, found.proposed_to, suggested))
    now = platform.clock()
    with platform.store.session() as s:
        ref = dataset_ref(s, found.dataset)
        open_one = s.scalars(
            select(OwnerDecision).where(
                OwnerDecision.dataset_id == ref.id,
                OwnerDecision.user_id == person.id,
                OwnerDecision.status == "proposed",
            )
        ).first()
        if open_one is None:
            open_one = OwnerDecision(
                dataset_id=ref.id,
                user_id=person.id,
                rank=mine.rank if mine else None,
                evidence=[asdict(e) for e in mine.evidence] if mine else [],
            )
            s.add(open_one)
        open_one.status, open_one.reason = status, reason
        open_one.decided_by_id, open_one.decided_at = person.id, now
        if status == "accepted":  # someone else's open proposal is moot now
            for other in s.scalars(
                select(OwnerDecision).where(
                    OwnerDecision.dataset_id == ref.id,
                    OwnerDecision.status == "proposed",
                    OwnerDecision.user_id != person.id,
                )
            ):
                other.status, other.decided_at = "withdrawn", now
    verb = "accepted" if status == "accepted" else "declined"
    notify(
        platform,
        domain_owners(platform, found.domain),
        f"owner.{verb}",
        f"{person.name} {verb} ownership of {found.dataset}",
        body=reason,
        link=f"/candidates#{found.dataset}",
        data={"dataset": found.dataset},
    )
    proposal = None
    if status == "declined":
        after = suggest(platform, dataset, viewer=None)
        nxt = after.next if not after.proposed_to else None
        if nxt:
            suggestion = next(x for x in after.suggestions if x.user == nxt)
            proposal = _propose(platform, after, nxt, suggestion, proposer=None)
    return OwnerDecided(dataset=found.dataset, user=person.name, status=status, reason=reason, next=proposal)


def _proposed_to(person: Person) -> Any:
    """Ownership proposals waiting for `person`'s answer, on datasets they may know (over `OwnerDecision`)."""
    return (OwnerDecision.user_id == person.id) & (OwnerDecision.status == "proposed") & knowable(person)


def proposed_count_query(person: Person) -> Select[int]:
    """How many ownership proposals wait for `person` (the length of `proposed_to`), as one count."""
    return (
        select(func.count(OwnerDecision.id))
        .join(Dataset, Dataset.id == OwnerDecision.dataset_id)
        .where(_proposed_to(person))
    )


def proposed_to(platform: Platform, person: Person) -> list[ProposalWaiting]:
    """Ownership proposals waiting for `person`'s answer (on datasets they may know), oldest first."""
    with platform.store.session() as s:
        rows = s.execute(
            select(Dataset.full_name, OwnerDecision.created_at, User.name)
            .join(Dataset, Dataset.id == OwnerDecision.dataset_id)
            .outerjoin(User, User.id == OwnerDecision.proposed_by_id)
            .where(_proposed_to(person))
            .order_by(OwnerDecision.id)
        ).all()
    return [
        ProposalWaiting(dataset=name, proposed_at=iso(at), proposed_by=by, link=f"/candidates#{name}")
        for name, at, by in rows
    ]
