"""Data contracts in the Open Data Contract Standard v3 (ODCS): build, export, import, compare.

A contract has one schema object per dataset of the product (`physicalName` is `domain.dataset`),
its properties are the columns, quality rules sit on objects and properties, and the freshness SLO is
the `latency` SLA property. Documents are validated against the ODCS JSON schema shipped with the
`open-data-contract-standard` package and read into its pydantic model.

Versions are semantic: every new contract of a product has a higher version, and a breaking schema
change (a column removed, its type changed, a guarantee such as `required` dropped) needs a new
major version.
"""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import datetime
from typing import Any

from open_data_contract_standard.model import OpenDataContractStandard
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from threshold.access import DatasetRef, ProductRef, may
from threshold.errors import Conflict, Denied, InvalidInput, NotFound
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.products.collected import collected as collected_properties
from threshold.products.contract_document import (
    API_VERSION,
    Change,
    compare,
    datasets_of,
    dump,
    freshness_hours,
    parse,
    same_contract,
    semver,
)
from threshold.products.lookup import dataset_ref, iso
from threshold.products.models import Contract, Product, ProductDataset
from threshold.products.results import (
    ContractChange,
    ContractChecked,
    ContractPublished,
    ContractUnchanged,
    ContractVersionRow,
    ContractView,
    GeneratedDraft,
    ImportedDraft,
)
from threshold.quality import contract_runs
from threshold.quality.kinds.schema import logical_type
from threshold.store.models import Column, Dataset, User

_KEY = re.compile(r"(^id$|_id$|_code$|_key$|^code$|^key$)")


def build(
    platform: Platform,
    names: list[str],
    *,
    product: Product | None = None,
    owner: str | None = None,
    version: str = "1.0.0",
    status: str = "proposed",
    description: str | None = None,
    freshness: int | None = None,
) -> OpenDataContractStandard:
    """A contract generated from the datasets as they are: a draft to edit, or the one a promotion writes."""
    with platform.store.session() as s:
        rows = {
            d.full_name: d
            for d in s.scalars(
                select(Dataset)
                .where(Dataset.full_name.in_(names))
                .options(selectinload(Dataset.columns), selectinload(Dataset.tags), selectinload(Dataset.domain))
            )
        }
        missing = [n for n in names if n not in rows]
        if missing:
            raise NotFound(f"no dataset {missing[0]!r}")
        main = rows[names[0]]
        owner_row = s.scalars(select(User).where(User.name == owner)).one_or_none() if owner else None
        objects = [_object(rows[n]) for n in names]
        main_description, main_purpose, domain = main.description, main.purpose, main.domain.name
        collected = collected_properties(s, main.id)
    doc: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "DataContract",
        "id": f"threshold:{names[0]}",
        "name": names[0].split(".", 1)[1],
        "version": version,
        "status": status,
        "domain": domain,
        "dataProduct": names[0],
        "description": {
            "usage": description or main_description or f"{names[0]} as a data product",
            "purpose": main_purpose or None,
            "limitations": "Personal columns are masked for readers outside the domain unless their access "
            "request's purpose allows personal data.",
        },
        "schema": objects,
        "contractCreatedTs": platform.clock().isoformat(timespec="seconds"),
    }
    if freshness:
        doc["slaProperties"] = [
            {
                "property": "latency",
                "value": freshness,
                "unit": "h",
                "description": "the newest data is at most this old",
            }
        ]
    if owner_row is not None:
        doc["team"] = [{"username": owner_row.name, "name": owner_row.display_name or owner_row.name, "role": "owner"}]
    if collected:
        doc["customProperties"] = collected  # the collection register: purpose, legal basis, retention ...
    doc["support"] = [{"channel": "threshold", "url": f"/products/{names[0]}", "description": "product page"}]
    doc["description"] = {k: v for k, v in doc["description"].items() if v}
    return OpenDataContractStandard(**doc)


