"""What a person may read of a dataset, for a purpose, and why: one explainable decision.

Precedence, explicit: (1) visibility and grants decide whether the dataset can be read at all;
(2) purposes: the dataset's allowed purposes, global purpose bans, and a grant's purposes;
(3) masks: the built-in personal-data guardrail, global mask guardrails and domain mask policies
all apply, and when several mask one column the strictest wins (a domain can tighten, never
loosen); (4) row filters: every matching filter applies (AND).
Members of the owning domain read their own data unmasked, except where a rule names them.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from threshold.governance.masks import DESCRIPTIONS, STRICTNESS, mask_sql
from threshold.governance.policies import PERSONAL_GUARDRAIL, ActiveRule, active_rules
from threshold.governance.rowfilter import render
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.store.models import Dataset, Grant, User

VISIBILITIES = ("open", "on-request", "restricted")


@dataclass
class ColumnDecision:
    name: str
    type: str
    visible: bool = True
    mask: str | None = None
    rules: list[str] = field(default_factory=list)
    why: str = ""


@dataclass
class Decision:
    dataset: str
    dataset_id: int
    allowed: bool
    rule: str
    reason: str
    purpose: str | None = None
    visibility: str = "open"
    columns: list[ColumnDecision] = field(default_factory=list)
    row_filters: list[tuple[str, str]] = field(default_factory=list)
    """(rule id, rendered predicate)."""
    grant_id: int | None = None

    @property
    def masks(self) -> dict[str, str]:
        return {c.name: c.mask for c in self.columns if c.mask}

    @property
    def rules(self) -> list[str]:
        out = [self.rule]
        for c in self.columns:
            out.extend(r for r in c.rules if r not in out)
        out.extend(r for r, _ in self.row_filters if r not in out)
        return out

    def view_sql(self, relation_sql: str, key: str) -> str:
        """The reader's view of the dataset: masks computed and filters applied inside it."""
        if not self.masks and not self.row_filters:
            return relation_sql
        cols = []
        for c in self.columns:
            quoted = '"' + c.name.replace('"', '""') + '"'
            cols.append(f"{mask_sql(c.mask, c.name, c.type, key)} AS {quoted}" if c.mask else quoted)
        where = " AND ".join(f"({p})" for _, p in self.row_filters)
        return f"SELECT {', '.join(cols)} FROM ({relation_sql}) AS _raw" + (f" WHERE {where}" if where else "")

    def explain(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "allowed": self.allowed,
            "rule": self.rule,
            "reason": self.reason,
            "purpose": self.purpose,
            "visibility": self.visibility,
            "grant": self.grant_id,
            "columns": [
                {"column": c.name, "visible": c.visible, "mask": c.mask, "rules": c.rules, "why": c.why}
                for c in self.columns
            ],
            "row_filters": [{"rule": r, "where": p} for r, p in self.row_filters],
        }


def mask_key(platform: Platform) -> str:
    """The key of the `hash` mask: derived from the server's secret, never shown."""
    secret = platform.settings.session_secret().encode()
    return hmac.new(secret, b"threshold-mask-v1", hashlib.sha256).hexdigest()[:32]


def _applies(rule: ActiveRule, person: Person, domain: str) -> bool:
    readers = rule.rule.reader_spec()
    if readers.everyone:
        return True
    if person.name in readers.users or any(d in readers.domains for d in person.domains):
        return True
    if readers.domains or readers.users:
        return False
    return readers.outside_domain and domain not in person.domains


def _rule_targets(rule: ActiveRule, dataset: Dataset, domain: str) -> bool:
    r = rule.rule
    if rule.scope == "domain" and rule.domain != domain:
        return False
    if rule.scope == "global" and r.domains and domain not in r.domains:
        return False
    if r.datasets:
        names = {d if "." in d else f"{rule.domain}.{d}" for d in r.datasets}
        return dataset.full_name in names
    return True


def _tag_matches(tags: set[str], wanted: list[str]) -> bool:
    return any(t == w or t.startswith(w + ".") for t in tags for w in wanted)


