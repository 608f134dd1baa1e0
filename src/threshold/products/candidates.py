"""Promotion candidates: datasets whose use justifies making them products, with an explainable score.

Score = sum over the signals of `weight x min(value / target, 1)` (weights and targets in
`settings.products`; by default they sum to 100). A dataset used by at least
`candidate_min_people` people whose score reaches `candidate_threshold` becomes a candidate: its
domain's owners get it in their inbox and on the domain's webhook. Anyone can also nominate a
dataset with a reason. Candidates are reviewed by people: promoted (`lifecycle.promote`) or
dismissed with a reason; nothing is promoted silently.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select

from threshold.access import DomainRef, may, require
from threshold.access.privacy import HIDDEN, sights
from threshold.errors import Conflict, Denied, InvalidInput
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.products import dependents, rollup
from threshold.products.lookup import Window, dataset_ref, iso
from threshold.products.models import Candidate, Nomination
from threshold.products.results import (
    CandidateListing,
    CandidateRow,
    Dismissed,
    Needs,
    Nominated,
    NominationRow,
    OwnerNeed,
    Watching,
)
from threshold.settings import ProductSettings
from threshold.store.db import now_of
from threshold.store.models import AccessRequest, Dataset, Domain, Grant, Share, User

SIGNALS = ("people", "domains", "repeat", "questions", "purposes", "dependents", "demand")
ACTIVE_STAGES = ("shared", "candidate")
"""Stages from which a dataset can become a candidate (products are products already)."""


@dataclass
class Signals:
    dataset_id: int
    name: str
    domain: str
    stage: str
    people: int = 0
    domains: set[str] = field(default_factory=set)
    repeat: int = 0
    questions: int = 0
    purposes: set[str] = field(default_factory=set)
    dependents: int = 0
    nominations: int = 0
    denied_people: int = 0
    waiting: int = 0
    queries: int = 0

    def value(self, signal: str) -> int:
        return {
            "people": self.people,
            "domains": len(self.domains),
            "repeat": self.repeat,
            "questions": self.questions,
            "purposes": len(self.purposes),
            "dependents": self.dependents,
            "demand": self.nominations + self.denied_people + self.waiting,
        }[signal]


def total(sig: Signals, settings: ProductSettings) -> float:
    """The score alone (what ranking and the threshold need), without the sentences."""
    points = 0.0
    for name in SIGNALS:
        weight = float(getattr(settings, f"weight_{name}"))
        points += round(weight * min(sig.value(name) / int(getattr(settings, f"target_{name}")), 1.0), 1)
    return round(points, 1)


def score(sig: Signals, settings: ProductSettings) -> tuple[float, list[dict[str, Any]]]:
    """The score and one reason per signal: value, target, weight, points, and a sentence."""
    reasons: list[dict[str, Any]] = []
    for name in SIGNALS:
        weight = float(getattr(settings, f"weight_{name}"))
        target = int(getattr(settings, f"target_{name}"))
        value = sig.value(name)
        points = round(weight * min(value / target, 1.0), 1) if weight else 0.0
        reasons.append(
            {
                "signal": name,
                "value": value,
                "target": target,
                "weight": weight,
                "points": points,
                "text": _sentence(name, sig, settings),
            }
        )
    reasons.sort(key=lambda r: (-r["points"], SIGNALS.index(r["signal"])))
    return round(sum(r["points"] for r in reasons), 1), reasons


def _sentence(name: str, sig: Signals, settings: ProductSettings) -> str:
    v = sig.value(name)
    if name == "people":
        return f"{v} {'person' if v == 1 else 'people'} used it"
    if name == "domains":
        return f"used from {v} other domain{'s' if v != 1 else ''}" + (
            f": {', '.join(sorted(sig.domains))}" if v else ""
        )
    if name == "repeat":
        return f"{v} {'person' if v == 1 else 'people'} came back in {settings.repeat_weeks} or more weeks"
    if name == "questions":
        return f"{v} recurring question{'s' if v != 1 else ''}, each asked by {settings.recurring_people}+ people"
    if name == "purposes":
        return f"{v} purpose{'s' if v != 1 else ''}" + (f": {', '.join(sorted(sig.purposes))}" if v else "")
    if name == "dependents":
        return f"{v} downstream dependent{'s' if v != 1 else ''}"
    parts = [
        f"{sig.nominations} nomination{'s' if sig.nominations != 1 else ''}",
        f"{sig.denied_people} {'person' if sig.denied_people == 1 else 'people'} refused a read",
        f"{sig.waiting} access request{'s' if sig.waiting != 1 else ''} waiting",
    ]
    return "unmet demand: " + ", ".join(parts)


def compute(platform: Platform, window: Window) -> tuple[dict[int, Signals], str]:
    """Signals of every dataset that was used or nominated in the window; and a note about lineage.

    For the settings' window they come from `usage_signals` (kept current by every refresh); another
    window is aggregated from the weekly rollups on the spot (slower on a large log)."""
    from threshold.products import signals

    rollup.refresh(platform)
    since_at = datetime.combine(window.since, datetime.min.time(), UTC)
    with platform.store.session() as s:
        conn = s.connection()
        meta = {
            i: (n, dom, st)
            for i, n, dom, st in conn.execute(
                select(Dataset.id, Dataset.full_name, Domain.name, Dataset.stage)
                .join(Domain, Domain.id == Dataset.domain_id)
                .where(Dataset.snapshot_id.is_not(None))
            )
        }
        if window.since == signals.window_since(platform) and window.weeks:
            values = signals.stored(s)
        else:
            values = signals.compute(s, platform, window.since)
        granted = conn.execute(
            select(Grant.dataset_id, Grant.purposes).where(
                Grant.revoked_at.is_(None), or_(Grant.expires_at.is_(None), Grant.expires_at > now_of(s))
            )
        ).all()
        nominated = conn.execute(
            select(Nomination.dataset_id, func.count(func.distinct(Nomination.user_id)))
            .where(Nomination.created_at >= since_at)
            .group_by(Nomination.dataset_id)
        ).all()
        waiting = conn.execute(
            select(AccessRequest.dataset_id, func.count(AccessRequest.id))
            .where(AccessRequest.status == "pending")
            .group_by(AccessRequest.dataset_id)
        ).all()
    out: dict[int, Signals] = {}

    def sig(i: int) -> Signals | None:
        if i not in meta:
            return None
        if i not in out:
            n, dom, st = meta[i]
            out[i] = Signals(i, n, dom, st)
        return out[i]

    for dataset_id, v in values.items():
        if (x := sig(dataset_id)) is not None:
            x.people, x.domains, x.repeat, x.questions = v.people, set(v.domains), v.repeat, v.questions
            x.purposes, x.denied_people, x.queries = set(v.purposes), v.denied_people, v.queries
    for dataset_id, granted_purposes in granted:
        if dataset_id in out:
            out[dataset_id].purposes.update(str(p) for p in granted_purposes or [])
    for dataset_id, n in nominated:
        if (x := sig(dataset_id)) is not None:
            x.nominations = int(n)
    for dataset_id, n in waiting:
        if dataset_id in out:
            out[dataset_id].waiting = int(n)
    counts, note = dependents.downstream_counts(platform)
    for dataset_id, n in counts.items():
        if dataset_id in out:
            out[dataset_id].dependents = n
    return out, note


def list_candidates(
    platform: Platform,
    *,
    viewer: Person | None = None,
    include: tuple[str, ...] = ("open",),
    weeks: int | None = None,
    page: int = 1,
    per_page: int = 10,
) -> CandidateListing:
    """Candidates ranked by live score, with why; new ones are announced. What promoting each would need
    (owner, contract, SLO) comes with the candidates of the page asked for."""
    if page < 1 or not 1 <= per_page <= 1000:
        raise InvalidInput("page starts at 1; per_page is between 1 and 1000")
    rollup.refresh(platform)
    window = Window.of(platform, weeks)
    settings = platform.settings.products
    signals, note = compute(platform, window)
    totals = {i: total(sig, settings) for i, sig in signals.items()}
    scan(platform, signals, totals)
    with platform.store.session() as s:
        rows = list(s.scalars(select(Candidate)))
        seen = sights(s, viewer, platform=platform)
        meta = {
            i: (n, dom, st)
            for i, n, dom, st in s.connection().execute(
                select(Dataset.id, Dataset.full_name, Domain.name, Dataset.stage).join(
                    Domain, Domain.id == Dataset.domain_id
                )
            )
        }
        reviewer_ids = [c.reviewed_by_id for c in rows if c.reviewed_by_id]
        reviewers = dict(s.connection().execute(select(User.id, User.name).where(User.id.in_(reviewer_ids))).all())
    out: list[dict[str, Any]] = []
    for c in rows:
        if c.status not in include or c.dataset_id not in meta or not seen.get(c.dataset_id, HIDDEN).exists:
            continue
        name, domain, stage = meta[c.dataset_id]
        sig = signals.get(c.dataset_id) or Signals(c.dataset_id, name, domain, stage)
        points, reasons = score(sig, settings)
        out.append(
            {
                "dataset": name,
                "domain": domain,
                "stage": stage,
                "status": c.status,
                "score": points,
                "threshold": settings.candidate_threshold,
                "people": sig.people,
                "queries": sig.queries,
                "nominated": c.nominated,
                "detected_at": iso(c.detected_at),
                "score_when_detected": c.score,
                "reasons": reasons,
                "why": "; ".join(r["text"] for r in reasons if r["points"] > 0),
                "reviewed_by": reviewers.get(c.reviewed_by_id) if c.reviewed_by_id else None,
                "review_reason": c.review_reason or None,
                "may_review": bool(may(viewer, "product.promote", DomainRef(domain))),
            }
        )
    out.sort(key=lambda x: (x["status"] != "open", -x["score"], x["dataset"]))
    for rank, item in enumerate(out, start=1):
        item["rank"] = rank
    count = len(out)
    out = out[(page - 1) * per_page : page * per_page]
    for item in out:
        if item["status"] == "open":
            item["needs"] = needs(platform, item["dataset"], viewer=viewer)
    known = {c.dataset_id for c in rows}
    near = sorted(
        (
            i
            for i, sig in signals.items()
            if sig.stage == "shared"
            and i not in known
            and totals[i] >= settings.candidate_threshold / 2
            and seen.get(i, HIDDEN).exists
        ),
        key=lambda i: (-totals[i], signals[i].name),
    )[:20]
    watching: list[Watching] = []
    for i in near:
        points, reasons = score(signals[i], settings)
        watching.append(
            Watching(
                dataset=signals[i].name,
                domain=signals[i].domain,
                score=points,
                people=signals[i].people,
                why="; ".join(r["text"] for r in reasons if r["points"] > 0),
            )
        )
    watching.sort(key=lambda x: (-x.score, x.dataset))
    return CandidateListing(
        window=window.as_dict(),
        threshold=settings.candidate_threshold,
        min_people=settings.candidate_min_people,
        weights={
            n: {"weight": getattr(settings, f"weight_{n}"), "target": getattr(settings, f"target_{n}")} for n in SIGNALS
        },
        candidates=[CandidateRow(**item) for item in out],
        total=count,
        page=page,
        per_page=per_page,
        pages=max(1, -(-count // per_page)),
        watching=watching[:20],
        notes=[note] if note else [],
    )


def qualifies(sig: Signals, total: float, settings: ProductSettings) -> bool:
    return (
        sig.stage in ACTIVE_STAGES
        and sig.people >= settings.candidate_min_people
        and total >= settings.candidate_threshold
    )


def scan(platform: Platform, signals: dict[int, Signals], totals: dict[int, float]) -> list[str]:
    """Record datasets that newly qualify as open candidates and tell their domain's owners."""
    from threshold.notifications.service import domain_owners, emit, notify

    settings = platform.settings.products
    fresh: list[tuple[Signals, float, list[Any]]] = []
    with platform.store.session() as s:
        known = set(s.scalars(select(Candidate.dataset_id)))
    if all(i in known or not qualifies(sig, totals[i], settings) for i, sig in signals.items()):
        return []  # the common case: nothing new, and no write
    with platform.store.session() as s:
        rollup.lock_state(s)  # one scan at a time: a candidate is announced once
        known = set(s.scalars(select(Candidate.dataset_id)))
        for i, sig in signals.items():
            if i in known or not qualifies(sig, totals[i], settings):
                continue
            points, reasons = score(sig, settings)
            s.add(Candidate(dataset_id=i, status="open", score=points, reasons=reasons))
            ds = s.get(Dataset, i)
            if ds is not None and ds.stage == "shared":
                ds.stage = "candidate"
            fresh.append((sig, points, reasons))
    for sig, points, reasons in fresh:
        why = "; ".join(r["text"] for r in reasons if r["points"] > 0)
        notify(
            platform,
            domain_owners(platform, sig.domain),
            "candidate.new",
            f"{sig.name} is a promotion candidate (score {points:g})",
            body=why,
            link=f"/candidates#{sig.name}",
            dataset_id=sig.dataset_id,
            data={"dataset": sig.name, "score": points},
        )
        emit(platform, sig.domain, "candidate.new", {"dataset": sig.name, "score": points, "reasons": reasons})
    return [sig.name for sig, _t, _r in fresh]


