"""Policies: global guardrails (governance group) and domain policies (domain owners).

Declared in YAML policy files (see README "Policy files") or edited in the web UI; every change
is a new version with who and why. A file is the whole policy set of its scope: rules in it are
created or updated, active rules missing from it are retired (their history stays).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import func, select

from threshold.errors import Denied, InvalidInput, NotFound
from threshold.governance.masks import check_mask
from threshold.identity.service import Person
from threshold.names import NAME_RE
from threshold.platform import Platform
from threshold.store.models import Dataset, Domain, Policy

PERSONAL_GUARDRAIL = "guardrail.personal-data"
"""Built in and always on: personal columns are masked for readers outside the owning domain
unless their grant's approved purpose allows personal data. It can be made stricter, never off."""


class Readers(BaseModel):
    """Who a rule applies to. Default: everyone outside the dataset's domain."""

    model_config = ConfigDict(extra="forbid")
    outside_domain: bool = True
    domains: list[str] = Field(default_factory=list)
    users: list[str] = Field(default_factory=list)
    everyone: bool = False


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")
    kind: Literal["mask", "row_filter", "auto_approve", "deny_purpose"]
    description: str = ""
    datasets: list[str] = Field(default_factory=list)
    """Dataset names (without domain) in a domain file, `domain.name` in a global file; empty: all."""
    columns: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    """Mask columns carrying these tags (`personal` matches `personal.*`)."""
    mask: str = "redact"
    where: str | None = None
    """Row filter: an SQL predicate over the dataset's columns; may use {reader.name}, {reader.domain},
    {reader.domains} and {reader.<attribute>}."""
    readers: Readers | Literal["outside_domain", "everyone"] = "outside_domain"
    purposes: list[str] = Field(default_factory=list)
    personal_columns: bool = False
    """auto_approve: whether requests that include personal columns may be approved automatically."""
    domains: list[str] = Field(default_factory=list)
    """Global rules: the domains they apply to (empty: all)."""

    @field_validator("mask")
    @classmethod
    def _mask(cls, v: str) -> str:
        try:
            return check_mask(v)
        except InvalidInput as e:  # re-raised as a ValueError, so the message names the field
            raise ValueError(str(e)) from e

    @model_validator(mode="after")
    def _shape(self) -> Rule:
        if self.kind == "mask" and not (self.columns or self.tags):
            raise ValueError("a mask rule needs columns or tags")
        if self.kind == "row_filter" and not self.where:
            raise ValueError("a row_filter rule needs where")
        if self.kind in ("auto_approve", "deny_purpose") and not self.purposes:
            raise ValueError(f"a {self.kind} rule needs purposes")
        return self

    def reader_spec(self) -> Readers:
        if isinstance(self.readers, Readers):
            return self.readers
        return Readers(outside_domain=self.readers == "outside_domain", everyone=self.readers == "everyone")


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


@dataclass(frozen=True)
class ActiveRule:
    rule_id: str
    scope: str
    domain: str | None
    rule: Rule
    version: int


@dataclass
class ApplyResult:
    scope: str
    domain: str | None
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)


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


def full_rule_id(scope: str, domain: str | None, rule_id: str) -> str:
    return f"guardrail.{rule_id}" if scope == "global" else f"{domain}.{rule_id}"


def apply(platform: Platform, person: Person, text: str, *, reason: str = "") -> ApplyResult:
    """Apply a policy file as `person`: the governance group for global files, domain owners for theirs."""
    from threshold.governance.audit import append
    from threshold.governance.rowfilter import validate_filter

    pf = parse_file(text)
    scope = pf.scope
    if scope == "global":
        if not (person.is_admin or person.is_governance):
            raise Denied(f"{person.name} is not in the governance group (rule: policy.global-author)")
    else:
        assert pf.domain is not None
        if not (person.is_admin or pf.domain in person.owner_of):
            raise Denied(f"{person.name} does not own domain {pf.domain!r} (rule: policy.domain-author)")
    rules = pf.guardrails if scope == "global" else pf.policies
    result = ApplyResult(scope, pf.domain)
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
                full = ds_name if "." in ds_name else f"{pf.domain}.{ds_name}"
                ds = s.scalars(select(Dataset).where(Dataset.full_name == full)).one_or_none()
                if ds is None:
                    raise InvalidInput(f"rule {rule.id}: no dataset {full!r}")
                if domain_row is not None and ds.domain_id != domain_row.id:  # it would silently never apply
                    raise InvalidInput(f"rule {rule.id}: {full} is not a dataset of {pf.domain}")
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
            else:
                result.created.append(rid)
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
        if domain_row is not None:
            if pf.default_visibility:
                domain_row.default_visibility = pf.default_visibility
            for ds_name, settings in pf.datasets.items():
                full = ds_name if "." in ds_name else f"{pf.domain}.{ds_name}"
                ds = s.scalars(select(Dataset).where(Dataset.full_name == full)).one_or_none()
                if ds is None or ds.domain_id != domain_row.id:
                    raise InvalidInput(f"datasets: no dataset {full!r} in domain {pf.domain}")
                if settings.visibility is not None:
                    ds.visibility = settings.visibility
                if settings.allowed_purposes is not None:
                    ds.allowed_purposes = [p.strip().lower() for p in settings.allowed_purposes]
                result.datasets.append(full)
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


def active_rules(platform: Platform, *, session: Any = None) -> list[ActiveRule]:
    """Every active rule, cached until a policy changes (one cheap max(id) query per call)."""
    if session is None:
        with platform.store.session() as s:
            return active_rules(platform, session=s)
    marker = session.scalar(select(func.max(Policy.id))) or 0
    cache = getattr(platform, "_policy_cache", None)
    if cache is not None and cache[0] == marker:
        return list(cache[1])
    rows = session.execute(
        select(Policy, Domain.name).outerjoin(Domain, Domain.id == Policy.domain_id).where(Policy.active.is_(True))
    ).all()
    rules = [ActiveRule(p.rule_id, p.scope, dn, Rule.model_validate(p.spec), p.version) for p, dn in rows]
    platform._policy_cache = (marker, rules)  # type: ignore[attr-defined]
    return list(rules)


def list_policies(platform: Platform, *, history: bool = False) -> list[dict[str, Any]]:
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
    out = [
        {
            "rule": PERSONAL_GUARDRAIL,
            "scope": "global",
            "domain": None,
            "kind": "mask",
            "version": 1,
            "active": True,
            "author": None,
            "reason": "built in",
            "at": None,
            "spec": {
                "tags": ["personal"],
                "readers": "outside_domain",
                "mask": "redact",
                "unless": "the reader's grant allows personal data for the declared purpose",
            },
        }
    ]
    for p, domain, author in rows:
        out.append(
            {
                "rule": p.rule_id,
                "scope": p.scope,
                "domain": domain,
                "kind": p.kind,
                "version": p.version,
                "active": p.active,
                "author": author,
                "reason": p.reason,
                "at": p.created_at.isoformat(timespec="seconds") if p.created_at else None,
                "spec": p.spec,
            }
        )
    return out


def valid_name(name: str) -> bool:
    return bool(NAME_RE.match(name))
