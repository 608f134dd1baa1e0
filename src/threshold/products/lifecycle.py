"""A dataset's life as a product: shared -> candidate -> product -> deprecated -> retired.

Promotion gives a dataset (or several, from several domains) an accountable owner, a description
for consumers, a contract (ODCS v3) checked against the real table, a freshness SLO and a semantic
version. Deprecation names a replacement and tells everyone who used the product in the last
`deprecation_notice_days` days (inbox, and the webhooks of their domains). Retirement ends the
product: it is no longer served outside its domain (its visibility becomes `restricted`), and its
history stays.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from threshold.access import DatasetRef, DomainRef, ProductRef, knowable, may, no_dataset, refs, require
from threshold.errors import Conflict, InvalidInput, NotFound
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.products import consumption, contracts
from threshold.products.lookup import dataset_ref, iso, memberships
from threshold.products.models import Candidate, Contract, OwnerDecision, Product, ProductDataset
from threshold.products.results import Badge, Notified, ProductPart, ProductRecord, ProductRow
from threshold.quality import contract_runs
from threshold.store.models import Dataset, Domain, Share, User


def promote(
    platform: Platform,
    person: Person,
    dataset: str,
    *,
    owner: str | None = None,
    contract: str | None = None,
    parts: list[str] | tuple[str, ...] = (),
    description: str | None = None,
    freshness_hours: int | None = None,
) -> ProductRecord:
    """Make `dataset` (with `parts` from any domain) a data product owned by `owner`."""
    from threshold.notifications.service import domain_owners, emit, notify

    with platform.store.session() as s:
        ref = dataset_ref(s, dataset, person)
        require(person, "product.promote", DomainRef(ref.domain))
        existing = s.scalars(select(Product).where(Product.dataset_id == ref.id)).one_or_none()
        if existing is not None:
            raise Conflict(f"{ref.full_name} is a product already ({existing.status}, version {existing.version})")
        others = [
            dataset_ref(s, p, person) for p in dict.fromkeys(x.strip().lower() for x in parts) if p != ref.full_name
        ]
        owner_row = _owner(s, ref.id, owner)
        draft = s.scalars(
            select(Contract)
            .where(Contract.dataset_id == ref.id, Contract.product_id.is_(None))
            .order_by(Contract.id.desc())
        ).first()
    names = [ref.full_name] + [o.full_name for o in others]
    text = contract if contract is not None else (draft.document if draft is not None else None)
    if text is not None:
        doc = contracts.parse(text)
        described = contracts.datasets_of(doc)
        if described[0] != ref.full_name or (parts and set(described) != set(names)):
            raise InvalidInput(
                f"the contract describes {', '.join(described)}; promoting {', '.join(names)} needs a contract "
                "for exactly those datasets (the first one is the product)"
            )
        names = described
        with platform.store.session() as s:
            for n in described[1:]:
                dataset_ref(s, n, person)
        contracts.semver(doc.version)
    else:
        from threshold.products.candidates import suggested_freshness

        hours = freshness_hours or suggested_freshness(platform, ref.full_name)
        doc = contracts.build(
            platform, names, owner=owner_row.name, status="active", description=description, freshness=hours
        )
        text = contracts.dump(doc)
    evaluation = contracts.checked(platform, doc, names, owner_row.id)
    status = evaluation.status
    version = str(doc.version or "1.0.0")
    now = evaluation.at  # the platform's clock when the contract's checks ran
    with platform.store.session() as s:
        ids = [dataset_ref(s, n).id for n in names]
        product = Product(
            dataset_id=ref.id,
            owner_id=owner_row.id,
            description=description or (doc.description.usage if doc.description else None) or "",
            version=version,
            freshness_hours=freshness_hours or contracts.freshness_hours(doc),
            status="active",
            promoted_by_id=person.id,
            created_at=now,
        )
        s.add(product)
        s.flush()
        for pos, i in enumerate(ids):
            s.add(ProductDataset(product_id=product.id, dataset_id=i, position=pos))
        if draft is not None and contract is None:
            row = s.get(Contract, draft.id)
            assert row is not None
            row.product_id = product.id
            row.rules = contract_runs.keep(s, evaluation, user_id=person.id, reuse=contracts.check_ids(row.rules))
        else:
            row = Contract(
                dataset_id=ref.id,
                product_id=product.id,
                version=version,
                document=text,
                created_by_id=person.id,
                created_at=now,
            )
            s.add(row)
            s.flush()
            row.rules = contract_runs.keep(s, evaluation, user_id=person.id)
        ds = s.get(Dataset, ref.id)
        assert ds is not None
        ds.stage = "product"
        cand = s.scalars(select(Candidate).where(Candidate.dataset_id == ref.id)).one_or_none()
        if cand is None:
            s.add(Candidate(dataset_id=ref.id, status="promoted", reviewed_by_id=person.id, reviewed_at=now))
        else:
            cand.status, cand.reviewed_by_id, cand.reviewed_at = "promoted", person.id, now
        _settle_proposals(s, ref.id, owner_row.id, person.id, now)
    contract_runs.follow_up(platform, evaluation)
    payload = {
        "dataset": ref.full_name,
        "owner": owner_row.name,
        "version": version,
        "datasets": names,
        "contract": status,
    }
    if owner_row.id != person.id:
        notify(
            platform,
            [owner_row.id],
            "product.promoted",
            f"You own {ref.full_name}, a data product now",
            body=f"{person.name} promoted it with contract {version} ({status}).",
            link=f"/products/{ref.full_name}",
            dataset_id=ref.id,
            data=payload,
        )
    emit(platform, ref.domain, "product.promoted", payload)
    for domain in sorted({n.split(".")[0] for n in names[1:]} - {ref.domain}):
        notify(
            platform,
            domain_owners(platform, domain),
            "product.promoted",
            f"{ref.full_name} is a product built on {domain}'s data",
            link=f"/products/{ref.full_name}",
            data=payload,
        )
        emit(platform, domain, "product.promoted", payload)
    return product_view(platform, ref.full_name, viewer=person)


def _owner(s: Any, dataset_id: int, owner: str | None) -> User:
    """The named owner, or the person who accepted ownership; a person who declined is not made owner."""
    decisions = list(
        s.scalars(select(OwnerDecision).where(OwnerDecision.dataset_id == dataset_id).order_by(OwnerDecision.id))
    )
    if owner is None:
        accepted = next((d for d in reversed(decisions) if d.status == "accepted"), None)
        if accepted is None:
            raise InvalidInput(
                "name the accountable owner (--owner USER), or have a suggested owner accept first "
                "(threshold owners suggest / propose)"
            )
        row = s.get(User, accepted.user_id)
    else:
        row = s.scalars(select(User).where(User.name == owner.strip())).one_or_none()
        if row is None:
            raise NotFound(f"no user {owner[:60]!r}")
    latest = next((d for d in reversed(decisions) if d.user_id == row.id and d.status != "withdrawn"), None)
    if latest is not None and latest.status == "declined":
        raise Conflict(f"{row.name} declined ownership: {latest.reason}")
    return row  # type: ignore[no-any-return]


def _settle_proposals(s: Any, dataset_id: int, owner_id: int, by: int, now: datetime) -> None:
    """The owner's agreement is recorded (named at promotion counts as accepted); open proposals close."""
    decisions = list(s.scalars(select(OwnerDecision).where(OwnerDecision.dataset_id == dataset_id)))
    if not any(d.user_id == owner_id and d.status == "accepted" for d in decisions):
        s.add(
            OwnerDecision(
                dataset_id=dataset_id,
                user_id=owner_id,
                status="accepted",
                reason="named at promotion",
                proposed_by_id=by,
                decided_by_id=by,
                decided_at=now,
            )
        )
    for d in decisions:
        if d.status == "proposed":
            d.status, d.decided_at = ("accepted", now) if d.user_id == owner_id else ("withdrawn", now)


