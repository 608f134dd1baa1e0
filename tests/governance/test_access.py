"""Access requests: ask with a purpose, get an answer (by an owner or a rule), read for that purpose
only, until the grant expires or is revoked; time-to-access measured exactly; every step audited.

Runs on SQLite and PostgreSQL (`any_org`): anna owns manufacturing, ben (finance) asks for
manufacturing.plant_kpis, which anna makes `on-request` first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from threshold.errors import Conflict, Denied, InvalidInput, NotFound
from threshold.gateway.service import query
from threshold.governance import requests as access
from threshold.governance.audit import search
from threshold.governance.controls import set_purposes, set_visibility
from threshold.governance.policies import PERSONAL_GUARDRAIL, apply
from threshold.store.models import AccessRequest, Grant, UsageEvent

DATASET = "manufacturing.plant_kpis"
READ = f"SELECT plant, e_mail, scrap_rate FROM {DATASET}"


@pytest.fixture
def on_request(any_org: Any) -> Any:
    set_visibility(any_org.platform, any_org.anna, DATASET, "on-request")
    return any_org


def _actions(org: Any, **kw: Any) -> list[tuple[str | None, str, list[str]]]:
    """(actor, action, rules) of the audit log, oldest first."""
    return [(e.actor, e.action, e.rules) for e in reversed(search(org.platform, org.admin, **kw))]


def test_request_approve_read_for_that_purpose_only_then_revoke(on_request: Any) -> None:
    org, p = on_request, on_request.platform
    with pytest.raises(Denied, match=r"visibility\.on-request.*ask its owners for access") as refused:
        query(p, READ, user=org.ben)
    assert refused.value.request_access == DATASET

    req = access.request_access(p, org.ben, DATASET, purpose=" Energy Cost Forecast ", days=30, justification="Q3")
    assert (req.status, req.purpose, req.requester, req.days) == (
        "pending",
        "energy cost forecast",
        "ben",
        30,
    )
    assert [r.id for r in access.inbox(p, org.anna)] == [req.id]
    assert access.inbox(p, org.ben) == [] and access.inbox(p, org.carla) == []
    assert [r.id for r in access.inbox(p, org.admin)] == [req.id]
    with pytest.raises(Conflict, match="already waiting"):
        access.request_access(p, org.ben, DATASET, purpose="energy cost forecast")
    with pytest.raises(Denied, match=r"request\.owner"):
        access.approve(p, org.ben, req.id)

    approved = access.approve(p, org.anna, req.id, reason="fine for forecasting")
    assert (approved.status, approved.decided_by, approved.reason) == (
        "approved",
        "anna",
        "fine for forecasting",
    )
    assert access.inbox(p, org.anna) == []
    [grant] = access.grants(p, org.ben)
    assert (grant.id, grant.purposes, grant.active, grant.allows_personal) == (
        approved.grant,
        ["energy cost forecast"],
        True,
        False,
    )
    expires = datetime.fromisoformat(grant.expires_at)
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)
    with pytest.raises(Conflict):
        access.approve(p, org.anna, req.id)

    rows = query(p, READ, user=org.ben, purpose="energy cost forecast").table.to_pylist()
    assert len(rows) == 5 and {r["e_mail"] for r in rows} == {"***"}, "a grant does not lift the guardrail"
    with pytest.raises(Denied, match="your grants cover energy cost forecast"):
        query(p, READ, user=org.ben, purpose="marketing")
    with pytest.raises(Denied):
        query(p, READ, user=org.carla, purpose="energy cost forecast")  # the grant is ben's

    revoked = access.revoke(p, org.anna, grant.id, reason="project over")
    assert revoked.grant == grant.id
    with pytest.raises(Conflict, match="revoked already"):
        access.revoke(p, org.anna, grant.id)
    with pytest.raises(Denied, match=r"visibility\.on-request"):
        query(p, READ, user=org.ben, purpose="energy cost forecast")
    assert access.grants(p, org.ben)[0].active is False

    log = _actions(org, dataset=DATASET)
    assert [a for _, a, _ in log] == [
        "visibility.dataset",
        "query.denied",
        "request.created",
        "request.approved",
        "query.masked",
        "query.denied",
        "query.denied",
        "grant.revoked",
        "query.denied",
    ]
    assert ("ben", "query.masked", ["grant", PERSONAL_GUARDRAIL]) in log
    assert ("ben", "query.denied", ["visibility.on-request"]) in log
    [approval] = search(p, org.anna, action="request.approved")
    assert approval.detail == {
        "request": req.id,
        "grant": grant.id,
        "personal": False,
        "reason": "fine for forecasting",
    }
    [revocation] = search(p, org.anna, action="grant.revoked")
    assert revocation.detail == {"grant": grant.id, "reason": "project over"}


def test_the_only_granted_purpose_applies_when_none_is_declared(on_request: Any) -> None:
    org, p = on_request, on_request.platform
    first = access.request_access(p, org.ben, DATASET, purpose="energy cost forecast")
    access.approve(p, org.anna, first.id)
    result = query(p, READ, user=org.ben)
    with p.store.session() as s:
        event = s.get(UsageEvent, result.event_id)
        assert event is not None and event.purpose == "energy cost forecast"
    assert search(p, org.admin, action="query.")[0].purpose == "energy cost forecast"

    second = access.request_access(p, org.ben, DATASET, purpose="budget review")
    access.approve(p, org.anna, second.id)
    with pytest.raises(Denied, match="budget review, energy cost forecast; declare one of them"):
        query(p, READ, user=org.ben)
    assert query(p, READ, user=org.ben, purpose="Budget Review").table.num_rows == 5


def test_requests_decisions_and_grants_are_dated_by_the_platforms_clock(on_request: Any) -> None:
    """Filing, approving, denying and revoking stamp the platform's clock (not the wall clock), so a
    simulation or a test places them in time; the grant runs from the decision."""
    org, p = on_request, on_request.platform
    asked = datetime(2024, 3, 4, 8, 30, tzinfo=UTC)
    p.clock = lambda: asked
    req = access.request_access(p, org.ben, DATASET, purpose="energy cost forecast", days=30)
    other = access.request_access(p, org.carla, DATASET, purpose="sales pitch")
    p.clock = lambda: asked + timedelta(hours=3)
    approved = access.approve(p, org.anna, req.id)
    denied = access.deny(p, org.anna, other.id, reason="not for sales")
    assert (approved.created_at, approved.decided_at, approved.hours_to_decision) == (
        "2024-03-04T08:30:00+00:00",
        "2024-03-04T11:30:00+00:00",
        3.0,
    )
    assert (denied.created_at, denied.decided_at) == ("2024-03-04T08:30:00+00:00", "2024-03-04T11:30:00+00:00")
    with p.store.session() as s:
        grant = s.scalars(select(Grant).where(Grant.request_id == req.id)).one()
        assert grant.expires_at is not None
        assert (_utc(grant.created_at), _utc(grant.expires_at)) == (
            asked + timedelta(hours=3),
            asked + timedelta(hours=3, days=30),
        )
    p.clock = lambda: asked + timedelta(days=2)
    assert access.revoke(p, org.ben, approved.grant).revoked_at == "2024-03-06T08:30:00+00:00"


def _utc(d: datetime) -> datetime:
    """SQLite gives the stored time back naive (it was UTC), PostgreSQL in its session's zone."""
    return d.replace(tzinfo=UTC) if d.tzinfo is None else d.astimezone(UTC)