def _object(d: Dataset) -> dict[str, Any]:
    tags: dict[str, list[str]] = {}
    for t in d.tags:
        if t.column_name:
            tags.setdefault(t.column_name, []).append(t.tag)
    props = []
    for c in d.columns:
        p: dict[str, Any] = {"name": c.name, "logicalType": logical_type(c.type), "physicalType": c.type}
        if c.label and c.label != c.name:
            p["description"] = f"source label: {c.label}"
        if not c.nullable:
            p["required"] = True
        ctags = sorted(tags.get(c.name, []))
        if ctags:
            p["tags"] = ctags
        p["classification"] = (
            "restricted" if any(t.startswith("personal") or t == "confidential" for t in ctags) else ("internal")
        )
        if _suggest_not_null(c.name, c.type, c.null_fraction, d.row_count):
            p["quality"] = [
                {
                    "type": "library",
                    "metric": "nullValues",
                    "mustBe": 0,
                    "unit": "rows",
                    "description": f"{c.name} is never empty",
                }
            ]
        props.append(p)
    obj: dict[str, Any] = {
        "name": d.name,
        "physicalName": d.full_name,
        "physicalType": "table",
        "logicalType": "object",
        "properties": props,
        "quality": [{"type": "library", "metric": "rowCount", "mustBeGreaterThan": 0, "description": "not empty"}],
    }
    if d.description:
        obj["description"] = d.description
    return obj


def draft_summary(platform: Platform, dataset: str) -> ImportedDraft | GeneratedDraft:
    """What a promotion's contract would hold today (columns, suggested checks), or the draft imported."""
    with platform.store.session() as s:
        ref = dataset_ref(s, dataset)
        draft = s.scalars(
            select(Contract)
            .where(Contract.dataset_id == ref.id, Contract.product_id.is_(None))
            .order_by(Contract.id.desc())
        ).first()
        columns = (
            s.connection()
            .execute(select(Column.name, Column.type, Column.null_fraction).where(Column.dataset_id == ref.id))
            .all()
        )
        rows = s.scalar(select(Dataset.row_count).where(Dataset.id == ref.id)) or 0
    if draft is not None:
        return ImportedDraft("imported draft", draft.version, statuses(platform, [draft])[draft.id])
    checks = 1 + sum(1 for name, ctype, nulls in columns if _suggest_not_null(name, ctype, nulls, rows))
    return GeneratedDraft(
        "generated from the table", len(columns), checks, export=f"threshold contract export {ref.full_name}"
    )


def _suggest_not_null(name: str, ctype: str, null_fraction: float | None, rows: int) -> bool:
    """A generated contract promises no empty values for key-like and date columns that have none today."""
    return null_fraction == 0 and bool(rows) and (bool(_KEY.search(name)) or logical_type(ctype) == "date")


def _require_manage(person: Person, ref: Any, product: Product | None, what: str) -> None:
    """`product.manage` (a dataset not yet a product: owners of its domain)."""
    target = ProductRef(
        DatasetRef(ref.id, ref.full_name, ref.domain, ref.visibility), product.owner_id if product else None
    )
    answer = may(person, "product.manage", target)
    if not answer:
        raise Denied(f"only the product's owner or owners of {ref.domain} {what} (rule {answer.rule})")


def current(platform: Platform, dataset_id: int) -> Contract | None:
    """The newest contract of a dataset's product (or its newest draft)."""
    with platform.store.session() as s:
        return s.scalars(select(Contract).where(Contract.dataset_id == dataset_id).order_by(Contract.id.desc())).first()


def export(platform: Platform, dataset: str, *, viewer: Person | None = None) -> str:
    """The ODCS YAML of a product's current contract; for a dataset that is not a product, a generated draft."""
    with platform.store.session() as s:
        ref = dataset_ref(s, dataset, viewer)
        product = s.scalars(select(Product).where(Product.dataset_id == ref.id)).one_or_none()
        owner = s.get(User, product.owner_id).name if product else None  # type: ignore[union-attr]
    latest = current(platform, ref.id)
    if latest is not None:
        doc = parse(latest.document)
        if product is not None:
            doc.status = product.status
        return dump(doc)
    return dump(build(platform, [ref.full_name], owner=owner, status="draft"))