def _product_of(s: Any, dataset: str, viewer: Person | None = None) -> tuple[Any, Product]:
    """The product of `dataset`; a retired (restricted) product stays known to its owner (`product.know`)."""
    try:
        ref = dataset_ref(s, dataset)
    except NotFound:
        raise no_dataset(dataset) from None
    product = s.scalars(select(Product).where(Product.dataset_id == ref.id)).one_or_none()
    plain = DatasetRef(ref.id, ref.full_name, ref.domain, ref.visibility)
    if not may(viewer, "product.know", ProductRef(plain, product.owner_id if product else None)):
        raise no_dataset(dataset)
    if product is None:
        raise NotFound(f"{ref.full_name} is not a data product (stage {ref.stage}); promote it first")
    return ref, product


def _product_ref(ref: Any, product: Product) -> ProductRef:
    return ProductRef(DatasetRef(ref.id, ref.full_name, ref.domain, ref.visibility), product.owner_id)


def deprecate(
    platform: Platform, person: Person, dataset: str, *, replacement: str | None = None, reason: str = ""
) -> ProductRecord:
    """Deprecate a product, name its replacement, and tell everyone who used it recently."""
    with platform.store.session() as s:
        ref, product = _product_of(s, dataset, person)
        require(person, "product.manage", _product_ref(ref, product))
        if product.status != "active":
            raise Conflict(f"{ref.full_name} is {product.status} already")
        other = dataset_ref(s, replacement, person) if replacement else None
        if other is not None and other.id == ref.id:
            raise InvalidInput("a product cannot replace itself")
        p = s.get(Product, product.id)
        assert p is not None
        p.status, p.deprecated_at, p.deprecation_reason = "deprecated", platform.clock(), reason.strip()
        p.replacement_id = other.id if other else None
        ds = s.get(Dataset, ref.id)
        assert ds is not None
        ds.stage = "deprecated"
    told = _tell_consumers(
        platform,
        ref,
        product.id,
        "product.deprecated",
        f"{ref.full_name}, which you use, is deprecated" + (f": use {other.full_name} instead" if other else ""),
        body=reason.strip(),
        replacement=other.full_name if other else None,
    )
    return replace(product_view(platform, ref.full_name, viewer=person), notified=told)


