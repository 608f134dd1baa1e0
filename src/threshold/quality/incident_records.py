"""Incidents as a viewer may see them: lists and one incident's full record.

Who sees an incident: admins and the governance group, its reporter and assignee, members of the domain
it is routed to or seen in, and anyone who may know the dataset it was seen in exists (restricted
datasets only to their own domain). Within a record, a routed-to dataset the viewer may not know of is
named only by its domain; the reporter's query is shown only to people who may read every dataset it
reads (it may carry values in its literals); a failing-row sample is masked for the viewer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from threshold.access import DatasetRef, find_dataset, knowable_ids, knows, sees_every_dataset
from threshold.errors import InvalidInput, NotFound
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.quality import samples
from threshold.quality.incident_results import (
    AffectedDataset,
    FailingRun,
    IncidentRecord,
    IncidentRow,
    RoutedTo,
)
from threshold.quality.incident_results import (
    IncidentComment as CommentRow,
)
from threshold.quality.models import INCIDENT_STATUSES, Check, CheckRun, Incident, IncidentAffected, IncidentComment
from threshold.quality.transitions import allowed_actions, can_see
from threshold.store.models import Dataset, Domain, User


def _visible(viewer: Person) -> Any:
    """`incident.see` as a SQL condition over `Incident`: the rule of `threshold.access.rules`, in the shape a
    listing needs (tests/access/test_rules.py checks both agree)."""
    if sees_every_dataset(viewer):
        return true()
    routed = aliased(Domain)
    return or_(
        Incident.reporter_id == viewer.id,
        Incident.assignee_id == viewer.id,
        Incident.routed_domain_id.in_(select(routed.id).where(routed.name.in_(viewer.domains or ("",)))),
        Incident.dataset_id.in_(knowable_ids(viewer)),
    )


def list_incidents(
    platform: Platform,
    viewer: Person,
    *,
    domain: str | None = None,
    status: str | None = None,
    dataset: str | None = None,
    limit: int = 200,
) -> list[IncidentRow]:
    """Newest first. `domain`: routed to it; `status`: one status or `unresolved`; `dataset`: seen in or routed to."""
    with platform.store.session() as s:
        q = select(Incident).where(_visible(viewer))
        if domain:
            dom = s.scalar(select(Domain.id).where(Domain.name == domain.lower()))
            if dom is None:
                raise NotFound(f"no domain {domain!r}")
            q = q.where(Incident.routed_domain_id == dom)
        if status:
            if status == "unresolved":
                q = q.where(Incident.status != "verified")
            elif status not in INCIDENT_STATUSES:
                raise InvalidInput(f"unknown status {status!r}; use {', '.join(INCIDENT_STATUSES)} or unresolved")
            else:
                q = q.where(Incident.status == status)
        if dataset:
            ds = find_dataset(s, viewer, dataset).id
            q = q.where(or_(Incident.dataset_id == ds, Incident.routed_dataset_id == ds))
        rows = list(s.scalars(q.order_by(Incident.id.desc()).limit(max(1, min(limit, 1000)))))
        return _Context(platform, s, viewer).summaries(rows)


def _waiting_for(person: Person) -> Any:
    """Incidents that wait for `person`: open or acknowledged ones assigned to them or routed to a domain they
    own (to acknowledge and fix), and fixed ones they reported (to verify)."""
    owned = select(Domain.id).where(Domain.name.in_(person.owner_of or ("",)))
    to_fix = Incident.status.in_(("open", "acknowledged")) & or_(
        Incident.assignee_id == person.id, Incident.routed_domain_id.in_(owned)
    )
    to_verify = (Incident.status == "fixed") & (Incident.reporter_id == person.id)
    return or_(to_fix, to_verify) & _visible(person)


def waiting_for(platform: Platform, person: Person, *, limit: int = 20) -> list[IncidentRow]:
    """The incidents waiting for `person` (`_waiting_for`), oldest first."""
    with platform.store.session() as s:
        rows = list(s.scalars(select(Incident).where(_waiting_for(person)).order_by(Incident.id).limit(limit)))
        return _Context(platform, s, person).summaries(rows)


def waiting_count_query(person: Person) -> Select[int]:
    """How many incidents wait for `person` (`_waiting_for`), as one count the database makes."""
    return select(func.count(Incident.id)).where(_waiting_for(person))


def waiting_count(platform: Platform, person: Person) -> int:
    with platform.store.session() as s:
        return int(s.scalar(waiting_count_query(person)) or 0)


def get_incident(platform: Platform, viewer: Person, incident_id: int) -> IncidentRecord:
    with platform.store.session() as s:
        inc = s.get(Incident, incident_id)
        if inc is None or not can_see(s, viewer, inc):
            raise NotFound(f"no incident #{incident_id}")
        ctx = _Context(platform, s, viewer)
        (row,) = ctx.summaries([inc])
        query, query_hidden = ctx.query(inc)
        routing_hidden = inc.routed_dataset_id is not None and not ctx.knows(inc.routed_dataset_id)
        comments = [
            CommentRow(
                id=c.id,
                at=_iso(c.at),
                by=ctx.user(c.user_id) or "Threshold",
                event=c.event,
                # routing reasons name the datasets on the way: not when one of them is hidden from the viewer
                body="routed upstream through lineage"
                if routing_hidden and c.event in ("opened", "rerouted")
                else c.body,
            )
            for c in s.scalars(
                select(IncidentComment).where(IncidentComment.incident_id == inc.id).order_by(IncidentComment.id)
            )
        ]
        affected = [
            AffectedDataset(dataset=ctx.dataset_name(a.dataset_id), relation=a.relation, level=a.level, told=a.told)
            for a in s.scalars(
                select(IncidentAffected)
                .where(IncidentAffected.incident_id == inc.id)
                .order_by(IncidentAffected.level, IncidentAffected.dataset_id)
            )
        ]
        actions = allowed_actions(s, viewer, inc)
        run = s.get(CheckRun, inc.check_run_id) if inc.check_run_id else None
        check = s.get(Check, inc.check_id) if inc.check_id else None
        seen = s.get(Dataset, inc.dataset_id)
    failing = None
    if run is not None and seen is not None:
        failing = FailingRun(
            id=run.id,
            at=_iso(run.at),
            status=run.status,
            failing=run.failing,
            message=run.message,
            sample=samples.for_viewer(
                platform, viewer, seen.full_name, run.sample, kind=check.kind if check else ""
            ).to_json(),
        )
    return IncidentRecord(
        **vars(row),
        query=query,
        query_hidden=query_hidden,
        comments=comments,
        affected=affected,
        actions=actions,
        run=failing,
    )


class _Context:
    """Names and permissions looked up once per request."""

    def __init__(self, platform: Platform, s: Session, viewer: Person) -> None:
        self.platform, self.s, self.viewer = platform, s, viewer
        self._users: dict[int, str] = {}
        self._datasets: dict[int, tuple[str, int, bool]] = {}
        self._ids: dict[str, int | None] = {}
        """Dataset ids by full name (routing paths name datasets)."""
        self._domains = dict(s.execute(select(Domain.id, Domain.name)).all())

    def summaries(self, incidents: list[Incident]) -> list[IncidentRow]:
        """`summary` of each, with the datasets and people they name looked up first, one query each (a list of
        200 incidents would otherwise read their datasets, domains and people one by one)."""
        datasets: set[int] = set()
        users: set[int] = set()
        names: set[str] = set()
        for i in incidents:
            datasets.update(d for d in (i.dataset_id, i.routed_dataset_id) if d is not None)
            users.update(
                u
                for u in (i.reporter_id, i.assignee_id, i.acknowledged_by_id, i.fixed_by_id, i.verified_by_id)
                if u is not None
            )
            names.update(
                p.get("dataset") for p in (i.routing or {}).get("path", []) if isinstance(p.get("dataset"), str)
            )
        self._load_names(names - set(self._ids))
        datasets.update(d for d in (self._ids.get(n) for n in names) if d is not None)
        self._load_datasets(datasets - set(self._datasets))
        self._load_users(users - set(self._users))
        return [self.summary(i) for i in incidents]

    def _load_names(self, names: set[str]) -> None:
        if not names:
            return
        found = dict(
            self.s.execute(select(Dataset.full_name, Dataset.id).where(Dataset.full_name.in_(sorted(names)))).all()
        )
        self._ids.update({n: found.get(n) for n in names})

    def _load_datasets(self, ids: set[int]) -> None:
        if not ids:
            return
        rows = self.s.execute(
            select(
                Dataset.id,
                Dataset.full_name,
                Dataset.domain_id,
                Dataset.visibility,
                Domain.name,
                Domain.default_visibility,
            )
            .join(Domain, Domain.id == Dataset.domain_id)
            .where(Dataset.id.in_(sorted(ids)))
        )
        for dataset_id, full_name, domain_id, visibility, domain, default in rows:
            ref = DatasetRef(dataset_id, full_name, domain, visibility or default or "open")
            self._datasets[dataset_id] = (full_name, domain_id, knows(self.viewer, ref))
        for dataset_id in ids - set(self._datasets):
            self._datasets[dataset_id] = ("(removed)", 0, False)

    def _load_users(self, ids: set[int]) -> None:
        if not ids:
            return
        found = dict(self.s.execute(select(User.id, User.name).where(User.id.in_(sorted(ids)))).all())
        self._users.update({u: found.get(u) or f"user {u}" for u in ids})

    def user(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        if user_id not in self._users:
            self._users[user_id] = self.s.scalar(select(User.name).where(User.id == user_id)) or f"user {user_id}"
        return self._users[user_id]

    def _dataset(self, dataset_id: int) -> tuple[str, int, bool]:
        if dataset_id not in self._datasets:
            ds = self.s.get(Dataset, dataset_id)
            self._datasets[dataset_id] = (
                (ds.full_name, ds.domain_id, knows(self.viewer, DatasetRef.of(ds))) if ds else ("(removed)", 0, False)
            )
        return self._datasets[dataset_id]

    def knows(self, dataset_id: int) -> bool:
        return self._dataset(dataset_id)[2]

    def dataset_name(self, dataset_id: int | None) -> str | None:
        """The name, or only its domain when the viewer may not know the dataset exists."""
        if dataset_id is None:
            return None
        name, domain_id, known = self._dataset(dataset_id)
        return name if known else f"a dataset of {self._domains.get(domain_id, 'another domain')} you may not see"

    def summary(self, i: Incident) -> IncidentRow:
        routed_known = i.routed_dataset_id is None or self._dataset(i.routed_dataset_id)[2]
        routing = dict(i.routing or {})
        if not routed_known:
            routing = {"method": routing.get("method"), "reason": "routed upstream through lineage", "path": []}
        else:
            routing["path"] = [
                p
                if self._knows_name(p.get("dataset"))
                else {"dataset": "a dataset you may not see", "kind": p.get("kind")}
                for p in routing.get("path", [])
            ]
        return IncidentRow(
            id=i.id,
            kind=i.kind,
            title=i.title,
            description=i.description,
            status=i.status,
            dataset=self.dataset_name(i.dataset_id),
            column=i.column_name,
            insight=i.insight,
            routed_to=RoutedTo(
                dataset=self.dataset_name(i.routed_dataset_id),
                column=i.routed_column if routed_known else None,
                domain=self._domains.get(i.routed_domain_id),
            ),
            domain=self._domains.get(i.routed_domain_id),
            routing=routing,
            reporter=self.user(i.reporter_id),
            assignee=self.user(i.assignee_id),
            check=i.check_id,
            occurrences=i.occurrences,
            reopened=i.reopened,
            opened_at=_iso(i.opened_at),
            last_seen_at=_iso(i.last_seen_at),
            acknowledged_at=_iso(i.acknowledged_at),
            acknowledged_by=self.user(i.acknowledged_by_id),
            fixed_at=_iso(i.fixed_at),
            fixed_by=self.user(i.fixed_by_id),
            verified_at=_iso(i.verified_at),
            verified_by=self.user(i.verified_by_id),
            verified_via=i.verified_via,
            hours_to_acknowledge=_hours(i.opened_at, i.acknowledged_at),
            hours_to_fix=_hours(i.opened_at, i.fixed_at),
            link=f"/incidents/{i.id}",
        )

    def _knows_name(self, full_name: Any) -> bool:
        if not isinstance(full_name, str):
            return True
        if full_name not in self._ids:
            self._ids[full_name] = self.s.scalar(select(Dataset.id).where(Dataset.full_name == full_name))
        ds = self._ids[full_name]
        return ds is None or self._dataset(ds)[2]

    def query(self, i: Incident) -> tuple[str | None, str | None]:
        """(the reporter's query, or None with the reason it is hidden)."""
        if not i.query:
            return None, None
        if self.viewer.id == i.reporter_id:
            return i.query, None
        from threshold.access.reading import decide
        from threshold.sql.check import check

        try:
            names = check(i.query).datasets
        except InvalidInput:
            return None, "the query no longer parses"
        decisions = decide(self.platform, self.viewer, names, None)
        if len(decisions) == len(names) and all(d.allowed for d in decisions):
            return i.query, None
        return None, "the query is shown only to people who may read every dataset it reads"


def _hours(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return round((_aware(b) - _aware(a)).total_seconds() / 3600, 2)


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def _iso(d: datetime | None) -> str | None:
    return _aware(d).isoformat(timespec="seconds") if d is not None else None
