"""Events: what a capability announces, and which capabilities listen. One in-process bus.

A lower layer never imports a higher one to tell it something: sharing announces `DatasetPublished`,
lineage and quality subscribe. Every event is a typed record listed in this module; capabilities
subscribe in their `registration.py`, loaded from the one list in `threshold.capabilities`.

When a subscriber runs is part of its contract (the `Phase` it subscribes with):

- `Phase.SYNC`: at once, in the announcer's thread. When the event carries a `session` (the
  announcer's metadata transaction), the subscriber writes in it: its rows commit or roll back with
  the announced change, and raising rolls the whole change back. Events without a session are
  announced before the work starts: raising refuses the work.
- `Phase.AFTER_COMMIT`: after the announcer's transaction committed (at once when the event has no
  session). The change is durable by then: a failing subscriber is logged and never undoes it.
- `Phase.AROUND`: a guard around an action that is not a transaction of its own (publishing a committed
  snapshot): it runs before the action, may refuse it by raising, calls `proceed()` to let it happen,
  and sees whether it succeeded. Guards nest in registration order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from sqlalchemy import event as sa_event

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from threshold.identity.service import Person
    from threshold.platform import Platform
    from threshold.store.models import Dataset

log = logging.getLogger(__name__)


class Phase(StrEnum):
    SYNC = "sync"
    AFTER_COMMIT = "after_commit"
    AROUND = "around"


@dataclass(frozen=True)
class Event:
    """Base of every event; `name` is how docs, logs and the architecture page call it."""

    name: ClassVar[str] = "event"


# --- sharing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShareStarting(Event):
    """A share into `domain` is about to read its source (SYNC subscribers may refuse it)."""

    name: ClassVar[str] = "share_starting"
    domain: str
    user: Person
    source_system: str | None


@dataclass(frozen=True)
class DatasetPublishing(Event):
    """A committed, not yet published snapshot of `dataset` (AROUND guards judge it before it is published)."""

    name: ClassVar[str] = "dataset_publishing"
    dataset: str
    snapshot_id: int
    user: Person
    mode: str
    source: Path | None
    source_name: str


@dataclass(frozen=True)
class DatasetPublished(Event):
    """A snapshot of `dataset` is being published, inside the publishing transaction `session`."""

    name: ClassVar[str] = "dataset_published"
    session: Session
    dataset: Dataset
    user: Person
    mode: str
    snapshot_id: int
    notes: list[str]
    source_info: dict[str, Any]


@dataclass(frozen=True)
class SchemaChanged(Event):
    """An append or replace changed the columns of `dataset`, inside the publishing transaction `session`."""

    name: ClassVar[str] = "schema_changed"
    session: Session
    dataset: Dataset
    user: Person
    changes: list[str]


# --- quality -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckFailed(Event):
    """A check on `dataset` failed (`fail`) or could not run (`error`) on a published snapshot; announced
    after its run is recorded and its incident opened."""

    name: ClassVar[str] = "check_failed"
    dataset: str
    check_id: int
    check_name: str
    status: str
    message: str


# --- governance ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GrantChanged(Event):
    """A grant on `dataset` for `user_id` was given or ended (`change`: `granted`, `revoked`), inside the
    transaction `session` that records it (AFTER_COMMIT subscribers see it once it holds)."""

    name: ClassVar[str] = "grant_changed"
    session: Session
    dataset: str
    grant_id: int
    user_id: int
    change: str
    purposes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TagAdded(Event):
    """A person tagged `dataset` (or its `column`) with `tag`, inside the transaction `session`."""

    name: ClassVar[str] = "tag_added"
    session: Session
    dataset: str
    column: str | None
    tag: str


# --- what people do (literacy ticks its tasks from these) ---------------------------------------------
# Announced after the action's own transaction committed, and only when it succeeded: a refused query, a
# rejected request or an error announces nothing. The payload is the minimum a listener needs.


@dataclass(frozen=True)
class SearchDone(Event):
    """`user_id` searched the catalog for `text` and found `results` datasets (they may know of)."""

    name: ClassVar[str] = "search_done"
    user_id: int
    text: str
    results: int
    at: datetime


@dataclass(frozen=True)
class QueryDone(Event):
    """A query of `user_id` read `datasets` (full names, `domain.name`) and succeeded."""

    name: ClassVar[str] = "query_done"
    user_id: int
    datasets: tuple[str, ...]
    interface: str
    at: datetime


@dataclass(frozen=True)
class QuestionExplored(Event):
    """`user_id` explored `datasets` by clicking (no SQL written) and got an answer."""

    name: ClassVar[str] = "question_explored"
    user_id: int
    datasets: tuple[str, ...]
    chart: str | None
    at: datetime


@dataclass(frozen=True)
class InsightSaved(Event):
    """`user_id` saved insight `insight_id` for `audience` (`private`, `domain`, `everyone`)."""

    name: ClassVar[str] = "insight_saved"
    user_id: int
    insight_id: int
    audience: str
    at: datetime


@dataclass(frozen=True)
class AccessRequested(Event):
    """`user_id` asked for access to `dataset` for `purpose` (request `request_id`)."""

    name: ClassVar[str] = "access_requested"
    user_id: int
    request_id: int
    dataset: str
    purpose: str
    at: datetime


@dataclass(frozen=True)
class RequestReviewed(Event):
    """`user_id` decided someone else's access request `request_id` (`decision`: approved, denied)."""

    name: ClassVar[str] = "request_reviewed"
    user_id: int
    request_id: int
    decision: str
    at: datetime