def retire(platform: Platform, person: Person, dataset: str, *, reason: str = "") -> ProductRecord:
    """End a deprecated product: no longer served outside its domain; consumers are told once more."""
    with platform.store.session() as s:
        ref, product = _product_of(s, dataset, person)
        require(person, "product.manage", _product_ref(ref, product))
        if product.status != "deprecated":
            raise Conflict(f"{ref.full_name} is {product.status}: deprecate it first, so its consumers are told")
        replacement = s.get(Dataset, product.replacement_id) if product.replacement_id else None
        p = s.get(Product, product.id)
        ds = s.get(Dataset, ref.id)
        assert p is not None and ds is not None
        p.status, p.retired_at = "retired", platform.clock()
        p.visibility_before_retirement = ds.visibility
        ds.visibility, ds.stage = "restricted", "retired"
    told = _tell_consumers(
        platform,
        ref,
        product.id,
        "product.retired",
        f"{ref.full_name} is retired",
        body=reason.strip(),
        replacement=replacement.full_name if replacement else None,
    )
    return replace(product_view(platform, ref.full_name, viewer=person), notified=told)


def _tell_consumers(
    platform: Platform, ref: Any, product_id: int, kind: str, title: str, *, body: str, replacement: str | None
) -> Notified:
    """Inbox of every recent consumer of the product's datasets; webhook of each of their domains."""
    from threshold.notifications.service import emit, notify

    days = platform.settings.products.deprecation_notice_days
    since = platform.clock() - timedelta(days=days)
    with platform.store.session() as s:
        ids = list(s.scalars(select(ProductDataset.dataset_id).where(ProductDataset.product_id == product_id)))
        domains_of = memberships(s)
        names = dict(s.execute(select(User.id, User.name)).all())
    users = set().union(*consumption.usage_since(platform, ids or [ref.id], since).values())
    link = f"/products/{ref.full_name}"
    data = {"dataset": ref.full_name, "replacement": replacement}
    n = notify(platform, sorted(users), kind, title, body=body, link=link, dataset_id=ref.id, data=data)
    by_domain: dict[str, list[str]] = defaultdict(list)
    for uid in users:
        for d in domains_of.get(uid, ()):
            by_domain[d].append(names.get(uid, str(uid)))
    domains = sorted(set(by_domain) | {ref.domain})
    for d in domains:
        emit(platform, d, kind, data | {"consumers": sorted(by_domain.get(d, [])), "reason": body})
    return Notified(people=n, domains=domains, since=iso(since))


