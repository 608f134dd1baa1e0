"""Governance without YAML: one change from a form (a dataset's visibility and purposes, a mask, a row filter,
an auto-approval rule, removing a rule) turned into the domain's whole policy file, so that `policies.plan`
shows the resulting policy and the change in words before `policies.apply` applies exactly that file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from pydantic import ValidationError
from sqlalchemy import select

from threshold.access import PolicyScope, require
from threshold.access.masks import MASKS
from threshold.access.policy import Readers, Rule, active_rules
from threshold.errors import InvalidInput, NotFound
from threshold.governance.wording import describe_rule

__all__ = ["KINDS", "Change", "DomainRules", "describe_rule", "domain_file", "edited_file", "rules_of"]
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.store.models import Dataset, Domain

KINDS = ("dataset", "mask", "row_filter", "auto_approve", "remove")
"""What one form changes."""


@dataclass
class Change:
    """One form's answer. `dataset` is the dataset's name within the domain (empty: every dataset)."""

    kind: Literal["dataset", "mask", "row_filter", "auto_approve", "remove"]
    dataset: str = ""
    visibility: str = ""
    purposes: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    mask: str = "redact"
    where: str = ""
    readers: str = "outside_domain"
    """`outside_domain`, `everyone`, or a comma-separated list of domains."""
    personal_columns: bool = False
    rule_id: str = ""
    """The rule to remove, or the id of the new rule (made from the kind and dataset when empty)."""
    description: str = ""


@dataclass
class DomainRules:
    """What the forms show: the domain's datasets with their settings, and its rules in words."""

    domain: str
    default_visibility: str
    datasets: list[dict[str, Any]]
    rules: list[dict[str, str]]
    masks: list[str]


def domain_file(platform: Platform, domain: str) -> dict[str, Any]:
    """The domain's active rules as a policy file (a mapping, ready for YAML)."""
    rules = sorted(
        (r for r in active_rules(platform) if r.scope == "domain" and r.domain == domain), key=lambda r: r.rule_id
    )
    return {"domain": domain, "policies": [r.rule.model_dump(mode="json", exclude_defaults=True) for r in rules]}


def rules_of(platform: Platform, person: Person, domain: str) -> DomainRules:
    """The domain as its owners edit it (`policy.edit` on the domain)."""
    domain = domain.strip().lower()
    require(person, "policy.edit", PolicyScope(domain))
    with platform.store.session() as s:
        row = s.scalars(select(Domain).where(Domain.name == domain)).one_or_none()
        if row is None:
            raise NotFound(f"no domain {domain[:60]!r}")
        datasets = [
            {
                "name": d.name,
                "full_name": d.full_name,
                "visibility": d.visibility or row.default_visibility,
                "allowed_purposes": list(d.allowed_purposes or []),
                "columns": [c.name for c in d.columns],
            }
            for d in s.scalars(
                select(Dataset)
                .where(Dataset.domain_id == row.id, Dataset.snapshot_id.is_not(None))
                .order_by(Dataset.name)
            )
        ]
        default = row.default_visibility
    rules = [
        {"id": r.rule_id, "short_id": r.rule.id, "kind": r.rule.kind, "words": describe_rule(r.rule, domain)}
        for r in sorted(active_rules(platform), key=lambda r: r.rule_id)
        if r.scope == "domain" and r.domain == domain
    ]
    return DomainRules(domain, default, datasets, rules, sorted(MASKS))


def edited_file(platform: Platform, person: Person, domain: str, change: Change) -> str:
    """The domain's policy file with `change` made, as YAML: what `policies.plan` and `policies.apply` take."""
    current = rules_of(platform, person, domain)
    text = domain_file(platform, current.domain)
    names = {d["name"] for d in current.datasets}
    dataset = change.dataset.strip().lower().removeprefix(f"{current.domain}.")
    if dataset and dataset not in names:
        raise InvalidInput(f"{current.domain} has no dataset {dataset!r}")
    if change.kind == "dataset":
        if not dataset:
            raise InvalidInput("choose the dataset whose visibility and purposes to set")
        settings: dict[str, Any] = {"allowed_purposes": _clean(change.purposes)}
        if change.visibility:
            settings["visibility"] = change.visibility
        text["datasets"] = {dataset: settings}
    elif change.kind == "remove":
        kept = [r for r in text["policies"] if r["id"] != change.rule_id.strip()]
        if len(kept) == len(text["policies"]):
            raise InvalidInput(f"{current.domain} has no rule {change.rule_id.strip()[:100]!r}")
        text["policies"] = kept
    elif change.kind in ("mask", "row_filter", "auto_approve"):
        rule = _rule(change, dataset, {r["id"] for r in text["policies"]})
        text["policies"].append(rule.model_dump(mode="json", exclude_defaults=True))
    else:
        raise InvalidInput(f"unknown change {change.kind!r}; use one of {', '.join(KINDS)}")
    return yaml.safe_dump(text, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None)


def _clean(values: list[str]) -> list[str]:
    return [v.strip().lower() for v in values if v.strip()]


def _rule(change: Change, dataset: str, taken: set[str]) -> Rule:
    rule_id = change.rule_id.strip().lower() or _free_id(f"{change.kind.replace('_', '-')}-{dataset or 'all'}", taken)
    if rule_id in taken:
        raise InvalidInput(f"a rule {rule_id!r} exists already; remove it first or choose another id")
    readers: Readers | str
    if change.readers in ("outside_domain", "everyone"):
        readers = change.readers
    else:
        readers = Readers(outside_domain=False, domains=_clean(change.readers.split(",")))
    spec: dict[str, Any] = {
        "id": rule_id,
        "kind": change.kind,
        "description": change.description.strip(),
        "datasets": [dataset] if dataset else [],
        "readers": readers,
    }
    if change.kind == "mask":
        spec |= {"columns": _clean(change.columns), "tags": _clean(change.tags), "mask": change.mask}
    elif change.kind == "row_filter":
        spec |= {"where": change.where.strip()}
    else:
        spec |= {"purposes": _clean(change.purposes), "personal_columns": change.personal_columns}
    try:
        return Rule.model_validate(spec)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInput(f"{where or 'rule'}: {first.get('msg')}".replace("Value error, ", "")) from e


def _free_id(base: str, taken: set[str]) -> str:
    base = base.replace("_", "-")[:90]
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"