def test_deny_needs_a_reason_and_records_it(on_request: Any) -> None:
    org, p = on_request, on_request.platform
    req = access.request_access(p, org.carla, DATASET, purpose="sales pitch")
    with pytest.raises(InvalidInput, match="reason"):
        access.deny(p, org.anna, req.id, reason="  ")
    with pytest.raises(Denied, match=r"request\.owner"):
        access.deny(p, org.ben, req.id, reason="not mine to say")
    denied = access.deny(p, org.anna, req.id, reason="personal data is not for sales pitches")
    assert (denied.status, denied.reason, denied.decided_by) == (
        "denied",
        "personal data is not for sales pitches",
        "anna",
    )
    assert access.my_requests(p, org.carla)[0].status == "denied"
    assert access.grants(p, org.carla) == []
    with pytest.raises(Denied):
        query(p, READ, user=org.carla, purpose="sales pitch")
    with pytest.raises(Conflict, match="denied already"):
        access.approve(p, org.anna, req.id)
    [entry] = search(p, org.anna, action="request.denied")
    assert (entry.actor, entry.detail["reason"]) == ("anna", "personal data is not for sales pitches")


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"purpose": "  "}, InvalidInput, "needs a purpose"),
        ({"purpose": "x", "days": 0}, InvalidInput, "--days"),
        ({"purpose": "x", "days": 367}, InvalidInput, "--days"),
        ({"purpose": "x", "columns": ["salary"]}, InvalidInput, "no column salary"),
        ({"purpose": "x", "dataset": "manufacturing.nothing"}, NotFound, "no dataset"),
    ],
    ids=["no-purpose", "zero-days", "too-many-days", "unknown-column", "unknown-dataset"],
)
def test_a_request_that_cannot_be_filed(on_request: Any, kwargs: dict[str, Any], error: type, says: str) -> None:
    args = dict(kwargs)
    dataset = args.pop("dataset", DATASET)
    with pytest.raises(error, match=says):
        access.request_access(on_request.platform, on_request.ben, dataset, **args)


