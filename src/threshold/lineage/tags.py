"""Tag inheritance: a derived column carries the tags of the columns its values come from.

So a column computed from a `personal.email` column is `personal.email` too, and the personal-data
guardrail keeps masking it for readers outside the domain, however many derivations away. Tags
flow through identity, transform and aggregate lineage (a hash of an email is still personal data:
pseudonymised data is personal data), not through a count (its values do not survive) nor through
columns that only filter or decide. Dataset-level tags (`confidential`) flow from every input. A
column whose origin is unresolved may come from any input column, so it carries all their tags.
Inherited tags have origin `lineage` and a reason naming the source column; each refresh recomputes
them, and a person's manual tags are never touched.

An inherited tag keeps the *scope* of the values: the domain and dataset they were first shared in (and
the grant the derivation's owner read them under, when it was a grant that let them read them in clear).
The guardrail judges the column against that origin (`threshold.access.reading`), so a derived copy is
never readable in clear by someone who could not read the source. When the owner read the source column
masked, the derived values are what the owner saw: the tag is inherited in the derived dataset's own scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from threshold.lineage.models import DIRECT_KINDS
from threshold.store.db import now_of
from threshold.store.models import Dataset, Domain, Grant, Tag

ORIGIN = "lineage"


Scope = tuple[int | None, int | None, int | None]
"""(origin domain id, origin dataset id, grant id); all None: the derived dataset's own scope."""
_LOCAL: Scope = (None, None, None)


@dataclass(frozen=True)
class ReadAs:
    """How the derivation's owner read its inputs: who they are, and the columns they saw masked."""

    owner_id: int
    owner_domains: tuple[str, ...]
    masked: dict[str, set[str]] = field(default_factory=dict)
    """Input dataset -> its columns the owner read masked."""


def inherit(
    s: Session,
    dataset: Dataset,
    rows: Sequence[dict[str, Any]],
    inputs: Iterable[str],
    read_as: ReadAs | None = None,
) -> list[tuple[str, str]]:
    """Recompute `dataset`'s inherited tags from its column lineage `rows` (dicts with target_column,
    source_dataset, source_column, kind, masking), each in the scope its values were read under (see the
    module doc; `read_as` None: the values keep their origin). Returns the (column, tag) pairs inherited."""
    s.execute(delete(Tag).where(Tag.dataset_id == dataset.id, Tag.origin == ORIGIN))
    names = sorted(set(inputs) | {r["source_dataset"] for r in rows if r.get("source_dataset")})
    if not names:
        return []
    sources = {
        full: (ds_id, domain_id)
        for full, ds_id, domain_id in s.execute(
            select(Dataset.full_name, Dataset.id, Dataset.domain_id).where(Dataset.full_name.in_(names))
        )
    }
    ids = {full: v[0] for full, v in sources.items()}
    source_tags: dict[tuple[int, str | None], list[tuple[str, Scope]]] = {}
    for ds_id, column, tag, sd, sds, sg in s.execute(
        select(
            Tag.dataset_id, Tag.column_name, Tag.tag, Tag.scope_domain_id, Tag.scope_dataset_id, Tag.scope_grant_id
        ).where(Tag.dataset_id.in_(list(ids.values())))
    ):
        source_tags.setdefault((ds_id, column), []).append((tag, (sd, sds, sg)))
    scope_of = _Scoper(s, dataset, read_as, sources)
    have = {
        (c, t, (sd, sds, sg))
        for c, t, sd, sds, sg in s.execute(
            select(Tag.column_name, Tag.tag, Tag.scope_domain_id, Tag.scope_dataset_id, Tag.scope_grant_id).where(
                Tag.dataset_id == dataset.id
            )
        )
    }
    added: dict[tuple[str | None, str, Scope], str] = {}

    def add(column: str | None, tag: str, scope: Scope, reason: str) -> None:
        key = (column, tag, scope)
        if key not in have and key not in added:
            added[key] = reason

    column_tags = [(ds_id, col, tag, sc) for (ds_id, col), ts in source_tags.items() if col for tag, sc in ts]
    by_id = {v: k for k, v in ids.items()}
    for r in rows:
        if r["kind"] == "unresolved" and r.get("target_column"):
            # Unknown origin: it may come from any input column, so it carries every input column's tags.
            for ds_id, col, tag, sc in column_tags:
                scope = scope_of(by_id[ds_id], col, sc)
                add(r["target_column"], tag, scope, f"origin unresolved: may come from {by_id[ds_id]}.{col}")
            continue
        if r["kind"] not in DIRECT_KINDS or r.get("masking") or not r.get("source_dataset"):
            continue
        src_id = ids.get(r["source_dataset"])
        for tag, sc in source_tags.get((src_id or -1, r["source_column"]), []):
            scope = scope_of(r["source_dataset"], r["source_column"], sc)
            add(r["target_column"], tag, scope, f"from {r['source_dataset']}.{r['source_column']} ({r['kind']})")
    for name in names:
        for tag, _sc in source_tags.get((ids.get(name, -1), None), []):
            add(None, tag, _LOCAL, f"from {name}")
    for (column, tag, scope), reason in sorted(added.items(), key=lambda kv: (kv[0][0] or "", kv[0][1], str(kv[0][2]))):
        sd, sds, sg = scope
        s.add(
            Tag(
                dataset_id=dataset.id,
                column_name=column,
                tag=tag,
                origin=ORIGIN,
                reason=reason,
                scope_domain_id=sd,
                scope_dataset_id=sds,
                scope_grant_id=sg,
            )
        )
    s.flush()
    return sorted({(c or "", t) for c, t, _ in added})