def needs(platform: Platform, dataset: str, *, viewer: Person | None = None) -> Needs:
    """What promoting a dataset would take: an owner, a contract, checks, a freshness SLO."""
    from threshold.products import owners
    from threshold.products.contracts import draft_summary

    owner: OwnerNeed | None = None
    try:
        found = owners.suggest(platform, dataset, viewer=viewer)
        top = next((x for x in found.suggestions if x.status != "declined"), None)
        owner = OwnerNeed(
            suggested=top.user if top else None,
            score=top.score if top else None,
            proposed_to=found.proposed_to,
            accepted_by=found.accepted_by,
        )
    except Denied:
        owner = None
    contract = draft_summary(platform, dataset)
    return Needs(
        owner=owner,
        contract=contract,
        freshness_hours=suggested_freshness(platform, dataset),
        steps=[
            f"threshold owners suggest {dataset}",
            f"threshold contract export {dataset} > contract.yaml   (edit, then)",
            f"threshold promote {dataset} --owner USER --contract contract.yaml",
        ],
    )


def suggested_freshness(platform: Platform, dataset: str) -> int | None:
    """A freshness SLO from how often the dataset is shared again: 1.5 x the median gap, in hours."""
    with platform.store.session() as s:
        ref = dataset_ref(s, dataset)
        times = [
            rollup.aware(t) for t in s.scalars(select(Share.at).where(Share.dataset_id == ref.id).order_by(Share.at))
        ]
    gaps = [(b - a).total_seconds() / 3600 for a, b in zip(times, times[1:], strict=False) if b > a]
    if not gaps:
        return None
    return max(1, round(statistics.median(gaps) * 1.5))


