"""Tasks ticked by what people do: each event a task can name, the facts a condition may test, and the
subscriber that records a completion (once per person and task, with the event's time and reference).

Only succeeded actions announce events (`threshold.events`): a refused query, a rejected request or an
error ticks nothing. The first event that completes a task counts; a repeated event changes nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from threshold import events
from threshold.literacy.models import LearningCompletion
from threshold.literacy.service import tracks_of
from threshold.platform import Platform

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Done:
    """What one event says a person did, in the terms tasks use."""

    user_id: int
    event: str
    at: datetime
    ref: str
    facts: dict[str, Any]


def _domains(datasets: tuple[str, ...]) -> int:
    return len({d.split(".", 1)[0] for d in datasets})


def _search(e: events.SearchDone) -> Done:
    # Not the words searched for: they may name a person (an e-mail address), and a completion must not
    # hold values an erasure would have to find (as usage and audit records do not).
    return Done(e.user_id, e.name, e.at, f"search: {e.results} found", {"results": e.results})


def _query(e: events.QueryDone) -> Done:
    facts = {"datasets": len(e.datasets), "domains": _domains(e.datasets), "interface": e.interface}
    return Done(e.user_id, e.name, e.at, ", ".join(e.datasets)[:300], facts)


def _explored(e: events.QuestionExplored) -> Done:
    facts = {"datasets": len(e.datasets), "domains": _domains(e.datasets), "charted": e.chart is not None}
    return Done(e.user_id, e.name, e.at, ", ".join(e.datasets)[:300], facts)


def _insight(e: events.InsightSaved) -> Done:
    facts = {"audience": e.audience, "shared": e.audience != "private"}
    return Done(e.user_id, e.name, e.at, f"insight {e.insight_id}", facts)


def _requested(e: events.AccessRequested) -> Done:
    return Done(e.user_id, e.name, e.at, f"request {e.request_id}", {"dataset": e.dataset})


def _reviewed(e: events.RequestReviewed) -> Done:
    return Done(e.user_id, e.name, e.at, f"request {e.request_id}", {"decision": e.decision})


def _reported(e: events.ProblemReported) -> Done:
    return Done(e.user_id, e.name, e.at, f"incident {e.incident_id}", {"dataset": e.dataset})


def _term(e: events.TermProposed) -> Done:
    return Done(e.user_id, e.name, e.at, f"term {e.term}"[:300], {})


def _published(e: events.DatasetPublished) -> Done:
    facts = {"described": bool((e.dataset.description or "").strip()), "mode": e.mode}
    at = e.dataset.updated_at if getattr(e.dataset, "updated_at", None) else datetime.now(UTC)
    return Done(e.user.id, e.name, at, e.dataset.full_name, facts)


READERS: dict[type[events.Event], Callable[[Any], Done]] = {
    events.SearchDone: _search,
    events.QueryDone: _query,
    events.QuestionExplored: _explored,
    events.InsightSaved: _insight,
    events.AccessRequested: _requested,
    events.RequestReviewed: _reviewed,
    events.ProblemReported: _reported,
    events.TermProposed: _term,
    events.DatasetPublished: _published,
}
"""Each event a task may name, and how its facts are read."""


class _Ticked:
    """The (person, track, task) pairs known done in this process: a completion is never undone, so an
    event whose tasks are all done for its person costs no database round trip (queries announce often)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done: set[tuple[int, str, str]] = set()


def _ticked(platform: Platform) -> _Ticked:
    t = getattr(platform, "_literacy_ticked", None)
    if t is None:
        t = _Ticked()
        platform._literacy_ticked = t  # type: ignore[attr-defined]
    return t  # type: ignore[no-any-return]


def forget(platform: Platform) -> None:
    """Drop what this process knows done (a person's completions were removed, e.g. by an erasure)."""
    t = _ticked(platform)
    with t.lock:
        t.done.clear()


def tick(platform: Platform, event: events.Event) -> None:
    """Record the tasks `event` completes (announced without a session: its action has committed)."""
    done = READERS[type(event)](event)
    todo = _todo(platform, done)
    if not todo:
        return
    with platform.store.session() as s:
        _record(s, done, todo)
    _remember(platform, done.user_id, todo)


def tick_in(platform: Platform, event: events.DatasetPublished) -> None:
    """As `tick`, inside the publishing transaction: the completion commits with the publication. A
    failure here is logged and never refuses the share (a savepoint keeps the transaction usable)."""
    done = READERS[type(event)](event)
    todo = _todo(platform, done)
    if not todo:
        return
    try:
        with event.session.begin_nested():
            _record(event.session, done, todo)
    except Exception:
        log.exception("literacy: could not record %s for user %s", done.event, done.user_id)
        return
    _remember(platform, done.user_id, todo)


def _todo(platform: Platform, done: Done) -> list[tuple[str, str]]:
    known = _ticked(platform).done
    return [
        (t.key, task.key)
        for t in tracks_of(platform)
        for task in t.tasks
        if task.event == done.event and (done.user_id, t.key, task.key) not in known and task.met_by(done.facts)
    ]


def _record(s: Session, done: Done, todo: list[tuple[str, str]]) -> None:
    """Insert the completions not yet recorded (a concurrent event may have recorded one: nothing twice)."""
    had = set(
        s.execute(
            select(LearningCompletion.track, LearningCompletion.task).where(LearningCompletion.user_id == done.user_id)
        ).all()
    )
    rows = [
        {"user_id": done.user_id, "track": tr, "task": ta, "at": done.at, "event": done.event, "ref": done.ref}
        for tr, ta in todo
        if (tr, ta) not in had
    ]
    if not rows:
        return
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert  # here: ~0.06 s to import on SQLite homes

        s.execute(pg_insert(LearningCompletion).on_conflict_do_nothing(), rows)
    else:
        s.execute(sqlite_insert(LearningCompletion).on_conflict_do_nothing(), rows)


def _remember(platform: Platform, user_id: int, todo: list[tuple[str, str]]) -> None:
    t = _ticked(platform)
    with t.lock:
        t.done.update((user_id, tr, ta) for tr, ta in todo)