def import_contract(platform: Platform, person: Person, text: str) -> ContractPublished | ContractUnchanged:
    """Publish a contract: a new version of a product's contract, or a draft for a dataset to be promoted.

    The version must be higher than the current one, a breaking change needs a new major version, and
    the contract's schema must match the real table. Its rules become the datasets' contract checks
    (quality's, run now and then on every share and schedule) and the view reads their runs.
    """
    contract = parse(text)
    names = datasets_of(contract)
    version = str(contract.version or "")
    semver(version)
    with platform.store.session() as s:
        ref = dataset_ref(s, names[0], person)
        product = s.scalars(select(Product).where(Product.dataset_id == ref.id)).one_or_none()
        _require_manage(person, ref, product, "publish its contract")
        if product is not None and product.status == "retired":
            raise Conflict(f"{ref.full_name} was retired; a retired product takes no new contract")
        parts = (
            list(s.scalars(select(ProductDataset.dataset_id).where(ProductDataset.product_id == product.id)))
            if (product)
            else []
        )
        owner_id = product.owner_id if product else person.id
    latest = current(platform, ref.id)
    changes: list[Change] = []
    if latest is not None:
        if latest.version == version and same_contract(parse(latest.document), contract):
            return ContractUnchanged(**_view_fields(contract_dict(platform, latest)), changes=[])
        if semver(version) <= semver(latest.version):
            raise Conflict(f"contract version {version} must be higher than the current {latest.version}")
        changes = compare(parse(latest.document), contract)
        breaking = [c.text for c in changes if c.breaking]
        if breaking and semver(version)[0] == semver(latest.version)[0]:
            major = f"{semver(latest.version)[0] + 1}.0.0"
            raise Conflict(
                f"a breaking change needs a new major version ({major}, not {version}): {'; '.join(breaking)}"
            )
    if product is not None:
        with platform.store.session() as s:
            wanted = {dataset_ref(s, n, person).id for n in names}
        if wanted != set(parts):
            raise Conflict(
                f"the contract describes {', '.join(names)}; the product {ref.full_name} is made of "
                "other datasets (promote a new product to change what it combines)"
            )
    evaluation = checked(platform, contract, names, owner_id)
    with platform.store.session() as s:
        row = Contract(
            dataset_id=ref.id,
            product_id=product.id if product else None,
            version=version,
            document=text,
            created_by_id=person.id,
        )
        s.add(row)
        s.flush()
        row.rules = contract_runs.keep(s, evaluation, user_id=person.id)
        if product is not None:
            p = s.get(Product, product.id)
            assert p is not None
            p.version = version
            p.freshness_hours = freshness_hours(contract) or p.freshness_hours
            if contract.description and contract.description.usage:
                p.description = contract.description.usage
        row_id = row.id
    contract_runs.follow_up(platform, evaluation)
    out = contract_dict(platform, _row(platform, row_id))
    if product is not None and out.status == "failed":
        _tell_failed(platform, ref.full_name, owner_id, out.results)
    return ContractPublished(
        **_view_fields(out),
        changes=[ContractChange(breaking=c.breaking, change=c.text) for c in changes],
        draft=product is None,
    )


def _view_fields(view: ContractView) -> dict[str, Any]:
    """A contract view's fields as they are (its results stay typed), for a result that extends it."""
    return {f.name: getattr(view, f.name) for f in fields(ContractView)}