def nominate(platform: Platform, person: Person, dataset: str, *, reason: str) -> Nominated:
    """Anyone may nominate a dataset they can see, with a reason; it goes to its domain's owners for review."""
    from threshold.notifications.service import domain_owners, emit, notify

    if not reason or not reason.strip():
        raise InvalidInput("a nomination needs a reason (--reason): what would you use it for, and why as a product?")
    with platform.store.session() as s:
        ref = dataset_ref(s, dataset, person)
        if ref.stage not in ACTIVE_STAGES:
            raise Conflict(f"{ref.full_name} is {ref.stage} already; nominations are for shared datasets")
        s.add(Nomination(dataset_id=ref.id, user_id=person.id, reason=reason.strip()))
        cand = s.scalars(select(Candidate).where(Candidate.dataset_id == ref.id)).one_or_none()
        reopened = cand is not None and cand.status == "dismissed"
        new = cand is None or reopened
        if cand is None:
            cand = Candidate(dataset_id=ref.id, status="open", nominated=True, score=0.0, reasons=[])
            s.add(cand)
        elif reopened:
            cand.status, cand.nominated = "open", True
        ds = s.get(Dataset, ref.id)
        assert ds is not None
        ds.stage = "candidate"
        count = s.scalar(select(func.count(Nomination.id)).where(Nomination.dataset_id == ref.id)) or 0
    if new:
        notify(
            platform,
            domain_owners(platform, ref.domain),
            "candidate.new",
            f"{person.name} nominated {ref.full_name} for promotion",
            body=reason.strip(),
            link=f"/candidates#{ref.full_name}",
            dataset_id=ref.id,
            data={"dataset": ref.full_name, "nominated_by": person.name},
        )
        emit(
            platform,
            ref.domain,
            "candidate.new",
            {"dataset": ref.full_name, "nominated_by": person.name, "reason": reason.strip()},
        )
    return Nominated(
        dataset=ref.full_name,
        nominated_by=person.name,
        reason=reason.strip(),
        nominations=count,
        candidate="open",
        new_candidate=new,
    )


