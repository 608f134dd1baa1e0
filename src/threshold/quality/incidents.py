"""Incidents: opened by failed checks or reported by anyone, routed upstream, and their flow.

Flow: open -> acknowledged -> fixed -> verified (a fixed incident can be reopened). Who may do what:
- acknowledge, fix, reroute: members of the domain it is routed to (they make the data), and admins;
- verify, reopen: the reporter; for an incident a check opened, the owners of the dataset's domain;
  admins always. A passing run of the check that opened it verifies a fixed incident by itself, and a
  failing run reopens it;
- comment: anyone who may see the incident.
Fixing an incident nobody acknowledged acknowledges it at the same moment (time to acknowledge is then
the time to fix). A failing check does not open a second incident while its first is unresolved: it
counts another occurrence.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from threshold import events
from threshold.access import find_dataset
from threshold.errors import Conflict, InvalidInput, NotFound
from threshold.identity.service import Person
from threshold.notifications.service import emit, notify
from threshold.platform import Platform
from threshold.quality.models import Incident, IncidentAffected, IncidentComment
from threshold.quality.recipients import owners, tell_opened
from threshold.quality.routing import Route, route
from threshold.quality.transitions import ACTIONS, can_see, check
from threshold.store.models import Column, Dataset, Domain

UNRESOLVED = ("open", "acknowledged", "fixed")


def parse_subject(subject: str) -> tuple[str, str | None]:
    """`domain.dataset` or `domain.dataset.column`."""
    parts = subject.strip().lower().split(".", 2)
    if len(parts) < 2 or not all(parts):
        raise InvalidInput(f"name a dataset as domain.dataset (or domain.dataset.column), not {subject[:80]!r}")
    return f"{parts[0]}.{parts[1]}", (parts[2] if len(parts) == 3 else None)


def report(
    platform: Platform,
    person: Person,
    subject: str,
    *,
    description: str,
    query: str | None = None,
    insight: str | None = None,
    column: str | None = None,
) -> int:
    """A consumer reports a problem on a dataset or one of its columns (optionally with the query that
    shows it, or the insight it was seen in). Returns the incident id."""
    full_name, col = parse_subject(subject)
    col = (column or col or "").strip() or None
    text = (description or "").strip()
    if not text:
        raise InvalidInput("describe the problem with --description")
    if len(text) > 10_000:
        raise InvalidInput("the description is longer than 10,000 characters")
    with platform.store.session() as s:
        ds = find_dataset(s, person, full_name)
        dataset_id = ds.id
        if col is not None:
            names = list(s.scalars(select(Column.name).where(Column.dataset_id == ds.id).order_by(Column.position)))
            if col not in names:
                raise InvalidInput(f"{full_name} has no column {col!r}; it has {', '.join(names)}")
    query = (query or "").strip()
    if query:
        from threshold.sql.check import check

        if full_name not in check(query).datasets:
            raise InvalidInput(f"the query that shows the problem must read {full_name}")
    where = f"{full_name}.{col}" if col else full_name
    title = f"{where}: {text.splitlines()[0][:200]}"
    incident_id = open_incident(
        platform,
        kind="report",
        title=title,
        description=text,
        dataset_id=dataset_id,
        column=col,
        reporter_id=person.id,
        query=query,
        insight=(insight or "").strip()[:200] or None,
    )
    events.publish(platform, events.ProblemReported(person.id, incident_id, full_name, platform.clock()))
    return incident_id


def open_incident(
    platform: Platform,
    *,
    kind: str,
    title: str,
    description: str,
    dataset_id: int,
    column: str | None,
    reporter_id: int | None,
    query: str = "",
    insight: str | None = None,
    check_id: int | None = None,
    run_id: int | None = None,
) -> int:
    r = route(platform, dataset_id, column)
    assignee = first_owner(platform, r.domain_id)
    now = platform.clock()
    with platform.store.session() as s:
        inc = Incident(
            kind=kind,
            title=title[:300],
            description=description,
            dataset_id=dataset_id,
            column_name=column,
            insight=insight,
            query=query,
            check_id=check_id,
            check_run_id=run_id,
            routed_dataset_id=r.dataset_id,
            routed_column=r.column,
            routed_domain_id=r.domain_id,
            routing=r.routing(),
            reporter_id=reporter_id,
            assignee_id=assignee,
            status="open",
            opened_at=now,
            last_seen_at=now,
            updated_at=now,
        )
        s.add(inc)
        s.flush()
        incident_id = inc.id
        s.add(IncidentComment(incident_id=incident_id, user_id=reporter_id, event="opened", body=r.reason, at=now))
        seen = s.get(Dataset, dataset_id)
        seen_name = seen.full_name if seen else ""
    payload = _payload(incident_id, title, "open", seen_name, column, r)
    tell_opened(platform, incident_id, title, r, dataset_id, assignee, reporter_id, payload)
    return incident_id


def _payload(incident_id: int, title: str, status: str, seen: str, column: str | None, r: Route) -> dict[str, Any]:
    return {
        "incident": incident_id,
        "title": title,
        "status": status,
        "dataset": seen,
        "column": column,
        "routed_to": {"dataset": r.dataset, "domain": r.domain, "column": r.column},
        "routing": {"method": r.method, "reason": r.reason},
        "link": f"/incidents/{incident_id}",
    }


def act(platform: Platform, person: Person, incident_id: int, action: str, note: str = "") -> str:
    """ack, fix, verify or reopen; returns the new status."""
    if action not in ACTIONS:
        raise InvalidInput(f"unknown action {action!r}; use ack, fix, verify, reopen, comment or reroute")
    allowed_from, to = ACTIONS[action]
    now = platform.clock()
    with platform.store.session() as s:
        inc = _incident(s, incident_id)
        check(s, person, inc, action)
        if inc.status not in allowed_from:
            raise Conflict(
                f"incident #{incident_id} is {inc.status}; only a {' or '.join(sorted(allowed_from))} "
                f"incident can be {'acknowledged' if action == 'ack' else action + 'ed'}"
            )
        if action in ("ack", "fix") and inc.acknowledged_at is None:
            inc.acknowledged_at, inc.acknowledged_by_id = now, person.id
        if action == "fix":
            inc.fixed_at, inc.fixed_by_id = now, person.id
        elif action == "verify":
            inc.verified_at, inc.verified_by_id = now, person.id
            inc.verified_via = "reporter" if person.id == inc.reporter_id else "admin" if person.is_admin else "owner"
        elif action == "reopen":
            inc.fixed_at, inc.fixed_by_id = None, None
            inc.reopened += 1
        inc.status, inc.updated_at = to, now
        event = {"ack": "acknowledged", "fix": "fixed", "verify": "verified", "reopen": "reopened"}[action]
        s.add(IncidentComment(incident_id=inc.id, user_id=person.id, event=event, body=note.strip()[:10_000], at=now))
        reporter, assignee, domain_id, title = inc.reporter_id, inc.assignee_id, inc.routed_domain_id, inc.title
    if action in ("ack", "fix"):
        people = [reporter] if reporter else (_seen_owners(platform, incident_id) if action == "fix" else [])
        kind = "incident.acknowledged" if action == "ack" else "incident.fixed"
        message = f"Incident #{incident_id} {event} by {person.name}" + (": please verify" if action == "fix" else "")
        tell_people(platform, incident_id, domain_id, people, kind, message, title, person.id, webhook_only_owners=True)
    else:
        tell_people(
            platform,
            incident_id,
            domain_id,
            [assignee] if assignee else [],
            f"incident.{event}",
            f"Incident #{incident_id} {event} by {person.name}",
            title,
            person.id,
        )
    return to


def comment(platform: Platform, person: Person, incident_id: int, body: str) -> int:
    text = (body or "").strip()
    if not text:
        raise InvalidInput("write the comment's text")
    if len(text) > 10_000:
        raise InvalidInput("a comment is at most 10,000 characters")
    with platform.store.session() as s:
        inc = _incident(s, incident_id)
        if not can_see(s, person, inc):
            raise NotFound(f"no incident #{incident_id}")
        row = IncidentComment(incident_id=inc.id, user_id=person.id, body=text, at=platform.clock())
        s.add(row)
        s.flush()
        comment_id = row.id
        people = {inc.reporter_id, inc.assignee_id} | set(
            s.scalars(select(IncidentComment.user_id).where(IncidentComment.incident_id == inc.id))
        )
        domain_id, title = inc.routed_domain_id, inc.title
    others = [p for p in people if p is not None and p != person.id]
    notify(
        platform,
        others,
        "incident.comment",
        f"{person.name} commented on incident #{incident_id}",
        body=text[:500],
        link=f"/incidents/{incident_id}",
        data={"incident": incident_id},
    )
    _emit(platform, domain_id, "incident.commented", {"incident": incident_id, "title": title, "by": person.name})
    return comment_id


def reroute(platform: Platform, person: Person, incident_id: int, subject: str, note: str = "") -> Route:
    """Send an incident to another dataset (and its domain): routing is a best guess its owners may correct."""
    full_name, column = parse_subject(subject)
    now = platform.clock()
    with platform.store.session() as s:
        inc = _incident(s, incident_id)
        check(s, person, inc, "reroute")
        if inc.status not in ("open", "acknowledged"):
            raise Conflict(f"incident #{incident_id} is {inc.status}; only an open or acknowledged one can be rerouted")
        ds = find_dataset(s, person, full_name)
        domain = s.get(Domain, ds.domain_id)
        assert domain is not None
        reason = f"rerouted by {person.name} to {ds.full_name}" + (f": {note.strip()}" if note.strip() else "")
        path = [*(inc.routing or {}).get("path", []), {"dataset": ds.full_name, "column": column, "kind": "rerouted"}]
        r = Route(ds.id, ds.full_name, domain.id, domain.name, column, "rerouted", reason, path)
        inc.routed_dataset_id, inc.routed_column, inc.routed_domain_id, inc.routing = (
            ds.id,
            column,
            domain.id,
            r.routing(),
        )
        inc.status, inc.acknowledged_at, inc.acknowledged_by_id, inc.updated_at = "open", None, None, now
        s.add(IncidentComment(incident_id=inc.id, user_id=person.id, event="rerouted", body=reason, at=now))
        if s.get(IncidentAffected, (inc.id, ds.id)) is None:
            s.add(IncidentAffected(incident_id=inc.id, dataset_id=ds.id, relation="routed", level=0, told=[]))
        title, seen = inc.title, s.get(Dataset, inc.dataset_id)
    assignee = first_owner(platform, r.domain_id)
    with platform.store.session() as s:
        row = s.get(Incident, incident_id)
        assert row is not None
        row.assignee_id = assignee
    tell_people(
        platform,
        incident_id,
        r.domain_id,
        [assignee] if assignee else [],
        "incident.opened",
        f"Incident #{incident_id} rerouted to you: {title}",
        reason,
        person.id,
    )
    emit(
        platform,
        r.domain,
        "incident.opened",
        _payload(incident_id, title, "open", seen.full_name if seen else "", column, r) | {"rerouted": True},
    )
    return r


def first_owner(platform: Platform, domain_id: int) -> int | None:
    """Who an incident routed to a domain is assigned to: its first owner by name."""
    found = owners(platform, [domain_id])[domain_id]
    return found[0] if found else None


def _incident(s: Session, incident_id: int) -> Incident:
    inc = s.get(Incident, incident_id)
    if inc is None:
        raise NotFound(f"no incident #{incident_id}")
    return inc


def tell_people(
    platform: Platform,
    incident_id: int,
    domain_id: int,
    people: list[int],
    kind: str,
    message: str,
    body: str,
    actor: int | None = None,
    *,
    webhook_only_owners: bool = False,
) -> None:
    """Inbox messages to `people` (and the routed domain's owners, unless they only hear by webhook), plus the
    routed domain's webhook."""
    users = list(people) + ([] if webhook_only_owners else owners(platform, [domain_id])[domain_id])
    notify(
        platform,
        [u for u in dict.fromkeys(users) if u != actor],
        kind,
        message,
        body=body,
        link=f"/incidents/{incident_id}",
        data={"incident": incident_id},
    )
    _emit(platform, domain_id, kind, {"incident": incident_id, "title": body, "event": kind})


def _emit(platform: Platform, domain_id: int, event: str, payload: dict[str, Any]) -> None:
    with platform.store.session() as s:
        name = s.scalar(select(Domain.name).where(Domain.id == domain_id))
    emit(platform, name, event, payload)


def _seen_owners(platform: Platform, incident_id: int) -> list[int]:
    """Owners of the domain an incident was seen in (they verify what a check reported)."""
    with platform.store.session() as s:
        domain_id = s.scalar(
            select(Dataset.domain_id)
            .join(Incident, Incident.dataset_id == Dataset.id)
            .where(Incident.id == incident_id)
        )
    return owners(platform, [domain_id])[domain_id] if domain_id is not None else []