def test_restricted_data_and_purposes_outside_the_allowed_ones_cannot_be_requested(any_org: Any) -> None:
    org, p = any_org, any_org.platform
    set_purposes(p, org.anna, DATASET, ["Energy Cost Forecast"])
    with pytest.raises(Denied, match=r"energy cost forecast only \(rule dataset\.allowed-purposes\)"):
        access.request_access(p, org.ben, DATASET, purpose="marketing")
    set_visibility(p, org.anna, DATASET, "restricted")
    with pytest.raises(NotFound, match=rf"^no dataset '{DATASET}'$"):
        access.request_access(p, org.ben, DATASET, purpose="energy cost forecast")


AUTO = """\
domain: manufacturing
policies:
  - id: fast-forecasts
    kind: auto_approve
    datasets: [plant_kpis]
    purposes: [forecasting, Reporting]
"""
AUTO_PERSONAL = AUTO + "    personal_columns: true\n"


def test_auto_approval_without_personal_columns(on_request: Any) -> None:
    org, p = on_request, on_request.platform
    apply(p, org.anna, AUTO, reason="forecasts need no names")
    whole = access.request_access(p, org.ben, DATASET, purpose="forecasting")
    assert whole.status == "pending", "the whole dataset includes personal columns: an owner decides"
    other = access.request_access(p, org.ben, DATASET, purpose="capacity planning", columns=["plant"])
    assert other.status == "pending", "a purpose the rule does not name: an owner decides"

    fast = access.request_access(p, org.ben, DATASET, purpose="reporting", columns=["plant", "scrap_rate"])
    assert (fast.status, fast.auto_rule, fast.decided_by) == ("approved", "manufacturing.fast-forecasts", None)
    assert fast.hours_to_decision is not None and fast.hours_to_decision < 0.1
    rows = query(p, f"SELECT * FROM {DATASET}", user=org.ben, purpose="reporting").table.to_pylist()
    assert {r["plant"] for r in rows} == {"Berlin", "Lyon", "Porto"}
    assert {(r["day"], r["energy_kwh"], r["e_mail"]) for r in rows} == {(None, None, None)}, (
        "columns outside the grant read as empty, personal ones too (empty is stricter than ***)"
    )
    assert [a for _, a, _ in _actions(org, action="request.")] == [
        "request.created",
        "request.created",
        "request.created",
        "request.auto-approved",
    ]
    assert _actions(org, action="request.auto-approved")[0] == (
        "ben",
        "request.auto-approved",
        ["manufacturing.fast-forecasts"],
    )


def test_auto_approval_that_allows_personal_columns_still_masks_them(on_request: Any) -> None:
    org, p = on_request, on_request.platform
    apply(p, org.anna, AUTO_PERSONAL)
    req = access.request_access(p, org.ben, DATASET, purpose="forecasting")
    assert (req.status, req.auto_rule) == ("approved", "manufacturing.fast-forecasts")
    rows = query(p, READ, user=org.ben, purpose="forecasting").table.to_pylist()
    assert len(rows) == 5 and {r["e_mail"] for r in rows} == {"***"}, (
        "only an owner's approval with personal data allowed lifts the guardrail"
    )


