"""Incidents: reported by anyone who may see the data, routed, told to the right people, and moved along
open -> acknowledged -> fixed -> verified by the people allowed to."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from threshold.errors import Conflict, Denied, InvalidInput, NotFound
from threshold.gateway.service import query
from threshold.identity.service import add_user, get_person, join_domain
from threshold.notifications.service import deliveries, inbox, retry_failed, webhook_secret
from threshold.quality import dataset_checks, incidents
from threshold.quality.incident_records import get_incident, list_incidents
from threshold.quality.incident_results import AffectedDataset
from threshold.store.models import Domain, UsageEvent

from .conftest import BATCHES, Batches, Receiver, wait_for_deliveries


def _kinds(b: Batches, name: str) -> list[str]:
    return [m.kind for m in inbox(b.platform, get_person(b.platform, name))]


def test_anyone_who_may_see_a_dataset_reports_a_problem_on_a_column(batches: Batches) -> None:
    b = batches
    incident_id = incidents.report(
        b.platform,
        b.ben,
        f"{BATCHES}.weight_kg",
        description="Weights of 500 kg are impossible for a batch",
        query=f"SELECT * FROM {BATCHES} WHERE weight_kg > 100",
    )

    i = get_incident(b.platform, b.ben, incident_id)
    assert (i.kind, i.status, i.dataset, i.column, i.reporter) == (
        "report",
        "open",
        BATCHES,
        "weight_kg",
        "ben",
    )
    assert i.domain == "manufacturing" and i.assignee == "anna"
    assert i.routing["method"] == "own-domain" and "manufacturing" in i.routing["reason"]
    assert i.title == f"{BATCHES}.weight_kg: Weights of 500 kg are impossible for a batch"
    assert [c.event for c in i.comments] == ["opened"]


@pytest.mark.parametrize(
    ("subject", "kwargs", "error", "message"),
    [
        (f"{BATCHES}.nope", {}, InvalidInput, "has no column 'nope'"),
        ("manufacturing.nothing", {}, NotFound, "no dataset"),
        (BATCHES, {"description": " "}, InvalidInput, "describe the problem"),
        (BATCHES, {"query": "SELECT 1"}, InvalidInput, "must read manufacturing.batches"),
        (BATCHES, {"query": "DROP TABLE x"}, InvalidInput, "read-only"),
        ("batches", {}, InvalidInput, "domain.dataset"),
    ],
)
def test_a_report_that_cannot_be_acted_on_is_refused(
    batches: Batches, subject: str, kwargs: dict[str, str], error: type[Exception], message: str
) -> None:
    args = {"description": "wrong"} | kwargs
    with pytest.raises(error, match=message):
        incidents.report(batches.platform, batches.ben, subject, **args)


def test_a_restricted_dataset_cannot_be_reported_by_outsiders(batches: Batches) -> None:
    from threshold.governance import controls

    controls.set_visibility(batches.platform, batches.anna, BATCHES, "restricted")
    with pytest.raises(NotFound):
        incidents.report(batches.platform, batches.ben, BATCHES, description="?")


def test_the_flow_and_who_may_move_it(any_batches: Batches) -> None:
    b = any_batches
    join_domain(b.platform, "carla", "manufacturing")  # a plain member of the routed domain
    carla = get_person(b.platform, "carla")
    incident_id = incidents.report(b.platform, b.ben, f"{BATCHES}.status", description="status 'weird'?")

    with pytest.raises(Denied, match="only members of manufacturing, where it is routed, or an admin"):
        incidents.act(b.platform, b.ben, incident_id, "ack")
    with pytest.raises(Conflict, match="only a fixed incident can be verifyed|only a fixed"):
        incidents.act(b.platform, b.ben, incident_id, "verify")
    assert incidents.act(b.platform, carla, incident_id, "ack", "looking") == "acknowledged"
    with pytest.raises(Conflict, match="is acknowledged"):
        incidents.act(b.platform, b.anna, incident_id, "ack")
    assert incidents.act(b.platform, b.anna, incident_id, "fix", "mapped weird -> scrap at the source") == "fixed"
    with pytest.raises(Denied, match="only the person who reported it"):
        incidents.act(b.platform, b.anna, incident_id, "verify")
    assert incidents.act(b.platform, b.ben, incident_id, "reopen", "still there") == "open"
    assert incidents.act(b.platform, b.anna, incident_id, "fix") == "fixed"
    assert incidents.act(b.platform, b.ben, incident_id, "verify") == "verified"

    i = get_incident(b.platform, b.ben, incident_id)
    assert i.status == "verified" and i.verified_via == "reporter" and i.reopened == 1
    assert i.acknowledged_by == "carla" and i.fixed_by == "anna" and i.verified_by == "ben"
    assert [c.event for c in i.comments] == ["opened", "acknowledged", "fixed", "reopened", "fixed", "verified"]
    assert i.actions == []


def test_fixing_an_unacknowledged_incident_acknowledges_it(batches: Batches) -> None:
    b = batches
    incident_id = incidents.report(b.platform, b.ben, BATCHES, description="late")
    incidents.act(b.platform, b.anna, incident_id, "fix")
    i = get_incident(b.platform, b.anna, incident_id)
    assert i.acknowledged_at == i.fixed_at and i.acknowledged_by == "anna"


def test_incidents_and_checks_are_dated_by_the_platforms_clock(batches: Batches) -> None:
    """Reporting, acknowledging, fixing, commenting and adding a check stamp the platform's clock, not the
    wall clock, so a simulation (the demo) or a test places them in time."""
    b = batches
    opened = datetime(2024, 3, 4, 8, 45, tzinfo=UTC)
    b.platform.clock = lambda: opened
    incident_id = incidents.report(b.platform, b.ben, BATCHES, description="late")
    check = b.add("not_null", column="code")
    b.platform.clock = lambda: opened + timedelta(hours=2)
    incidents.act(b.platform, b.anna, incident_id, "ack")
    b.platform.clock = lambda: opened + timedelta(hours=26)
    incidents.act(b.platform, b.anna, incident_id, "fix")
    incidents.comment(b.platform, b.anna, incident_id, "shared again")

    i = get_incident(b.platform, b.anna, incident_id)
    assert (i.opened_at, i.last_seen_at) == ("2024-03-04T08:45:00+00:00", "2024-03-04T08:45:00+00:00")
    assert (i.acknowledged_at, i.fixed_at) == ("2024-03-04T10:45:00+00:00", "2024-03-05T10:45:00+00:00")
    assert (i.hours_to_acknowledge, i.hours_to_fix) == (2.0, 26.0)
    assert [c.at for c in i.comments] == [
        "2024-03-04T08:45:00+00:00",
        "2024-03-04T10:45:00+00:00",
        "2024-03-05T10:45:00+00:00",
        "2024-03-05T10:45:00+00:00",
    ]
    assert check.created_at == "2024-03-04T08:45:00+00:00"


def test_a_passing_check_verifies_the_fixed_incident_it_opened_and_a_failing_one_reopens_it(batches: Batches) -> None:
    b = batches
    c = b.add("accepted_values", column="status", values="ok,scrap")
    dataset_checks.run(b.platform, b.anna, BATCHES)
    (opened,) = list_incidents(b.platform, b.anna)

    incidents.act(b.platform, b.anna, opened.id, "fix")
    dataset_checks.run(b.platform, b.anna, BATCHES)  # still failing: the fix did not hold
    assert get_incident(b.platform, b.anna, opened.id).status == "open"

    incidents.act(b.platform, b.anna, opened.id, "fix")
    dataset_checks.remove(b.platform, b.anna, c.id)
    with b.platform.store.session() as s:  # the owners widened the rule: the same check now passes
        from threshold.quality.models import Check

        row = s.get(Check, c.id)
        assert row is not None
        row.active, row.options = True, {"column": "status", "values": ["ok", "scrap", "weird"]}
    dataset_checks.run(b.platform, b.anna, BATCHES)
    i = get_incident(b.platform, b.anna, opened.id)
    assert (i.status, i.verified_via, i.verified_by, i.reopened) == ("verified", "check", None, 1)


def test_a_check_incident_is_verified_by_the_dataset_owners(batches: Batches) -> None:
    b = batches
    b.add("not_null", column="plant")
    dataset_checks.run(b.platform, b.anna, BATCHES)
    (i,) = list_incidents(b.platform, b.anna)
    incidents.act(b.platform, b.anna, i.id, "fix")
    with pytest.raises(Denied, match="owners of the dataset's domain"):
        incidents.act(b.platform, b.ben, i.id, "verify")
    assert incidents.act(b.platform, b.anna, i.id, "verify") == "verified"


def test_comments_and_rerouting(batches: Batches) -> None:
    b = batches
    incident_id = incidents.report(b.platform, b.carla, f"{BATCHES}.plant", description="Plant missing")
    incidents.comment(b.platform, b.ben, incident_id, "We see it too in the budget")
    with pytest.raises(Denied):
        incidents.reroute(b.platform, b.ben, incident_id, "manufacturing.plant_kpis.plant")
    r = incidents.reroute(b.platform, b.anna, incident_id, "manufacturing.plant_kpis.plant", "comes from the KPI feed")

    i = get_incident(b.platform, b.carla, incident_id)
    assert r.method == "rerouted" and i.routed_to.dataset == "manufacturing.plant_kpis"
    assert i.routing["reason"] == "rerouted by anna to manufacturing.plant_kpis: comes from the KPI feed"
    assert [c.body for c in i.comments if c.event is None] == ["We see it too in the budget"]
    assert "incident.comment" in _kinds(b, "carla") and "incident.comment" in _kinds(b, "anna")


def test_opening_tells_owners_and_recent_consumers_but_not_the_reporter(batches: Batches) -> None:
    b = batches
    add_user(b.platform, "dora", domains=("finance",))
    dora = get_person(b.platform, "dora")
    query(b.platform, f"SELECT plant FROM {BATCHES}", user=dora, purpose="budget")  # a recent consumer
    old = query(b.platform, f"SELECT plant FROM {BATCHES}", user=b.carla, purpose="budget")  # a consumer long ago
    with b.platform.store.session() as s:
        event = s.get(UsageEvent, old.event_id)
        assert event is not None
        event.at = datetime.now(UTC) - timedelta(days=45)

    incident_id = incidents.report(b.platform, b.ben, f"{BATCHES}.plant", description="Plant missing")

    assert _kinds(b, "anna") == ["incident.opened"]
    assert _kinds(b, "dora") == ["incident.affects"]
    assert _kinds(b, "carla") == [] and _kinds(b, "ben") == []
    affected = get_incident(b.platform, b.anna, incident_id).affected
    assert affected == [AffectedDataset(dataset=BATCHES, relation="routed", level=0, told=["anna", "dora"])]


def test_the_domain_webhook_gets_signed_events_and_a_failed_delivery_is_retried(
    batches: Batches, receiver: Receiver
) -> None:
    b = batches
    with b.platform.store.session() as s:
        s.scalars(select(Domain).where(Domain.name == "manufacturing")).one().webhook_url = receiver.url
    receiver.fail_first = 3  # every attempt of the first delivery fails
    jobs_settings = b.platform.settings.jobs
    jobs_settings.outbox_backoff_seconds, backoff = 0.0, jobs_settings.outbox_backoff_seconds
    try:
        incident_id = incidents.report(b.platform, b.ben, f"{BATCHES}.plant", description="Plant missing")
        wait_for_deliveries()
        (failed,) = deliveries(b.platform, "manufacturing")
        assert (failed.event, failed.status, failed.attempts) == ("incident.opened", "failed", 3)
        assert retry_failed(b.platform, domain="manufacturing") == 1
        incidents.act(b.platform, b.anna, incident_id, "ack")
        wait_for_deliveries()
    finally:
        jobs_settings.outbox_backoff_seconds = backoff

    assert receiver.events() == ["incident.opened", "incident.acknowledged"]
    first = receiver.received[0]
    expected = (
        "sha256="
        + hmac.new(webhook_secret(b.platform, "manufacturing").encode(), first["raw"], hashlib.sha256).hexdigest()
    )
    assert first["headers"]["X-Threshold-Signature"] == expected
    data = first["body"]["data"]
    assert data["incident"] == incident_id and data["routed_to"]["domain"] == "manufacturing"
    assert "query" not in data


def test_incidents_are_listed_with_the_domain_they_are_routed_to(batches: Batches) -> None:
    b = batches
    first = incidents.report(b.platform, b.ben, BATCHES, description="one")
    second = incidents.report(b.platform, b.carla, f"{BATCHES}.plant", description="two")
    incidents.act(b.platform, b.anna, first, "fix")

    assert [i.id for i in list_incidents(b.platform, b.ben)] == [second, first]
    assert [i.domain for i in list_incidents(b.platform, b.ben, domain="manufacturing")] == ["manufacturing"] * 2
    assert list_incidents(b.platform, b.ben, domain="finance") == []
    assert [i.id for i in list_incidents(b.platform, b.ben, status="fixed")] == [first]
    assert [i.id for i in list_incidents(b.platform, b.ben, status="unresolved")] == [second, first]
    incidents.act(b.platform, b.ben, first, "verify")  # fixed is unresolved until verified
    assert [i.id for i in list_incidents(b.platform, b.ben, status="unresolved")] == [second]
    with pytest.raises(InvalidInput):
        list_incidents(b.platform, b.ben, status="closed")


def test_the_reporters_query_is_shown_only_to_people_who_may_read_what_it_reads(batches: Batches) -> None:
    from threshold.governance import controls

    b = batches
    sql = f"SELECT * FROM {BATCHES} WHERE inspector_email = 'ana.silva@example.pt'"
    incident_id = incidents.report(b.platform, b.anna, f"{BATCHES}.status", description="weird status", query=sql)
    assert get_incident(b.platform, b.ben, incident_id).query == sql  # open dataset: ben may read it

    controls.set_visibility(b.platform, b.anna, BATCHES, "on-request")
    hidden = get_incident(b.platform, b.ben, incident_id)
    assert hidden.query is None and "may read every dataset it reads" in hidden.query_hidden
    assert get_incident(b.platform, b.anna, incident_id).query == sql


def test_incidents_on_restricted_datasets_are_invisible_to_outsiders(batches: Batches) -> None:
    from threshold.governance import controls

    b = batches
    incident_id = incidents.report(b.platform, b.anna, BATCHES, description="internal")
    controls.set_visibility(b.platform, b.anna, BATCHES, "restricted")
    assert list_incidents(b.platform, b.carla) == []
    with pytest.raises(NotFound):
        get_incident(b.platform, b.carla, incident_id)
    with pytest.raises(NotFound):
        incidents.comment(b.platform, b.carla, incident_id, "hello?")
    assert [i.id for i in list_incidents(b.platform, b.anna)] == [incident_id]