def nominations(platform: Platform, dataset: str) -> list[NominationRow]:
    with platform.store.session() as s:
        ref = dataset_ref(s, dataset)
        rows = s.execute(
            select(Nomination, User.name)
            .join(User, User.id == Nomination.user_id)
            .where(Nomination.dataset_id == ref.id)
            .order_by(Nomination.id)
        ).all()
    return [NominationRow(by=name, reason=n.reason, at=iso(n.created_at)) for n, name in rows]


def dismiss(platform: Platform, person: Person, dataset: str, *, reason: str) -> Dismissed:
    """An owner of the dataset's domain reviews a candidate and decides not now, saying why."""
    if not reason or not reason.strip():
        raise InvalidInput("dismissing a candidate needs a reason (--reason) the people who use it can read")
    with platform.store.session() as s:
        ref = dataset_ref(s, dataset, person)
        require(person, "product.promote", DomainRef(ref.domain))
        cand = s.scalars(select(Candidate).where(Candidate.dataset_id == ref.id)).one_or_none()
        if cand is None or cand.status != "open":
            raise Conflict(f"{ref.full_name} is not an open candidate")
        cand.status, cand.review_reason = "dismissed", reason.strip()
        cand.reviewed_by_id, cand.reviewed_at = person.id, platform.clock()
        ds = s.get(Dataset, ref.id)
        if ds is not None and ds.stage == "candidate":
            ds.stage = "shared"
    return Dismissed(dataset=ref.full_name, status="dismissed", reason=reason.strip(), by=person.name)
