"""What a person may read of a dataset, for a purpose, and why: one explainable decision (`dataset.read`).

Precedence, explicit: (1) visibility and grants decide whether the dataset can be read at all (the
`dataset.read` rule of `rules.py`); (2) purposes: the dataset's allowed purposes, global purpose bans,
and a grant's purposes; (3) masks: the built-in guardrail on the sensitive class, global mask guardrails
and domain mask policies all apply, and when several mask one column the strictest wins (a domain can
tighten, never loosen); (4) row filters: every matching filter applies (AND).

The guardrail is judged against where the values come from. A column's sensitive tags carry a scope:
the domain and dataset its values were first shared in (and the grant a derivation read them under).
Members of that origin domain read it unmasked, and so does a reader whose live grant on the origin
dataset allows personal data for the purpose; everyone else reads it masked, whichever dataset it was
copied or derived into. So a derived copy never shows a value to someone who could not read it at the
source, and a grant's expiry reaches every copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from threshold.access.masks import DESCRIPTIONS, STRICTNESS, mask_sql, scope_key
from threshold.access.policy import (
    PERSONAL_GUARDRAIL,
    ActiveRule,
    SensitiveClass,
    active_rules,
    incompatible,
    join_keys,
    sensitive_class,
    tag_matches,
)
from threshold.access.resources import DatasetRef
from threshold.access.rules import _read
from threshold.identity.service import Person
from threshold.kept import Kept, kept_on
from threshold.platform import Platform
from threshold.store.models import Column, Dataset, Domain, Grant, User


@dataclass(frozen=True)
class TagScope:
    """A tag on a column and where the column's values come from."""

    tag: str
    domain: str
    """The domain the values were first shared in."""
    dataset_id: int
    """The dataset they were first shared in: a grant on it may lift the guardrail."""
    grant_id: int | None = None
    """The grant a derivation read them under (values a grantee derived)."""


@dataclass
class ColumnDecision:
    name: str
    type: str
    visible: bool = True
    mask: str | None = None
    rules: list[str] = field(default_factory=list)
    why: str = ""
    key_scope: str = ""
    """The scope of the `hash` mask's key (see `masks.scope_key`)."""


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
    hidden: bool = False
    """The reader may not know the dataset exists: refuse it as one that does not exist."""

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

    def view_sql(self, relation_sql: str, secret: str) -> str:
        """The reader's view of the dataset: masks computed and filters applied inside it. `secret`: the
        server's mask secret (`mask_secret`); each masked column's key is derived from it for its scope."""
        if not self.masks and not self.row_filters:
            return relation_sql
        cols = []
        for c in self.columns:
            quoted = '"' + c.name.replace('"', '""') + '"'
            if c.mask:
                cols.append(f"{mask_sql(c.mask, c.name, c.type, scope_key(secret, c.key_scope))} AS {quoted}")
            else:
                cols.append(quoted)
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


def mask_secret(platform: Platform) -> str:
    """The secret every `hash` key is derived from (per scope): the server's secret, never shown."""
    return platform.settings.session_secret()


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


def decide(
    platform: Platform,
    person: Person,
    datasets: list[str],
    purpose: str | None,
    *,
    session: Session | None = None,
    version: int | None = None,
    until: datetime | None = None,
) -> list[Decision]:
    """One decision per existing dataset (names as `domain.name`); `session` lets the gateway reuse its
    transaction. A dataset the person may not know exists gets a refusal marked `hidden`.

    `version`: the store's metadata version, read before anything else of this decision (`Store.
    metadata_version`): decisions are then kept per (version, reader, purpose, dataset) until `until` (the
    first of the reader's grants to expire) and reused by the next caller that gives the same version. Only
    for callers whose session has changed no metadata (the gateway). Without a session the decision has a
    transaction of its own, which has changed nothing: it reads the version (and `until`) itself, so a page,
    an API route or a command that asks about a dataset reuses what the gateway and earlier calls decided."""
    if not datasets:
        return []
    if session is None:
        if version is None:
            version = platform.store.metadata_version()  # before this decision's reads: a change moves past it
            with platform.store.session() as s:
                ends = lambda: grants_expire(platform, s, person, version)  # noqa: E731  (read only when a decision is made)
                return _decide_kept(platform, s, person, datasets, purpose, version, ends)
        with platform.store.session() as s:
            return _decide_kept(platform, s, person, datasets, purpose, version, lambda: until)
    return _decide_kept(platform, session, person, datasets, purpose, version, lambda: until)