def test_an_expired_grant_no_longer_works(on_request: Any) -> None:
    org, p = on_request, on_request.platform
    req = access.request_access(p, org.ben, DATASET, purpose="forecasting", days=1)
    grant_id = access.approve(p, org.anna, req.id).grant
    assert query(p, READ, user=org.ben, purpose="forecasting").table.num_rows == 5
    with p.store.session() as s:
        s.execute(update(Grant).where(Grant.id == grant_id).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    with pytest.raises(Denied, match=r"visibility\.on-request"):
        query(p, READ, user=org.ben, purpose="forecasting")
    assert access.grants(p, org.ben)[0].active is False


def test_a_grant_expires_by_the_platforms_clock_and_no_kept_decision_outlives_it(on_request: Any) -> None:
    """Nothing in the store changes when a grant runs out: the platform's clock moving past its end is enough,
    on the next read, although the reader's earlier decisions and prepared reads are kept (same metadata
    version). A decision kept under a grant that ends later is bounded by that grant's end too."""
    org, p = on_request, on_request.platform
    start = datetime.now(UTC)
    p.clock = lambda: start
    short = access.request_access(p, org.ben, DATASET, purpose="forecasting", days=1)
    access.approve(p, org.anna, short.id)
    long = access.request_access(p, org.ben, DATASET, purpose="payroll audit", days=10)
    access.approve(p, org.anna, long.id)
    for purpose in ("forecasting", "payroll audit"):  # decided, and kept
        assert query(p, READ, user=org.ben, purpose=purpose).table.num_rows == 5
        assert query(p, READ, user=org.ben, purpose=purpose).table.num_rows == 5

    p.clock = lambda: start + timedelta(days=1, seconds=1)
    with pytest.raises(Denied, match="payroll audit"):  # the one live grant is for another purpose
        query(p, READ, user=org.ben, purpose="forecasting")
    assert query(p, READ, user=org.ben, purpose="payroll audit").table.num_rows == 5
    assert {g.purposes[0]: g.active for g in access.grants(p, org.ben)} == {
        "forecasting": False,
        "payroll audit": True,
    }
    p.clock = lambda: start + timedelta(days=5)
    assert query(p, READ, user=org.ben, purpose="payroll audit").table.num_rows == 5  # kept until its grant ends

    p.clock = lambda: start + timedelta(days=10, seconds=1)
    with pytest.raises(Denied, match=r"visibility\.on-request"):
        query(p, READ, user=org.ben, purpose="payroll audit")
    assert [g.active for g in access.grants(p, org.ben)] == [False, False]


def test_a_grant_allowing_personal_data_shows_it_for_that_purpose_only(on_request: Any) -> None:
    org, p = on_request, on_request.platform
    req = access.request_access(p, org.ben, DATASET, purpose="payroll audit")
    access.approve(p, org.anna, req.id, reason="auditors need names", allow_personal=True)
    mails = {r["e_mail"] for r in query(p, READ, user=org.ben, purpose="payroll audit").table.to_pylist()}
    assert "anna.schmidt@example.com" in mails
    other = access.request_access(p, org.ben, DATASET, purpose="forecasting")
    access.approve(p, org.anna, other.id)
    assert {r["e_mail"] for r in query(p, READ, user=org.ben, purpose="forecasting").table.to_pylist()} == {"***"}


# --- time to access ---------------------------------------------------------------------------------------


def test_time_to_access_median_and_p90_are_exact(on_request: Any) -> None:
    org, p = on_request, on_request.platform
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    waits = {"a": 1.0, "b": 2.0, "c": 4.0, "d": 8.0, "e": 10.0}  # hours from request to decision
    for purpose, hours in waits.items():
        req = access.request_access(p, org.ben, DATASET, purpose=purpose)
        if purpose == "c":
            access.deny(p, org.anna, req.id, reason="no")  # a denial is an answer too
        else:
            access.approve(p, org.anna, req.id)
        with p.store.session() as s:
            s.execute(
                update(AccessRequest)
                .where(AccessRequest.id == req.id)
                .values(created_at=start, decided_at=start + timedelta(hours=hours))
            )
    waiting = access.request_access(p, org.carla, DATASET, purpose="still waiting")
    with p.store.session() as s:
        s.execute(
            update(AccessRequest)
            .where(AccessRequest.id == waiting.id)
            .values(created_at=datetime.now(UTC) - timedelta(hours=5))
        )
        assert s.scalar(select(AccessRequest.status).where(AccessRequest.id == waiting.id)) == "pending"

    by_domain = {row.domain: row for row in access.time_to_access(p)}
    m = by_domain["manufacturing"]
    assert (m.requests, m.decided, m.waiting, m.auto_approved) == (6, 5, 1, 0)
    assert m.median_hours == 4.0
    assert m.p90_hours == 9.2  # sorted 1, 2, 4, 8, 10: position 0.9 * 4 = 3.6 -> 8 + 0.6 * (10 - 8)
    assert m.oldest_waiting_hours is not None and 4.99 < m.oldest_waiting_hours < 5.1
    assert by_domain["finance"].to_json() == {
        "domain": "finance",
        "requests": 0,
        "decided": 0,
        "auto_approved": 0,
        "waiting": 0,
        "oldest_waiting_hours": None,
        "median_hours": None,
        "p90_hours": None,
    }


def test_time_to_access_counts_auto_approvals_as_instant(on_request: Any) -> None:
    org, p = on_request, on_request.platform
    apply(p, org.anna, AUTO)
    access.request_access(p, org.ben, DATASET, purpose="forecasting", columns=["plant"])
    m = {row.domain: row for row in access.time_to_access(p)}["manufacturing"]
    assert (m.requests, m.decided, m.auto_approved) == (1, 1, 1)
    assert m.median_hours == m.p90_hours == 0.0