@dataclass(frozen=True)
class ProblemReported(Event):
    """`user_id` reported a problem seen in `dataset` (incident `incident_id`)."""

    name: ClassVar[str] = "problem_reported"
    user_id: int
    incident_id: int
    dataset: str
    at: datetime


@dataclass(frozen=True)
class TermProposed(Event):
    """`user_id` proposed (or edited) the glossary term `term` for review."""

    name: ClassVar[str] = "term_proposed"
    user_id: int
    term: str
    at: datetime


EVENTS: tuple[type[Event], ...] = (
    ShareStarting,
    DatasetPublishing,
    DatasetPublished,
    SchemaChanged,
    CheckFailed,
    GrantChanged,
    SearchDone,
    QueryDone,
    QuestionExplored,
    InsightSaved,
    AccessRequested,
    RequestReviewed,
    ProblemReported,
    TermProposed,
    TagAdded,
)
"""Every event, in the order the architecture page lists them."""

E = TypeVar("E", bound=Event)
Handler = Callable[["Platform", Any], None]
Guard = Callable[["Platform", Any, Callable[[], None]], None]


@dataclass
class _Subscription:
    event: type[Event]
    phase: Phase
    handler: Callable[..., None]
    owner: str


_subscriptions: list[_Subscription] = []


def subscribe(event: type[E], handler: Callable[..., None], *, phase: Phase = Phase.SYNC) -> None:
    """Call `handler(platform, event)` (a guard: `handler(platform, event, proceed)`) on every `event`.

    Called only from a capability's `registration.register()`; a second identical subscription is ignored.
    """
    if event not in EVENTS:
        raise ValueError(f"{event.__name__} is not listed in threshold.events.EVENTS")
    owner = getattr(handler, "__module__", "?")
    for s in _subscriptions:
        if s.event is event and s.handler is handler and s.phase == phase:
            return
    _subscriptions.append(_Subscription(event, phase, handler, owner))


def subscribers(event: type[Event]) -> list[tuple[Phase, str]]:
    """(phase, `module.function`) of each subscriber to `event`, in the order they run."""
    return [(s.phase, f"{s.owner}.{getattr(s.handler, '__name__', '?')}") for s in _subscriptions if s.event is event]


def publish(platform: Platform, event: Event) -> None:
    """Announce `event`: SYNC subscribers now, AFTER_COMMIT ones once the event's session commits."""
    _ready(platform)
    subs = [s for s in _subscriptions if s.event is type(event)]
    for s in subs:
        if s.phase == Phase.SYNC:
            s.handler(platform, event)
    after = [s.handler for s in subs if s.phase == Phase.AFTER_COMMIT]
    if not after:
        return
    session = getattr(event, "session", None)
    if session is None:
        _run_after(platform, event, after)
    else:
        sa_event.listen(session, "after_commit", lambda _s: _run_after(platform, event, after), once=True)


def guard(platform: Platform, event: Event, action: Callable[[], None]) -> None:
    """Run `action` inside every AROUND guard of `event` (the first registered is the outermost)."""
    _ready(platform)
    guards = [s.handler for s in _subscriptions if s.event is type(event) and s.phase == Phase.AROUND]

    def chain(i: int) -> Callable[[], None]:
        if i == len(guards):
            return action
        return lambda: guards[i](platform, event, chain(i + 1))

    chain(0)()


def _run_after(platform: Platform, event: Event, handlers: list[Callable[..., None]]) -> None:
    for h in handlers:
        try:
            h(platform, event)
        except Exception:  # the change is committed; what follows it is logged, never undone
            log.exception("after %s: %s failed", event.name, getattr(h, "__qualname__", h))


def _ready(platform: Platform) -> None:
    from threshold.capabilities import load

    load()