def grants_expire(platform: Platform, session: Session, user: Person, version: int | None = None) -> datetime | None:
    """When the first of the reader's live grants expires (a decision made now may change then).

    `version`: the store's metadata version, read before `session`'s reads; the answer is then kept per
    (version, reader) until that moment (grants are metadata: a new or revoked one moves the version)."""
    kept = kept_on(
        platform, "_grants_expire", lambda: Kept[tuple[datetime | None]](MAX_DECISIONS, lambda: platform.clock())
    )
    key = (version, user.id)
    if version is not None and (hit := kept.get(key)) is not None:
        return hit[0]
    now = platform.clock()
    first = session.scalar(
        select(func.min(Grant.expires_at)).where(
            Grant.user_id == user.id, Grant.revoked_at.is_(None), Grant.expires_at > now
        )
    )
    ends = None if first is None else first if first.tzinfo else first.replace(tzinfo=UTC)
    if version is not None:
        kept.put(key, (ends,), ends)
    return ends


MAX_DECISIONS = 4096
"""Read decisions kept per platform (least recently used dropped first)."""


class Decisions(Kept[Decision]):
    """Read decisions kept under a metadata version (`decide(version=...)`). A decision depends on the reader,
    the purpose and the dataset's metadata, not on the query that asked: after a policy change the first query
    on each dataset decides and the next ones, whatever their text, reuse it."""

    def __init__(self, platform: Platform) -> None:
        super().__init__(MAX_DECISIONS, lambda: platform.clock())  # the clock in force at each read (tests move it)


def kept_decisions(platform: Platform) -> Decisions:
    return kept_on(platform, "_read_decisions", lambda: Decisions(platform))  # type: ignore[return-value]


def reader_key(person: Person) -> tuple[Any, ...]:
    """Everything about a reader that what is kept for them may depend on (who they are, domains, roles)."""
    return (person.id, person.name, person.is_admin, person.is_governance, person.domains, person.owner_of)


def decision_key(version: int, person: Person, purpose: str | None, dataset: str) -> tuple[Any, ...]:
    return (version, reader_key(person), purpose, dataset)


def _decide_kept(
    platform: Platform,
    s: Session,
    person: Person,
    datasets: list[str],
    purpose: str | None,
    version: int | None,
    until: Callable[[], datetime | None],
) -> list[Decision]:
    if version is None:
        return _decide_all(platform, s, person, datasets, purpose)[0]
    kept = kept_decisions(platform)
    found = {n: kept.get(decision_key(version, person, purpose, n)) for n in datasets}
    missing = [n for n, d in found.items() if d is None]
    if missing:
        made, ctx = _decide_all(platform, s, person, missing, purpose)
        # Why data was collected (the compliance register) is not part of the metadata version: a decision
        # that asked it is not kept.
        keep = not any(r.rule.kind == "compatible_purposes" for r in ctx.rules)
        ends = until() if keep and made else None
        for d in made:
            found[d.dataset] = d
            if keep:
                kept.put(decision_key(version, person, purpose, d.dataset), d, ends)
    return [d for d in found.values() if d is not None]


@dataclass
class _Context:
    """What one read decision needs besides the dataset: the rules, the reader's grants and attributes."""

    rules: list[ActiveRule]
    sensitive: SensitiveClass
    joins: dict[tuple[str, str], str]
    attributes: Any
    """The reader's attributes (row filters may use them): a mapping, or a function that fetches it once."""
    grants: list[Grant]
    """The reader's live grants on the datasets decided and on the origins of their columns."""
    domains: dict[int, str]
    """Domain id -> name, for the origins of scoped tags."""
    guardrail_mask: str = "redact"
    collected: dict[int, str] = field(default_factory=dict)
    """Dataset id -> the purpose its data was collected for (when a `compatible_purposes` rule is active)."""


COLLECTION_PURPOSES: list[Callable[[Session, list[int]], dict[int, str]]] = []
"""Who knows why data was collected (compliance's register registers itself: `add_collection_purposes`)."""


def add_collection_purposes(lookup: Callable[[Session, list[int]], dict[int, str]]) -> None:
    if lookup not in COLLECTION_PURPOSES:
        COLLECTION_PURPOSES.append(lookup)