def product_view(platform: Platform, dataset: str, *, viewer: Person | None = None) -> ProductRecord:
    """A product: owner, description, version, status and badges, its datasets, contract and checks."""
    with platform.store.session() as s:
        ref, product = _product_of(s, dataset, viewer)
        may_manage = bool(may(viewer, "product.manage", _product_ref(ref, product)))
        owner = s.get(User, product.owner_id)
        every_part = s.execute(
            select(Dataset.full_name, Domain.name, Dataset.id, knowable(viewer).label("known"))
            .join(ProductDataset, ProductDataset.dataset_id == Dataset.id)
            .join(Domain, Domain.id == Dataset.domain_id)
            .where(ProductDataset.product_id == product.id)
            .order_by(ProductDataset.position)
        ).all()
        parts = [(n, d, i) for n, d, i, known in every_part if known]
        whole = len(parts) == len(every_part)  # else the contract would describe a dataset hidden from the viewer
        replacement = s.scalars(
            select(Dataset).where(Dataset.id == product.replacement_id, knowable(viewer))
        ).one_or_none()
        last_share = s.scalar(select(Share.at).where(Share.dataset_id == ref.id).order_by(Share.at.desc()).limit(1))
        promoted_by = s.get(User, product.promoted_by_id) if product.promoted_by_id else None
    latest = contracts.current(platform, ref.id)
    contract = contracts.contract_dict(platform, latest) if latest else None
    fresh = _freshness(product.freshness_hours, last_share, platform.clock())
    badges = [
        Badge("status", product.status, {"active": "ok", "deprecated": "warn"}.get(product.status, "bad")),
        Badge("version", f"v{product.version}", "neutral"),
        Badge(
            "contract",
            f"contract {contract.status if contract else 'missing'}",
            {"passed": "ok", "failed": "bad"}.get(contract.status if contract else "", "warn"),
        ),
        Badge("freshness", fresh["label"], fresh["tone"]),
    ]
    return ProductRecord(
        dataset=ref.full_name,
        domain=ref.domain,
        status=product.status,
        version=product.version,
        owner=owner.name if owner else None,
        owner_display_name=(owner.display_name or owner.name) if owner else None,
        description=product.description,
        datasets=[ProductPart(n, d) for n, d, _i in parts],
        domains=sorted({d for _n, d, _i in parts}),
        cross_domain=len({d for _n, d, _i in parts}) > 1,
        freshness_hours=product.freshness_hours,
        freshness=fresh,
        badges=badges,
        promoted_by=promoted_by.name if promoted_by else None,
        promoted_at=iso(product.created_at),
        deprecated_at=iso(product.deprecated_at),
        retired_at=iso(product.retired_at),
        deprecation_reason=product.deprecation_reason or None,
        replacement=replacement.full_name if replacement else None,
        contract=contract.to_json() | {"document": latest.document} if contract and latest and whole else None,
        contracts=contracts.history(platform, ref.id) if whole else [],
        may_manage=may_manage,
    )


def _freshness(hours: int | None, last: datetime | None, now: datetime) -> dict[str, Any]:
    if last is None:
        return {"label": "no data", "tone": "bad", "age_hours": None, "met": False}
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    age = round((now - last).total_seconds() / 3600, 1)
    if hours is None:
        return {"label": "no freshness SLO", "tone": "warn", "age_hours": age, "met": None, "last_update": iso(last)}
    met = age <= hours
    return {
        "label": f"fresh ({age:g} h ≤ {hours} h)" if met else f"stale ({age:g} h > {hours} h)",
        "tone": "ok" if met else "bad",
        "age_hours": age,
        "met": met,
        "last_update": iso(last),
    }


def list_products(platform: Platform, *, viewer: Person | None = None, status: str | None = None) -> list[ProductRow]:
    """The data products the viewer may know, by name, with their owner, version, status and contract."""
    with platform.store.session() as s:
        q = (
            select(Product, Dataset.full_name, Domain.name, User.name)
            .join(Dataset, Dataset.id == Product.dataset_id)
            .join(Domain, Domain.id == Dataset.domain_id)
            .join(User, User.id == Product.owner_id)
            .order_by(Dataset.full_name)
        )
        if status:
            q = q.where(Product.status == status)
        rows = s.execute(q).all()
        seen = refs(s, viewer, [p.dataset_id for p, *_ in rows])
        current = {
            c.dataset_id: c
            for c in s.scalars(select(Contract).where(Contract.product_id.is_not(None)).order_by(Contract.id))
        }
        parts: dict[int, list[str]] = defaultdict(list)
        known = set(s.scalars(select(Dataset.full_name).where(knowable(viewer))))
        for pid, name in s.execute(
            select(ProductDataset.product_id, Dataset.full_name).join(Dataset).order_by(ProductDataset.position)
        ):
            if name in known:
                parts[pid].append(name)
    checked = contracts.statuses(platform, list(current.values()))
    contract_status = {dataset_id: checked[c.id] for dataset_id, c in current.items()}
    return [
        ProductRow(
            dataset=name,
            domain=domain,
            owner=owner,
            status=p.status,
            version=p.version,
            contract=contract_status.get(p.dataset_id, "missing"),
            datasets=parts.get(p.id, [name]),
            freshness_hours=p.freshness_hours,
            description=p.description,
            promoted_at=iso(p.created_at),
        )
        for p, name, domain, owner in rows
        if may(viewer, "product.know", ProductRef(seen[p.dataset_id], p.owner_id))
    ]
