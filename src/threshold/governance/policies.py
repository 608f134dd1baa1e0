"""Policies: global guardrails (governance group) and domain policies (domain owners).

Declared in YAML policy files (see README "Policy files") or edited in the web UI; every change
is a new version with who and why. A file is the whole policy set of its scope: rules in it are
created or updated, active rules missing from it are retired (their history stays).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import func, select

from threshold.access import require
from threshold.access.policy import (
    BUILT_IN_SENSITIVE,
    PERSONAL_GUARDRAIL,
    ActiveRule,
    Readers,
    Rule,
    active_rules,
    full_rule_id,
)
from threshold.access.resources import PolicyScope
from threshold.errors import InvalidInput, NotFound
from threshold.governance.results import PolicyRow
from threshold.identity.service import Person
from threshold.names import NAME_RE
from threshold.platform import Platform
from threshold.store.models import Dataset, Domain, Policy

__all__ = [
    "BUILT_IN_SENSITIVE",
    "PERSONAL_GUARDRAIL",
    "ActiveRule",
    "ApplyResult",
    "PolicyFile",
    "Readers",
    "Rule",
    "active_rules",
    "apply",
    "full_rule_id",
    "list_policies",
    "parse_file",
]


class DatasetSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visibility: Literal["open", "on-request", "restricted"] | None = None
    allowed_purposes: list[str] | None = None


class PolicyFile(BaseModel):
    """A policy file: `scope: global` with `guardrails`, or `domain: NAME` with `policies`."""

    model_config = ConfigDict(extra="forbid")
    scope: Literal["global", "domain"] = "domain"
    domain: str | None = None
    default_visibility: Literal["open", "on-request", "restricted"] | None = None
    datasets: dict[str, DatasetSettings] = Field(default_factory=dict)
    guardrails: list[Rule] = Field(default_factory=list)
    policies: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _scope(self) -> PolicyFile:
        if self.scope == "global":
            if self.domain or self.policies or self.datasets or self.default_visibility:
                raise ValueError("a global file holds only `guardrails`")
        else:
            if not self.domain:
                raise ValueError("a domain policy file names its `domain`")
            if self.guardrails:
                raise ValueError("guardrails belong in a file with `scope: global`")
        rules = self.guardrails + self.policies
        ids = [r.id for r in rules]
        if len(ids) != len(set(ids)):
            raise ValueError("rule ids must be unique in a file")
        return self


@dataclass
class ApplyResult:
    scope: str
    domain: str | None
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    """What changed (or would change, in a plan), in words: one sentence per rule or dataset setting."""
    applied: bool = True
    """False for a plan: nothing was written."""

    def in_words(self) -> str:
        """The whole change as people read it ("Nothing changed." when nothing did)."""
        if not self.changes:
            return "Nothing changed." if self.applied else "Nothing would change."
        return " ".join(self.changes)


class _Planned(Exception):
    """Raised at the end of a plan so the transaction rolls back everything it did."""

    def __init__(self, result: ApplyResult) -> None:
        self.result = result


def _check_kinds(pf: PolicyFile, rules: list[Rule]) -> None:
    """What a scope may say: join keys are agreed between domains (each in its own file, naming itself)."""
    covered: dict[str, str] = {}
    for rule in rules:
        if rule.kind != "join_key":
            continue
        if pf.scope == "global":
            raise InvalidInput(f"rule {rule.id}: a join key is agreed by the owners of each domain, in their files")
        if pf.domain not in rule.domains:
            raise InvalidInput(f"rule {rule.id}: a join key of {pf.domain} lists {pf.domain} among its domains")
        for tag in rule.tags:
            if tag in covered:
                raise InvalidInput(f"rule {rule.id}: {tag} already has the join key of rule {covered[tag]}")
            covered[tag] = rule.id


def parse_file(text: str) -> PolicyFile:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise InvalidInput(f"the policy file is not valid YAML: {str(e).splitlines()[0]}") from e
    if not isinstance(data, dict):
        raise InvalidInput("the policy file must be a YAML mapping (scope/domain/policies...)")
    try:
        return PolicyFile.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInput(f"policy file: {where or 'file'}: {first.get('msg')}") from e


def plan(platform: Platform, person: Person, text: str) -> ApplyResult:
    """What applying the policy file would change, in words, without changing anything (`applied` False)."""
    try:
        apply(platform, person, text, _dry_run=True)
    except _Planned as planned:
        return planned.result
    raise AssertionError("a plan always rolls back")  # pragma: no cover


def apply(platform: Platform, person: Person, text: str, *, reason: str = "", _dry_run: bool = False) -> ApplyResult:
    """Apply a policy file as `person`: the governance group for global files, domain owners for theirs."""
    from threshold.access.rowfilter import validate_filter
    from threshold.governance.audit import append
    from threshold.governance.wording import describe_rule, rule_change

    pf = parse_file(text)
    scope = pf.scope
    require(person, "policy.edit", PolicyScope(pf.domain if scope == "domain" else None))
    rules = pf.guardrails if scope == "global" else pf.policies
    _check_kinds(pf, rules)
    result = ApplyResult(scope, pf.domain, applied=not _dry_run)
    would = "would be" if _dry_run else "was"
    with platform.store.session() as s:
        domain_row = None
        if pf.domain:
            domain_row = s.scalars(select(Domain).where(Domain.name == pf.domain)).one_or_none()
            if domain_row is None:
                raise NotFound(f"no domain {pf.domain!r}")
        for rule in rules:
            if full_rule_id(scope, pf.domain, rule.id) == PERSONAL_GUARDRAIL:
                raise InvalidInput(f"{PERSONAL_GUARDRAIL} is built in; add a stricter rule with another id")
            for ds_name in rule.datasets:
                full = (ds_name if "." in ds_name else f"{pf.domain}.{ds_name}").lower()
                if pf.domain and full.split(".", 1)[0] != pf.domain:  # it would silently never apply
                    raise InvalidInput(f"rule {rule.id}: {full} is not a dataset of {pf.domain}")
                ds = s.scalars(select(Dataset).where(Dataset.full_name == full)).one_or_none()
                if ds is None:
                    raise InvalidInput(f"rule {rule.id}: no dataset {full!r}")
                if rule.kind == "row_filter" and rule.where:
                    validate_filter(rule.where, [c.name for c in ds.columns])
                if rule.columns:
                    missing = sorted(set(rule.columns) - {c.name for c in ds.columns})
                    if missing:
                        raise InvalidInput(f"rule {rule.id}: {full} has no column {', '.join(missing)}")
            if rule.kind == "row_filter" and rule.where and not rule.datasets:
                validate_filter(rule.where, None)
        current = {
            p.rule_id: p
            for p in s.scalars(
                select(Policy).where(
                    Policy.scope == scope,
                    Policy.domain_id == domain_row.id if domain_row else Policy.domain_id.is_(None),
                    Policy.active.is_(True),
                )
            )
        }
        seen = set()
        for rule in rules:
            rid = full_rule_id(scope, pf.domain, rule.id)
            seen.add(rid)
            spec = rule.model_dump(mode="json")
            old = current.get(rid)
            if old is not None and old.spec == spec:
                result.unchanged.append(rid)
                continue
            version = (s.scalar(select(func.max(Policy.version)).where(Policy.rule_id == rid)) or 0) + 1
            if old is not None:
                old.active = False
                result.updated.append(rid)
                result.changes.append(
                    f"Rule {rid} {would} changed: {rule_change(Rule.model_validate(old.spec), rule)}."
                )
            else:
                result.created.append(rid)
                result.changes.append(f"Rule {rid} {would} added: {describe_rule(rule, pf.domain)}.")
            s.add(
                Policy(
                    rule_id=rid,
                    scope=scope,
                    domain_id=domain_row.id if domain_row else None,
                    kind=rule.kind,
                    spec=spec,
                    version=version,
                    active=True,
                    author_id=person.id,
                    reason=reason,
                )
            )
        for rid, old in current.items():
            if rid not in seen:
                old.active = False
                s.add(
                    Policy(
                        rule_id=rid,
                        scope=scope,
                        domain_id=old.domain_id,
                        kind=old.kind,
                        spec=old.spec,
                        version=old.version + 1,
                        active=False,
                        author_id=person.id,
                        reason=reason or "retired",
                    )
                )
                result.retired.append(rid)
                result.changes.append(
                    f"Rule {rid} {would} removed ({describe_rule(Rule.model_validate(old.spec), pf.domain)})."
                )
        if domain_row is not None:
            if pf.default_visibility and pf.default_visibility != domain_row.default_visibility:
                result.changes.append(
                    f"The default visibility of {pf.domain} {would} changed from {domain_row.default_visibility} "
                    f"to {pf.default_visibility}."
                )
            if pf.default_visibility:
                domain_row.default_visibility = pf.default_visibility
            for ds_name, settings in pf.datasets.items():
                full = ds_name if "." in ds_name else f"{pf.domain}.{ds_name}"
                ds = s.scalars(select(Dataset).where(Dataset.full_name == full)).one_or_none()
                if ds is None or ds.domain_id != domain_row.id:
                    raise InvalidInput(f"datasets: no dataset {full!r} in domain {pf.domain}")
                before = ds.visibility or f"{domain_row.default_visibility} (the domain's default)"
                if settings.visibility is not None and settings.visibility != ds.visibility:
                    result.changes.append(f"{full} {would} made {settings.visibility} (it was {before}).")
                if settings.visibility is not None:
                    ds.visibility = settings.visibility
                if settings.allowed_purposes is not None:
                    purposes = [p.strip().lower() for p in settings.allowed_purposes]
                    if sorted(purposes) != sorted(ds.allowed_purposes or []):
                        result.changes.append(
                            f"{full} {'would be' if _dry_run else 'is'} readable for "
                            + (f"the purposes {', '.join(sorted(purposes))}" if purposes else "any declared purpose")
                            + " (it was "
                            + (", ".join(sorted(ds.allowed_purposes)) if ds.allowed_purposes else "any purpose")
                            + ")."
                        )
                    ds.allowed_purposes = purposes
                result.datasets.append(full)
        if _dry_run:
            raise _Planned(result)
    changed = result.created + result.updated + result.retired
    if changed or result.datasets:
        append(
            platform,
            person,
            "policy.applied",
            rules=changed,
            detail={"scope": scope, "domain": pf.domain, "reason": reason, "datasets": result.datasets},
        )
    return result


def list_policies(platform: Platform, *, history: bool = False, viewer: Person | None = None) -> list[PolicyRow]:
    """The built-in guardrail first, then every rule (or every version of each, with `history`). A rule that
    names a dataset `viewer` may not know exists is not shown to them."""
    from threshold.access.visibility import knowable
    from threshold.store.models import User

    with platform.store.session() as s:
        q = (
            select(Policy, Domain.name, User.name)
            .outerjoin(Domain, Domain.id == Policy.domain_id)
            .outerjoin(User, User.id == Policy.author_id)
        )
        if not history:
            q = q.where(Policy.active.is_(True))
        rows = s.execute(q.order_by(Policy.scope, Policy.rule_id, Policy.version)).all()
        named = {
            (n if "." in n else f"{domain}.{n}").lower() for p, domain, _ in rows for n in p.spec.get("datasets") or []
        }
        known = set(s.scalars(select(Dataset.full_name).where(Dataset.full_name.in_(named), knowable(viewer))))
        sensitive = active_rules(platform, session=s)
    from threshold.access.policy import sensitive_class

    out = [
        PolicyRow(
            rule=PERSONAL_GUARDRAIL,
            scope="global",
            domain=None,
            kind="mask",
            version=1,
            active=True,
            author=None,
            reason="built in",
            at=None,
            spec={
                "tags": list(sensitive_class(sensitive).everywhere),
                "readers": "outside the domain the values come from",
                "mask": platform.settings.guardrail_personal_mask,
                "unless": "the reader's grant allows personal data for the declared purpose",
            },
        )
    ]
    for p, domain, author in rows:
        names = [(n if "." in n else f"{domain}.{n}").lower() for n in p.spec.get("datasets") or []]
        if any(n not in known for n in names):
            continue
        out.append(
            PolicyRow(
                rule=p.rule_id,
                scope=p.scope,
                domain=domain,
                kind=p.kind,
                version=p.version,
                active=p.active,
                author=author,
                reason=p.reason,
                at=p.created_at.isoformat(timespec="seconds") if p.created_at else None,
                spec=p.spec,
            )
        )
    return out


def valid_name(name: str) -> bool:
    return bool(NAME_RE.match(name))