def decide(
    platform: Platform, person: Person, datasets: list[str], purpose: str | None, *, session: Session | None = None
) -> list[Decision]:
    """One decision per dataset (names as `domain.name`); `session` lets the gateway reuse its transaction."""
    if not datasets:
        return []
    if session is None:
        with platform.store.session() as s:
            return _decide_all(platform, s, person, datasets, purpose)
    return _decide_all(platform, session, person, datasets, purpose)


def _decide_all(
    platform: Platform, s: Session, person: Person, datasets: list[str], purpose: str | None
) -> list[Decision]:
    now = datetime.now(UTC)
    rules = active_rules(platform, session=s)
    purpose_norm = purpose.strip().lower() if purpose else None
    rows = s.scalars(
        select(Dataset)
        .where(Dataset.full_name.in_(datasets))
        .options(selectinload(Dataset.domain), selectinload(Dataset.columns), selectinload(Dataset.tags))
    ).all()
    grants = s.scalars(
        select(Grant).where(
            Grant.user_id == person.id,
            Grant.dataset_id.in_([d.id for d in rows]),
            Grant.revoked_at.is_(None),
        )
    ).all()
    attributes = dict(s.scalar(select(User.attributes).where(User.id == person.id)) or {})
    out = []
    for d in rows:
        live = [g for g in grants if g.dataset_id == d.id and (g.expires_at is None or _aware(g.expires_at) > now)]
        out.append(_decide_one(platform, person, attributes, d, live, rules, purpose_norm))
    return out


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def decide_at(
    platform: Platform,
    person: Person,
    dataset: str,
    purpose: str | None,
    snapshot_id: int,
    fields: list[tuple[str, str]],
) -> Decision:
    """The decision for reading an earlier snapshot (time travel): its own columns, masked by the tags
    they had when it was published as well as today's; an old column with no recorded tags is withheld
    from readers outside the domain (fail closed)."""
    from threshold.store.models import Share

    now = datetime.now(UTC)
    rules = active_rules(platform)
    purpose_norm = purpose.strip().lower() if purpose else None
    with platform.store.session() as s:
        d = s.scalars(
            select(Dataset)
            .where(Dataset.full_name == dataset)
            .options(selectinload(Dataset.domain), selectinload(Dataset.columns), selectinload(Dataset.tags))
        ).one()
        share = s.scalars(select(Share).where(Share.dataset_id == d.id, Share.snapshot_id == snapshot_id)).first()
        grants = [
            g
            for g in s.scalars(
                select(Grant).where(Grant.user_id == person.id, Grant.dataset_id == d.id, Grant.revoked_at.is_(None))
            )
            if g.expires_at is None or _aware(g.expires_at) > now
        ]
        attributes = dict(s.scalar(select(User.attributes).where(User.id == person.id)) or {})
        recorded = {str(k): set(v) for k, v in ((share.column_tags if share else None) or {}).items()}
        current = {c.name for c in d.columns}
        tags: dict[str, set[str]] = {}
        for t in d.tags:
            if t.column_name:
                tags.setdefault(t.column_name, set()).add(t.tag)
        for col, ts in recorded.items():
            tags.setdefault(col, set()).update(ts)
        untracked = {
            n for n, _ in fields if n not in current and n not in recorded and not (share and share.column_tags)
        }
        return _decide_one(
            platform,
            person,
            attributes,
            d,
            grants,
            rules,
            purpose_norm,
            fields=fields,
            tags_by_col=tags,
            untracked=untracked,
        )


