"""Policy rules as the decision point reads them: the rule model, and every active rule (cached).

Authoring (policy files, versions, who may apply them) is governance's (`governance/policies.py`); what
a rule *means* when someone reads is decided here and in `reading.py`.

Kinds:
- `mask`, `row_filter`: how a reader sees a dataset (the strictest mask wins; every filter applies);
- `deny_purpose`: purposes data may not be read for; `auto_approve`: requests granted at once;
- `sensitive` (global: everywhere; a domain's: data originating in it): tags that join the sensitive
  class the built-in guardrail protects (`personal.*`, `financial.iban`, `financial.card`);
- `join_key` (domain files): the `hash` mask of these tags uses one key shared by the listed domains, so
  outsiders can join their hashed columns; it holds only while every listed domain declares it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import func, select

from threshold.access.masks import check_mask
from threshold.errors import InvalidInput
from threshold.platform import Platform
from threshold.store.models import Domain, MetadataVersion, Policy

PERSONAL_GUARDRAIL = "guardrail.personal-data"
"""Built in and always on: columns of the sensitive class (personal data, financial identifiers) are
masked for readers outside the domain the values come from, unless their grant's approved purpose allows
personal data. It can be made stricter, never off."""

BUILT_IN_SENSITIVE = ("personal", "financial.iban", "financial.card")
"""The sensitive class before any governance addition (`personal` matches `personal.*`)."""


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
    kind: Literal["mask", "row_filter", "auto_approve", "deny_purpose", "sensitive", "join_key", "compatible_purposes"]
    description: str = ""
    datasets: list[str] = Field(default_factory=list)
    """Dataset names (without domain) in a domain file, `domain.name` in a global file; empty: all."""
    columns: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    """Mask columns carrying these tags (`personal` matches `personal.*`); the tags a `sensitive` rule adds
    to the class; the tags a `join_key` covers."""
    mask: str = "redact"
    where: str | None = None
    """Row filter: an SQL predicate over the dataset's columns; may use {reader.name}, {reader.domain},
    {reader.domains} and {reader.<attribute>}."""
    readers: Readers | Literal["outside_domain", "everyone"] = "outside_domain"
    purposes: list[str] = Field(default_factory=list)
    personal_columns: bool = False
    """auto_approve: whether requests that include personal columns may be approved automatically."""
    domains: list[str] = Field(default_factory=list)
    """Global rules: the domains they apply to (empty: all). `join_key`: the domains sharing the key."""
    key: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")
    """`join_key`: the agreed key's name (the same in every listed domain's file)."""
    categories: dict[str, list[str]] = Field(default_factory=dict)
    """`compatible_purposes`: purpose category -> the purposes (as people write them) it holds; a purpose
    listed nowhere is its own category."""
    compatible: dict[str, list[str]] = Field(default_factory=dict)
    """`compatible_purposes`: the category a dataset was collected for -> the categories it may be used for
    (its own always)."""
    on_incompatible: Literal["refuse", "review"] = "refuse"
    """`compatible_purposes`: refuse an incompatible purpose, or route it to review (a read is refused
    until an access request for it is approved; such a request is never approved automatically)."""

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
        if self.kind == "sensitive" and not self.tags:
            raise ValueError("a sensitive rule needs the tags it adds to the sensitive class")
        if self.kind == "compatible_purposes" and not self.compatible:
            raise ValueError("a compatible_purposes rule needs compatible: {collection category: [categories]}")
        if self.kind == "join_key" and not (self.key and self.tags and len(set(self.domains)) >= 2):
            raise ValueError("a join_key rule needs key, tags and the domains sharing it (at least two)")
        return self

    def reader_spec(self) -> Readers:
        if isinstance(self.readers, Readers):
            return self.readers
        return Readers(outside_domain=self.readers == "outside_domain", everyone=self.readers == "everyone")


@dataclass(frozen=True)
class ActiveRule:
    rule_id: str
    scope: str
    domain: str | None
    rule: Rule
    version: int


def full_rule_id(scope: str, domain: str | None, rule_id: str) -> str:
    return f"guardrail.{rule_id}" if scope == "global" else f"{domain}.{rule_id}"


def active_rules(platform: Platform, *, session: Any = None) -> list[ActiveRule]:
    """Every active rule, cached until the metadata changes (one indexed read per call).

    The version is read in the caller's transaction, before the rules: a policy committed by another thread
    or worker process is seen by the next call (a max(id) marker was not enough: ids are taken in the order
    transactions begin, and a transaction that commits after a later one's read kept its rule unseen)."""
    if session is None:
        with platform.store.session() as s:
            return active_rules(platform, session=s)
    # With the newest policy id: a transaction that adds rules (a dry run, rolled back) sees them before its
    # commit bumps the version (PostgreSQL bumps it at commit), and caches them under a marker no other has.
    newest = select(func.max(Policy.id)).scalar_subquery()
    marker: Any = session.execute(select(MetadataVersion.version, newest).where(MetadataVersion.id == 1)).first()
    marker = tuple(marker) if marker is not None else object()  # no version row: never a hit
    cache = getattr(platform, "_policy_cache", None)
    if cache is not None and cache[0] == marker:
        return list(cache[1])
    rows = session.execute(
        select(Policy, Domain.name).outerjoin(Domain, Domain.id == Policy.domain_id).where(Policy.active.is_(True))
    ).all()
    rules = [ActiveRule(p.rule_id, p.scope, dn, Rule.model_validate(p.spec), p.version) for p, dn in rows]
    platform._policy_cache = (marker, rules)  # type: ignore[attr-defined]
    return list(rules)


def tag_matches(tag: str, wanted: tuple[str, ...] | list[str]) -> bool:
    """`tag` is one of `wanted` or below one of them (`personal.email` matches `personal`)."""
    return any(tag == w or tag.startswith(w + ".") for w in wanted)


@dataclass(frozen=True)
class SensitiveClass:
    """The tags the built-in guardrail protects: built in, added everywhere, added per origin domain."""

    everywhere: tuple[str, ...]
    by_domain: dict[str, tuple[str, ...]]

    def covers(self, tag: str, origin_domain: str) -> bool:
        return tag_matches(tag, self.everywhere) or tag_matches(tag, self.by_domain.get(origin_domain, ()))


def sensitive_class(rules: list[ActiveRule]) -> SensitiveClass:
    everywhere = list(BUILT_IN_SENSITIVE)
    by_domain: dict[str, list[str]] = {}
    for r in rules:
        if r.rule.kind != "sensitive":
            continue
        if r.scope == "global":
            if r.rule.domains:
                for d in r.rule.domains:
                    by_domain.setdefault(d, []).extend(r.rule.tags)
            else:
                everywhere.extend(r.rule.tags)
        elif r.domain is not None:
            by_domain.setdefault(r.domain, []).extend(r.rule.tags)
    return SensitiveClass(tuple(everywhere), {d: tuple(ts) for d, ts in by_domain.items()})


def join_keys(rules: list[ActiveRule]) -> dict[tuple[str, str], str]:
    """(domain, tag) -> the agreed join key's scope, for keys every listed domain declares the same way."""
    declared: dict[tuple[str, tuple[str, ...], tuple[str, ...]], set[str]] = {}
    for r in rules:
        if r.rule.kind == "join_key" and r.scope == "domain" and r.domain is not None and r.rule.key:
            shape = (r.rule.key, tuple(sorted(set(r.rule.domains))), tuple(sorted(set(r.rule.tags))))
            declared.setdefault(shape, set()).add(r.domain)
    out: dict[tuple[str, str], str] = {}
    for (key, domains, tags), by in declared.items():
        if set(domains) <= by:  # every side agreed
            for d in domains:
                for t in tags:
                    out[(d, t)] = f"join|{key}|{','.join(domains)}|{t}"
    return out


def purpose_category(rule: Rule, purpose: str) -> str:
    """The category of `purpose` in a `compatible_purposes` rule (the purpose itself when listed nowhere)."""
    wanted = " ".join(purpose.strip().lower().split())
    for category, members in rule.categories.items():
        if wanted == category.lower() or wanted in (" ".join(m.lower().split()) for m in members):
            return category.lower()
    return wanted


def incompatible(rule: Rule, collected_for: str, purpose: str) -> str | None:
    """Why `purpose` is not compatible with the purpose data was collected for, under `rule`; None: it is."""
    have, want = purpose_category(rule, collected_for), purpose_category(rule, purpose)
    allowed = {c.lower() for c in rule.compatible.get(have, [])} | {have}
    if want in allowed:
        return None
    then = (
        "refused"
        if rule.on_incompatible == "refuse"
        else "it goes to review: request access for this purpose, the owners and the governance group decide"
    )
    return f"collected for {collected_for!r} ({have}); {purpose!r} ({want}) is not a compatible purpose: {then}"
