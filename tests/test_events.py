"""The event bus: who listens is declared, SYNC subscribers write in the announcer's transaction,
AFTER_COMMIT ones run only once it committed, guards wrap an action and may refuse it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from threshold import events
from threshold.errors import Conflict
from threshold.events import (
    EVENTS,
    DatasetPublished,
    DatasetPublishing,
    Event,
    GrantChanged,
    Phase,
    SchemaChanged,
    ShareStarting,
    subscribe,
)
from threshold.identity.service import add_domain, add_user, get_person
from threshold.platform import Platform
from threshold.store.models import Domain


@pytest.fixture
def heard() -> Iterator[list[tuple[str, Any]]]:
    """Temporary subscribers record here; they are removed after the test."""
    before = list(events._subscriptions)
    got: list[tuple[str, Any]] = []
    yield got
    events._subscriptions[:] = before


def test_every_capability_subscription_is_declared_and_listed() -> None:
    from threshold.capabilities import load

    load()
    assert [e.name for e in EVENTS] == [
        "share_starting",
        "dataset_publishing",
        "dataset_published",
        "schema_changed",
        "check_failed",
        "grant_changed",
        "search_done",
        "query_done",
        "question_explored",
        "insight_saved",
        "access_requested",
        "request_reviewed",
        "problem_reported",
        "term_proposed",
        "tag_added",
    ]
    assert events.subscribers(ShareStarting) == [(Phase.SYNC, "threshold.lineage.hooks.check_share")]
    assert events.subscribers(DatasetPublishing) == [(Phase.AROUND, "threshold.quality.gate.judge")]
    assert events.subscribers(DatasetPublished) == [
        (Phase.SYNC, "threshold.lineage.hooks.published"),
        (Phase.AFTER_COMMIT, "threshold.lineage.hooks.deliver_events"),
        (Phase.SYNC, "threshold.compliance.registration._record"),
        (Phase.AFTER_COMMIT, "threshold.compliance.registration._published_statistics"),
        (Phase.SYNC, "threshold.literacy.ticking.tick_in"),
    ]
    assert events.subscribers(SchemaChanged) == [
        (Phase.SYNC, "threshold.lineage.hooks.schema_changed"),
        (Phase.SYNC, "threshold.insights.staleness.schema_changed"),
    ]


def test_an_event_not_listed_cannot_be_subscribed_to() -> None:
    class Unlisted(Event):
        pass

    with pytest.raises(ValueError, match="not listed"):
        subscribe(Unlisted, lambda p, e: None)


def _grant_event(s: Any) -> GrantChanged:
    return GrantChanged(s, "sales.orders", 1, 1, "granted", ["reporting"])


def test_after_commit_subscribers_run_after_the_commit_and_never_after_a_rollback(
    platform: Platform, heard: list[tuple[str, Any]]
) -> None:
    def sync(p: Platform, e: GrantChanged) -> None:
        e.session.add(Domain(name="written_in_tx", title="x", description=""))
        heard.append(("sync", e.session.in_transaction()))

    def after(p: Platform, e: GrantChanged) -> None:
        with p.store.reader() as s:  # the SYNC subscriber's row is committed by now
            heard.append(("after", s.scalar(select(Domain.name).where(Domain.name == "written_in_tx"))))

    subscribe(GrantChanged, sync)
    subscribe(GrantChanged, after, phase=Phase.AFTER_COMMIT)
    with pytest.raises(RuntimeError), platform.store.session() as s:
        events.publish(platform, _grant_event(s))
        raise RuntimeError("the announcer fails after announcing")
    assert heard == [("sync", True)]
    with platform.store.reader() as s:
        assert s.scalar(select(Domain.id).where(Domain.name == "written_in_tx")) is None  # rolled back with it

    with platform.store.session() as s:
        events.publish(platform, _grant_event(s))
        assert heard == [("sync", True), ("sync", True)]  # not yet: the transaction is open
    assert heard[-1] == ("after", "written_in_tx")


def test_a_failing_after_commit_subscriber_is_logged_and_undoes_nothing(
    platform: Platform, heard: list[tuple[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(p: Platform, e: GrantChanged) -> None:
        raise RuntimeError("a webhook could not be started")

    subscribe(GrantChanged, broken, phase=Phase.AFTER_COMMIT)
    with platform.store.session() as s:
        s.add(Domain(name="kept", title="x", description=""))
        events.publish(platform, _grant_event(s))
    with platform.store.reader() as s:
        assert s.scalar(select(Domain.name).where(Domain.name == "kept")) == "kept"
    assert "a webhook could not be started" in caplog.text


def test_guards_nest_in_registration_order_and_may_refuse(platform: Platform, heard: list[tuple[str, Any]]) -> None:
    add_domain(platform, "sales")
    add_user(platform, "carla", password="carla-pass")
    carla = get_person(platform, "carla")
    publishing = DatasetPublishing("sales.orders", 1, carla, "append", None, "orders.csv")

    def guard(name: str, refuse: bool = False) -> Callable[[Platform, DatasetPublishing, Callable[[], None]], None]:
        def g(p: Platform, e: DatasetPublishing, proceed: Callable[[], None]) -> None:
            heard.append((f"{name} before", e.dataset))
            if refuse:
                raise Conflict(f"{name} refuses")
            proceed()
            heard.append((f"{name} after", None))

        return g

    events._subscriptions[:] = [s for s in events._subscriptions if s.event is not DatasetPublishing]
    subscribe(DatasetPublishing, guard("outer"), phase=Phase.AROUND)
    subscribe(DatasetPublishing, guard("inner"), phase=Phase.AROUND)
    events.guard(platform, publishing, lambda: heard.append(("action", None)))
    assert [h[0] for h in heard] == ["outer before", "inner before", "action", "inner after", "outer after"]

    heard.clear()
    subscribe(DatasetPublishing, guard("strict", refuse=True), phase=Phase.AROUND)
    with pytest.raises(Conflict, match="strict refuses"):
        events.guard(platform, publishing, lambda: heard.append(("action", None)))
    assert ("action", None) not in heard


def test_approving_a_request_announces_the_grant(org: Any, heard: list[tuple[str, Any]]) -> None:
    from threshold.governance.controls import set_visibility
    from threshold.governance.requests import approve, request_access, revoke

    subscribe(GrantChanged, lambda p, e: heard.append((e.change, (e.dataset, e.user_id, e.purposes))))
    set_visibility(org.platform, org.anna, "manufacturing.plant_kpis", "on-request")
    asked = request_access(org.platform, org.ben, "manufacturing.plant_kpis", purpose="forecasting", days=30)
    granted = approve(org.platform, org.anna, asked.id)
    revoke(org.platform, org.anna, granted.grant)
    assert heard == [
        ("granted", ("manufacturing.plant_kpis", org.ben.id, ["forecasting"])),
        ("revoked", ("manufacturing.plant_kpis", org.ben.id, ["forecasting"])),
    ]