def _decide_one(
    platform: Platform,
    person: Person,
    attributes: dict[str, Any],
    d: Dataset,
    grants: list[Grant],
    rules: list[ActiveRule],
    purpose: str | None,
    *,
    fields: list[tuple[str, str]] | None = None,
    tags_by_col: dict[str, set[str]] | None = None,
    untracked: set[str] | None = None,
) -> Decision:
    domain = d.domain.name
    member = domain in person.domains
    visibility = d.visibility or d.domain.default_visibility or "open"
    if fields is None:
        fields = [(c.name, c.type) for c in d.columns]
    cols = [ColumnDecision(n, t) for n, t in fields]

    def deny(rule: str, reason: str) -> Decision:
        return Decision(d.full_name, d.id, False, rule, reason, purpose, visibility, cols)

    # Purpose: the declared one, or the person's only granted purpose.
    granted_purposes = sorted({p for g in grants for p in g.purposes})
    if purpose is None and len(granted_purposes) == 1 and not member:
        purpose = granted_purposes[0]
    grant = next((g for g in grants if purpose is not None and purpose in g.purposes), None)

    # (1) visibility
    if member:
        rule, reason = "visibility.member", f"member of {domain}"
    elif person.is_admin:
        rule, reason = "visibility.admin", "platform administrator"
    elif visibility == "restricted":
        return deny("visibility.restricted", f"{d.full_name} is restricted to the {domain} domain")
    elif visibility == "on-request":
        if grant is None:
            hint = (
                f"your grants cover {', '.join(granted_purposes)}; declare one of them"
                if granted_purposes
                else f"request access: threshold request {d.full_name} --purpose ..."
            )
            return deny("visibility.on-request", f"{d.full_name} is shared on request; {hint}")
        rule, reason = "grant", f"grant {grant.id} for {purpose}"
    else:
        rule, reason = "visibility.open", f"{d.full_name} is open to the organisation"

    # (2) purposes
    allowed_purposes = [p.lower() for p in (d.allowed_purposes or [])]
    if allowed_purposes and not member:
        if purpose is None:
            return deny("dataset.allowed-purposes", f"declare a purpose: one of {', '.join(allowed_purposes)}")
        if purpose not in allowed_purposes:
            return deny(
                "dataset.allowed-purposes",
                f"{d.full_name} may be read for {', '.join(allowed_purposes)}, not for {purpose!r}",
            )
    for r in rules:
        if r.rule.kind == "deny_purpose" and _rule_targets(r, d, domain) and _applies(r, person, domain):
            if purpose is not None and purpose in [p.lower() for p in r.rule.purposes]:
                return deny(r.rule_id, f"{purpose!r} is not an allowed purpose for this data")

    # (3) masks
    if tags_by_col is None:
        tags_by_col = {}
        for t in d.tags:
            if t.column_name:
                tags_by_col.setdefault(t.column_name, set()).add(t.tag)
    personal_ok = grant is not None and grant.allows_personal
    granted_columns = set(grant.columns) if grant is not None and grant.columns and not member else None
    guardrail_mask = getattr(platform.settings, "guardrail_personal_mask", "redact")
    for c in cols:
        tags = tags_by_col.get(c.name, set())
        candidates: list[tuple[str, str]] = []
        if not member and untracked and c.name in untracked:
            candidates.append(("null", "time-travel.untracked-column"))
        if not member and _tag_matches(tags, ["personal"]) and not personal_ok:
            candidates.append((guardrail_mask, PERSONAL_GUARDRAIL))
        if granted_columns is not None and c.name not in granted_columns and rule == "grant":
            candidates.append(("null", "grant.columns"))
        for r in rules:
            if r.rule.kind != "mask" or not _rule_targets(r, d, domain) or not _applies(r, person, domain):
                continue
            if c.name in r.rule.columns or (r.rule.tags and _tag_matches(tags, r.rule.tags)):
                candidates.append((r.rule.mask, r.rule_id))
        if candidates:
            strictest = max(candidates, key=lambda m: STRICTNESS[m[0]])
            c.mask = strictest[0]
            c.visible = False
            c.rules = [rid for _, rid in candidates]
            why = f"{DESCRIPTIONS[c.mask]} by {strictest[1]}"
            if strictest[1] == "time-travel.untracked-column":
                why += " (a column of an earlier version whose classification was not recorded)"
            if strictest[1] == "grant.columns":
                why += " (not among the columns your grant covers)"
            if strictest[1] == PERSONAL_GUARDRAIL:
                why += " (personal data outside its domain; a grant whose purpose allows personal data lifts it)"
            c.why = why

    # (4) row filters
    filters: list[tuple[str, str]] = []
    for r in rules:
        if r.rule.kind == "row_filter" and _rule_targets(r, d, domain) and _applies(r, person, domain):
            assert r.rule.where is not None
            filters.append((r.rule_id, render(r.rule.where, person, attributes)))
    decision = Decision(d.full_name, d.id, True, rule, reason, purpose, visibility, cols, filters)
    decision.grant_id = grant.id if grant else None
    return decision