def collection_purposes(s: Session, ids: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for lookup in COLLECTION_PURPOSES:
        out.update(lookup(s, ids))
    return out


def _context(platform: Platform, s: Session, person: Person, rows: Iterable[Dataset], now: datetime) -> _Context:
    """One query each for what is needed, and none for what is not (this runs before every query)."""
    rules = active_rules(platform, session=s)
    rows = list(rows)
    origins = {t.scope_dataset_id for d in rows for t in d.tags if t.scope_dataset_id is not None}
    origin_domains = {t.scope_domain_id for d in rows for t in d.tags if t.scope_domain_id is not None}
    # A member reads their own domain's data by membership: their grants matter only elsewhere.
    wanted = {d.id for d in rows if d.domain.name not in person.domains} | origins
    grants = (
        [
            g
            for g in s.scalars(
                select(Grant).where(
                    Grant.user_id == person.id,
                    Grant.dataset_id.in_(sorted(wanted)),
                    Grant.revoked_at.is_(None),
                    or_(Grant.expires_at.is_(None), Grant.expires_at > now),
                )
            )
            if g.expires_at is None or _aware(g.expires_at) > now
        ]
        if wanted
        else []
    )
    domains = (
        dict(s.execute(select(Domain.id, Domain.name).where(Domain.id.in_(origin_domains))).all())
        if origin_domains
        else {}
    )
    fetched: dict[str, Any] = {}

    def attributes() -> dict[str, Any]:
        if "value" not in fetched:
            fetched["value"] = dict(s.scalar(select(User.attributes).where(User.id == person.id)) or {})
        return fetched["value"]  # type: ignore[no-any-return]

    mask = platform.settings.guardrail_personal_mask
    # Why the data was collected matters only where a compatible_purposes rule is active (one query then).
    compat = any(r.rule.kind == "compatible_purposes" for r in rules)
    collected = collection_purposes(s, [d.id for d in rows]) if compat else {}
    return _Context(rules, sensitive_class(rules), join_keys(rules), attributes, grants, domains, mask, collected)


def _decide_all(
    platform: Platform, s: Session, person: Person, datasets: list[str], purpose: str | None
) -> tuple[list[Decision], _Context]:
    now = platform.clock()
    purpose_norm = purpose.strip().lower() if purpose else None
    rows = s.scalars(
        select(Dataset)
        .where(Dataset.full_name.in_(datasets))
        .options(joinedload(Dataset.domain), selectinload(Dataset.tags))
    ).all()
    # Names and types only: a column's profile (top values...) is not needed to decide, and costs to load.
    fields: dict[int, list[tuple[str, str]]] = {d.id: [] for d in rows}
    if rows:
        for ds_id, name, typ in s.execute(
            select(Column.dataset_id, Column.name, Column.type)
            .where(Column.dataset_id.in_(list(fields)))
            .order_by(Column.dataset_id, Column.position)
        ):
            fields[ds_id].append((name, typ))
    ctx = _context(platform, s, person, rows, now)
    return [_decide_one(person, ctx, d, purpose_norm, fields=fields[d.id]) for d in rows], ctx


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

    now = platform.clock()
    purpose_norm = purpose.strip().lower() if purpose else None
    with platform.store.session() as s:
        d = s.scalars(
            select(Dataset)
            .where(Dataset.full_name == dataset)
            .options(selectinload(Dataset.domain), selectinload(Dataset.columns), selectinload(Dataset.tags))
        ).one()
        share = s.scalars(select(Share).where(Share.dataset_id == d.id, Share.snapshot_id == snapshot_id)).first()
        recorded_scopes = [
            (str(col), str(tag), dom, ds, grant)
            for col, entries in ((share.column_scopes if share else None) or {}).items()
            for tag, dom, ds, grant in entries
        ]
        ctx = _context(platform, s, person, [d], now)
        extra_origins = {ds for *_, ds, _g in recorded_scopes if ds is not None} - {g.dataset_id for g in ctx.grants}
        if extra_origins:  # grants on origins only an old snapshot's columns came from
            ctx.grants += [
                g
                for g in s.scalars(
                    select(Grant).where(
                        Grant.user_id == person.id,
                        Grant.dataset_id.in_(sorted(extra_origins)),
                        Grant.revoked_at.is_(None),
                    )
                )
                if g.expires_at is None or _aware(g.expires_at) > now
            ]
        missing = {dom for _, _, dom, _, _ in recorded_scopes if dom is not None} - set(ctx.domains)
        if missing:
            ctx.domains.update(s.execute(select(Domain.id, Domain.name).where(Domain.id.in_(missing))).all())
        recorded = {str(k): set(v) for k, v in ((share.column_tags if share else None) or {}).items()}
        current = {c.name for c in d.columns}
        scopes = _scopes_of(d, ctx)
        for col, tags in recorded.items():
            have = {ts.tag for ts in scopes.get(col, [])}
            for t in tags - have:
                scoped = [r for r in recorded_scopes if r[0] == col and r[1] == t]
                if not scoped:
                    scopes.setdefault(col, []).append(TagScope(t, d.domain.name, d.id))
                for _, tag, dom, ds, grant in scoped:
                    origin = ctx.domains.get(dom, d.domain.name) if dom else d.domain.name
                    scopes.setdefault(col, []).append(TagScope(tag, origin, ds if ds is not None else -1, grant))
        untracked = {
            n for n, _ in fields if n not in current and n not in recorded and not (share and share.column_tags)
        }
        return _decide_one(person, ctx, d, purpose_norm, fields=fields, scopes=scopes, untracked=untracked)


def _scopes_of(d: Dataset, ctx: _Context) -> dict[str, list[TagScope]]:
    """Column -> its tags with where its values come from (its own domain unless lineage says otherwise)."""
    out: dict[str, list[TagScope]] = {}
    for t in d.tags:
        if not t.column_name:
            continue
        if t.scope_domain_id is None:
            scope = TagScope(t.tag, d.domain.name, d.id)
        else:
            origin = ctx.domains.get(t.scope_domain_id, d.domain.name)
            # an origin dataset that no longer exists: no grant can lift the guardrail (fail closed)
            origin_dataset = t.scope_dataset_id if t.scope_dataset_id is not None else -1
            scope = TagScope(t.tag, origin, origin_dataset, t.scope_grant_id)
        out.setdefault(t.column_name, []).append(scope)
    return out


def _decide_one(
    person: Person,
    ctx: _Context,
    d: Dataset,
    purpose: str | None,
    *,
    fields: list[tuple[str, str]] | None = None,
    scopes: dict[str, list[TagScope]] | None = None,
    untracked: set[str] | None = None,
) -> Decision:
    domain = d.domain.name
    member = domain in person.domains
    visibility = d.visibility or d.domain.default_visibility or "open"
    if fields is None:
        fields = [(c.name, c.type) for c in d.columns]
    cols = [ColumnDecision(n, t) for n, t in fields]
    grants = [g for g in ctx.grants if g.dataset_id == d.id]

    def deny(rule: str, reason: str, hidden: bool = False) -> Decision:
        return Decision(d.full_name, d.id, False, rule, reason, purpose, visibility, cols, hidden=hidden)

    # Purpose: the declared one, or the person's only granted purpose.
    granted_purposes = sorted({p for g in grants for p in g.purposes})
    if purpose is None and len(granted_purposes) == 1 and not member:
        purpose = granted_purposes[0]
    grant = next((g for g in grants if purpose is not None and purpose in g.purposes), None)

    # (1) visibility and grants: the `dataset.read` rule
    answer = _read(person, DatasetRef(d.id, d.full_name, domain, visibility, granted=grant is not None))
    if not answer:
        if answer.hidden:
            return deny(answer.rule, answer.reason, hidden=True)
        if answer.rule == "visibility.on-request":
            hint = (
                f"your grants cover {', '.join(granted_purposes)}; declare one of them"
                if granted_purposes
                else "ask its owners for access, for a purpose"
            )
            return deny(answer.rule, f"{d.full_name} is shared on request; {hint}")
        return deny(answer.rule, answer.reason)
    rule = answer.rule
    reason = f"grant {grant.id} for {purpose}" if rule == "grant" and grant is not None else answer.reason

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
    for r in ctx.rules:
        if r.rule.kind == "deny_purpose" and _rule_targets(r, d, domain) and _applies(r, person, domain):
            if purpose is not None and purpose in [p.lower() for p in r.rule.purposes]:
                return deny(r.rule_id, f"{purpose!r} is not an allowed purpose for this data")
        if r.rule.kind == "compatible_purposes" and _rule_targets(r, d, domain) and _applies(r, person, domain):
            collected = ctx.collected.get(d.id)
            if collected and purpose is not None and grant is None:  # an approved request decided already
                why = incompatible(r.rule, collected, purpose)
                if why:
                    return deny(r.rule_id, f"{d.full_name} was {why}")

    # (3) masks
    if scopes is None:
        scopes = _scopes_of(d, ctx)
    granted_columns = set(grant.columns) if grant is not None and grant.columns and not member else None
    guardrail_mask = ctx.guardrail_mask
    for c in cols:
        col_scopes = scopes.get(c.name, [])
        tags = {ts.tag for ts in col_scopes}
        candidates: list[tuple[str, str]] = []
        if not member and untracked and c.name in untracked:
            candidates.append(("null", "time-travel.untracked-column"))
        sensitive = [ts for ts in col_scopes if ctx.sensitive.covers(ts.tag, ts.domain)]
        uncovered = [ts for ts in sensitive if not _covered(person, ctx, ts, purpose)]
        if uncovered:
            candidates.append((guardrail_mask, PERSONAL_GUARDRAIL))
        if granted_columns is not None and c.name not in granted_columns and rule == "grant":
            candidates.append(("null", "grant.columns"))
        for r in ctx.rules:
            if r.rule.kind != "mask" or not _rule_targets(r, d, domain) or not _applies(r, person, domain):
                continue
            if c.name in r.rule.columns or (r.rule.tags and any(tag_matches(t, r.rule.tags) for t in tags)):
                candidates.append((r.rule.mask, r.rule_id))
        if candidates:
            strictest = max(candidates, key=lambda m: STRICTNESS[m[0]])
            c.mask = strictest[0]
            c.visible = False
            c.rules = [rid for _, rid in candidates]
            c.key_scope = _key_scope(person, ctx, d, sensitive or col_scopes)
            why = f"{DESCRIPTIONS[c.mask]} by {strictest[1]}"
            if strictest[1] == "time-travel.untracked-column":
                why += " (a column of an earlier version whose classification was not recorded)"
            if strictest[1] == "grant.columns":
                why += " (not among the columns your grant covers)"
            if strictest[1] == PERSONAL_GUARDRAIL:
                why += _guardrail_why(domain, uncovered)
            c.why = why

    # (4) row filters
    filters: list[tuple[str, str]] = []
    for r in ctx.rules:
        if r.rule.kind == "row_filter" and _rule_targets(r, d, domain) and _applies(r, person, domain):
            assert r.rule.where is not None
            from threshold.access.rowfilter import render  # sqlglot: only a decision with a row filter parses

            filters.append((r.rule_id, render(r.rule.where, person, ctx.attributes)))
    decision = Decision(d.full_name, d.id, True, rule, reason, purpose, visibility, cols, filters)
    decision.grant_id = grant.id if grant else None
    return decision


def _covered(person: Person, ctx: _Context, ts: TagScope, purpose: str | None) -> bool:
    """The reader may see this sensitive value in clear: a member of the domain it comes from, or holding a
    live grant on the dataset it comes from that allows personal data for the purpose."""
    if ts.domain in person.domains:
        return True
    for g in ctx.grants:
        if g.dataset_id == ts.dataset_id and g.allows_personal and (purpose is None or purpose in g.purposes):
            return True
    return False


def _key_scope(person: Person, ctx: _Context, d: Dataset, scopes: list[TagScope]) -> str:
    """The scope of a masked column's `hash` key: the domain its values come from and its tag; the grant
    for values a grantee derived; an agreed join key; for a reader inside that domain, a key of their own
    dataset (a domain's members never see hashes under the key outsiders see)."""
    if not scopes:
        scopes = [TagScope("", d.domain.name, d.id)]
    parts = set()
    for ts in scopes:
        if ts.domain in person.domains:
            parts.add(f"inside|{ts.domain}|{d.id}|{ts.tag}")
        elif ts.grant_id is not None:
            parts.add(f"grant|{ts.grant_id}|{ts.tag}")
        else:
            joint = next(
                (k for (dom, t), k in ctx.joins.items() if dom == ts.domain and tag_matches(ts.tag, [t])), None
            )
            parts.add(joint or f"domain|{ts.domain}|{ts.tag}")
    return "|".join(sorted(parts)) if len(parts) > 1 else parts.pop()


def _guardrail_why(domain: str, uncovered: list[TagScope]) -> str:
    origins = sorted({ts.domain for ts in uncovered})
    if origins == [domain]:
        return " (personal data outside its domain; a grant whose purpose allows personal data lifts it)"
    return (
        f" (personal data that comes from {', '.join(origins)}: only its members, or a grant there whose purpose "
        "allows personal data, see it)"
    )


__all__ = ["ColumnDecision", "Decision", "TagScope", "decide", "decide_at", "mask_secret"]
