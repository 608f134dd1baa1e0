"""Who hears about an incident, and telling them: inbox messages and the domains' webhooks.

When an incident opens, the datasets it touches are the routed one (where it is fixed), the one it was
seen in, and every dataset built on the routed one (lineage, downstream). The people told:
1. the routed domain's owners and the assignee (`incident.opened`): they fix it;
2. the owners of the domain it was seen in, when that is another domain (`incident.opened`);
3. the owners of downstream datasets (`incident.upstream`): their data is built on it;
4. everyone who read an affected dataset in the last 30 days (`incident.affects`), check runs excepted.
Each person gets one message (the first reason that applies); the reporter gets none. The routed and
seen domains' webhooks get `incident.opened`, downstream domains' webhooks `incident.upstream`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from threshold.notifications.service import emit, notify
from threshold.platform import Platform
from threshold.quality.incident_results import AffectedDataset
from threshold.quality.models import IncidentAffected
from threshold.quality.routing import Route, downstream
from threshold.store.models import Dataset, Domain, Membership, User
from threshold.usage.service import RECENT_DAYS, recent_consumers


def owners(platform: Platform, domain_ids: list[int]) -> dict[int, list[int]]:
    """Owner user ids per domain id, by name."""
    out: dict[int, list[int]] = {d: [] for d in domain_ids}
    with platform.store.session() as s:
        rows = s.execute(
            select(Membership.domain_id, Membership.user_id)
            .join(User, User.id == Membership.user_id)
            .where(Membership.domain_id.in_(domain_ids), Membership.role == "owner")
            .order_by(User.name)
        )
        for domain_id, user_id in rows:
            out[domain_id].append(user_id)
    return out


def tell_opened(
    platform: Platform,
    incident_id: int,
    title: str,
    route: Route,
    seen_dataset_id: int,
    assignee_id: int | None,
    reporter_id: int | None,
    payload: dict[str, Any],
) -> list[AffectedDataset]:
    """Tell everyone concerned; record the affected datasets and who was told. Returns the affected list."""
    affected: list[tuple[int, str, int]] = [(route.dataset_id, "routed", 0)]
    if seen_dataset_id != route.dataset_id:
        affected.append((seen_dataset_id, "seen", 0))
    known = {d for d, _, _ in affected}
    affected += [(d, "downstream", level) for d, level in downstream(platform, route.dataset_id) if d not in known]
    ids = [d for d, _, _ in affected]
    with platform.store.session() as s:
        info = {
            d: (name, dom_id, dom)
            for d, name, dom_id, dom in s.execute(
                select(Dataset.id, Dataset.full_name, Dataset.domain_id, Domain.name)
                .join(Domain, Domain.id == Dataset.domain_id)
                .where(Dataset.id.in_(ids))
            )
        }
        names = dict(s.execute(select(User.id, User.name)).all())
    domain_owners = owners(platform, sorted({info[d][1] for d in ids if d in info}))
    with platform.store.reader() as s:
        consumers = {d: [e["user_id"] for e in rows] for d, rows in recent_consumers(s, ids).items()}
    told: set[int] = {reporter_id} if reporter_id is not None else set()
    per_dataset: dict[int, list[int]] = {d: [] for d in ids}
    link = f"/incidents/{incident_id}"
    routed_name = info.get(route.dataset_id, (route.dataset,))[0]

    def send(users: list[int], dataset_id: int, kind: str, message: str, body: str) -> None:
        fresh = [u for u in dict.fromkeys(users) if u not in told]
        if fresh:
            notify(
                platform,
                fresh,
                kind,
                message,
                body=body,
                link=link,
                dataset_id=dataset_id,
                data={"incident": incident_id},
            )
            told.update(fresh)
            per_dataset[dataset_id].extend(fresh)

    for d, relation, _level in affected:
        if d not in info:
            continue
        name, dom_id, _dom = info[d]
        if relation == "routed":
            send(
                [*([assignee_id] if assignee_id else []), *domain_owners.get(dom_id, [])],
                d,
                "incident.opened",
                f"Incident #{incident_id} for you: {title}",
                route.reason,
            )
        elif relation == "seen" and info[d][1] != route.domain_id:
            send(
                domain_owners.get(dom_id, []),
                d,
                "incident.opened",
                f"Incident #{incident_id} seen in {name}: {title}",
                route.reason,
            )
        elif relation == "downstream":
            send(
                domain_owners.get(dom_id, []),
                d,
                "incident.upstream",
                f"A problem upstream of {name} (incident #{incident_id}): {title}",
                f"{name} is built on {routed_name}, where incident #{incident_id} is being fixed.",
            )
    for d, _relation, _level in affected:
        if d in info:
            send(
                consumers.get(d, []),
                d,
                "incident.affects",
                f"Data you used may be affected: {title}",
                f"You read {info[d][0]} in the last {RECENT_DAYS} days; incident #{incident_id} touches it.",
            )
    with platform.store.session() as s:
        for d, relation, level in affected:
            s.add(
                IncidentAffected(
                    incident_id=incident_id,
                    dataset_id=d,
                    relation=relation,
                    level=level,
                    told=[names.get(u, str(u)) for u in per_dataset[d]],
                )
            )
    emitted = {route.domain}
    emit(platform, route.domain, "incident.opened", payload)
    seen_domain = info.get(seen_dataset_id, (None, None, None))[2]
    if seen_domain and seen_domain not in emitted:
        emitted.add(seen_domain)
        emit(platform, seen_domain, "incident.opened", payload)
    for d, relation, _ in affected:
        dom = info.get(d, (None, None, None))[2]
        if relation == "downstream" and dom and dom not in emitted:
            emitted.add(dom)
            emit(platform, dom, "incident.upstream", payload | {"affected_dataset": info[d][0]})
    return [
        AffectedDataset(dataset=info[d][0], relation=r, level=lv, told=[names.get(u, str(u)) for u in per_dataset[d]])
        for d, r, lv in affected
        if d in info
    ]