class _Scoper:
    """The scope a derived column's tag gets, from where its source column's values come from."""

    def __init__(
        self, s: Session, dataset: Dataset, read_as: ReadAs | None, sources: dict[str, tuple[int, int]]
    ) -> None:
        self.s, self.dataset, self.read_as, self.sources = s, dataset, read_as, sources
        self._domains: dict[int, str] = {}

    def __call__(self, source: str, column: str, source_scope: Scope) -> Scope:
        if self.read_as is not None and column in self.read_as.masked.get(source, set()):
            return _LOCAL  # the owner saw it masked: the derived values are theirs, in this dataset's scope
        ds_id, domain_id = self.sources[source]
        if source_scope[0] is not None:  # the source's values came from elsewhere already: keep that origin
            origin_domain, origin_dataset = source_scope[0], source_scope[1]
        else:
            origin_domain, origin_dataset = domain_id, ds_id
        if origin_domain == self.dataset.domain_id and origin_dataset == self.dataset.id:
            return _LOCAL
        grant = source_scope[2]
        if self.read_as is not None and origin_dataset is not None:
            if self._name(origin_domain) not in self.read_as.owner_domains:
                grant = self._grant(origin_dataset) or grant  # read in clear through a grant: remember which
        return (origin_domain, origin_dataset, grant)

    def _name(self, domain_id: int) -> str:
        if domain_id not in self._domains:
            self._domains[domain_id] = str(self.s.scalar(select(Domain.name).where(Domain.id == domain_id)))
        return self._domains[domain_id]

    def _grant(self, dataset_id: int) -> int | None:
        assert self.read_as is not None
        now = now_of(self.s)
        for g in self.s.scalars(
            select(Grant)
            .where(Grant.user_id == self.read_as.owner_id, Grant.dataset_id == dataset_id, Grant.revoked_at.is_(None))
            .where(Grant.allows_personal.is_(True))
            .order_by(Grant.id.desc())
        ):
            if (
                g.expires_at is None
                or (g.expires_at if g.expires_at.tzinfo else g.expires_at.replace(tzinfo=UTC)) > now
            ):
                return int(g.id)
        return None
