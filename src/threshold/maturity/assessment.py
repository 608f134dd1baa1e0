"""Self-assessment: what cannot be measured, answered per domain against the target picture's questions.
Every submission is a new version (who answered, when); a snapshot counts the newest one at its moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from threshold.access import DomainRef, require
from threshold.errors import InvalidInput
from threshold.identity.service import Person
from threshold.maturity.models import Assessment
from threshold.maturity.picture import Picture
from threshold.maturity.signals import Signal
from threshold.maturity.target import _domain, in_force
from threshold.platform import Platform
from threshold.store.models import User

SCALE = 4
"""Answers run from 0 (not at all) to 4 (fully)."""


@dataclass(frozen=True)
class AssessmentView:
    domain: str
    number: int
    answers: dict[str, int]
    note: str
    answered_by: str | None
    at: datetime


def assess(
    platform: Platform, actor: Person, domain: str, answers: dict[str, Any], *, note: str = ""
) -> AssessmentView:
    """Record a new version of `domain`'s self-assessment (its members answer)."""
    with platform.store.session() as s:
        d = _domain(s, domain)
        require(actor, "maturity.assess", DomainRef(d.name))
        _, picture = in_force(s)
        clean = _answers(answers, picture)
        number = int(s.scalar(select(func.max(Assessment.number)).where(Assessment.domain_id == d.id)) or 0) + 1
        a = Assessment(
            domain_id=d.id,
            number=number,
            answers=clean,
            note=(note or "").strip()[:2000],
            answered_by_id=actor.id,
            at=platform.clock(),
        )
        s.add(a)
        s.flush()
        return AssessmentView(d.name, number, clean, a.note, actor.name, a.at)


def history(platform: Platform, viewer: Person, domain: str) -> list[AssessmentView]:
    """Every version of the domain's self-assessment, newest first."""
    require(viewer, "maturity.view")
    with platform.store.reader() as s:
        d = _domain(s, domain)
        rows = s.execute(
            select(Assessment, User.name)
            .outerjoin(User, User.id == Assessment.answered_by_id)
            .where(Assessment.domain_id == d.id)
            .order_by(Assessment.number.desc())
            .limit(100)
        ).all()
        return [AssessmentView(d.name, a.number, dict(a.answers), a.note, n, _aware(a.at)) for a, n in rows]


def newest(s: Session, at: datetime) -> dict[int, dict[str, int]]:
    """{domain id: answers} of each domain's newest self-assessment at `at` (one query)."""
    latest = (
        select(Assessment.domain_id, func.max(Assessment.number).label("n"))
        .where(Assessment.at <= at)
        .group_by(Assessment.domain_id)
        .subquery()
    )
    rows = s.execute(
        select(Assessment.domain_id, Assessment.answers).join(
            latest, (latest.c.domain_id == Assessment.domain_id) & (latest.c.n == Assessment.number)
        )
    )
    return {int(d): dict(a) for d, a in rows}


def signals(picture: Picture, answers: dict[str, int]) -> dict[str, list[Signal]]:
    """{dimension: [one signal per answered question]}; questions left unanswered count for nothing."""
    out: dict[str, list[Signal]] = {}
    for q in picture.questions:
        if q.id in answers:
            v = int(answers[q.id])
            out.setdefault(q.dimension, []).append(
                Signal(
                    f"self.{q.id}",
                    q.text,
                    float(v),
                    float(SCALE),
                    round(v / SCALE, 4),
                    f"self-assessed answer / {SCALE}",
                    source="self-assessment",
                )
            )
    return out


def _answers(answers: dict[str, Any], picture: Picture) -> dict[str, int]:
    if not isinstance(answers, dict) or not answers:
        raise InvalidInput("answers: expected question id: answer (0-4) pairs")
    known = {q.id for q in picture.questions}
    out = {}
    for qid, v in answers.items():
        if qid not in known:
            raise InvalidInput(
                f"no question {str(qid)[:60]!r} in the target picture (known: {', '.join(sorted(known))})"
            )
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= SCALE:
            raise InvalidInput(f"{qid}: answer {v!r} is not between 0 and {SCALE}")
        out[str(qid)] = v
    return out


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)