def checked(
    platform: Platform, contract: OpenDataContractStandard, names: list[str], owner_id: int
) -> contract_runs.ContractEvaluation:
    """The contract's checks run on the tables (nothing kept); refused when its schema does not match them."""
    evaluation = contract_runs.evaluate(platform, contract, readable=names, fallback_user_id=owner_id)
    schema_failures = [r for r in evaluation.results if r.kind == "schema" and r.status != "passed"]
    if schema_failures:
        raise InvalidInput(
            "the contract does not match the table: " + "; ".join(r.message for r in schema_failures[:5])
        )
    return evaluation


def check_ids(rules: list[Any]) -> set[int]:
    """The checks a kept contract's rules name (checked again, it keeps them)."""
    return {int(r["check"]) for r in rules if isinstance(r, dict) and r.get("check") is not None}


def _row(platform: Platform, contract_id: int) -> Contract:
    with platform.store.session() as s:
        row = s.get(Contract, contract_id)
        assert row is not None
        return row


def _tell_failed(platform: Platform, name: str, owner_id: int, results: list[contract_runs.ContractResult]) -> None:
    from threshold.notifications.service import notify

    failed = [r.message for r in results if r.status in ("failed", "error")]
    notify(
        platform,
        [owner_id],
        "contract.failed",
        f"The contract of {name} fails {len(failed)} check(s)",
        body="; ".join(failed[:5]),
        link=f"/products/{name}",
        data={"dataset": name},
    )


def contract_dict(platform: Platform, c: Contract) -> ContractView:
    """A contract version with its rules' newest results (from the checks' run history)."""
    return ContractView(**_fields(c, *contract_runs.results(platform, c.rules)))


def _fields(c: Contract, results: list[contract_runs.ContractResult], checked_at: datetime | None) -> dict[str, Any]:
    return {
        "version": c.version,
        "status": contract_runs.status_of(results),
        "results": results,
        "checked_at": iso(checked_at),
        "created_at": iso(c.created_at),
        "product": c.product_id is not None,
    }


def statuses(platform: Platform, rows: list[Contract]) -> dict[int, str]:
    """{contract id: passed | failed | unchecked} of several contracts, with one read of the history."""
    views = contract_runs.many_results(platform, {c.id: c.rules for c in rows})
    return {cid: contract_runs.status_of(results) for cid, (results, _at) in views.items()}


def recheck(platform: Platform, person: Person, dataset: str) -> ContractChecked:
    """Run the current contract's checks again against the table and record the result."""
    with platform.store.session() as s:
        ref = dataset_ref(s, dataset, person)
        product = s.scalars(select(Product).where(Product.dataset_id == ref.id)).one_or_none()
        _require_manage(person, ref, product, "run its checks")
    latest = current(platform, ref.id)
    if latest is None:
        raise NotFound(f"{ref.full_name} has no contract yet: `threshold contract import FILE` or promote it")
    doc = parse(latest.document)
    owner_id = product.owner_id if product else person.id
    evaluation = contract_runs.evaluate(platform, doc, readable=datasets_of(doc), fallback_user_id=owner_id)
    with platform.store.session() as s:
        row = s.get(Contract, latest.id)
        assert row is not None
        row.rules = contract_runs.keep(s, evaluation, user_id=person.id, reuse=check_ids(row.rules))
    contract_runs.follow_up(platform, evaluation)
    out = contract_dict(platform, _row(platform, latest.id))
    if product is not None and out.status == "failed":
        _tell_failed(platform, ref.full_name, product.owner_id, out.results)
    return ContractChecked(**vars(out), dataset=ref.full_name)


def history(platform: Platform, dataset_id: int) -> list[ContractVersionRow]:
    """Every contract version of a dataset, newest first, with its results and who published it."""
    with platform.store.session() as s:
        rows = s.execute(
            select(Contract, User.name)
            .outerjoin(User, User.id == Contract.created_by_id)
            .where(Contract.dataset_id == dataset_id)
            .order_by(Contract.id.desc())
        ).all()
    views = contract_runs.many_results(platform, {c.id: c.rules for c, _by in rows})
    return [ContractVersionRow(**_fields(c, *views[c.id]), by=by) for c, by in rows]
