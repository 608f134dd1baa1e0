"""How checks read data: always as the dataset's owner, always through the gateway's walls.

- `PublishedReader` (scheduled and manual runs) calls `gateway.service.query` as the owner: parse wall,
  owner's decision (masks, row filters), locked engine, usage event, audit entry — like any reader.
- `SnapshotReader` (the gate of a share, before it is published) cannot use the gateway, which reads
  only published snapshots. It does what the gateway does, on the new snapshot: the same parse wall
  (`gateway.check.check`), references bound to a per-query view of the new snapshot built from the
  owner's decision for that snapshot (`access.reading.decide_at` over its own columns, so a column the
  append adds is decided too), DuckDB's one-statement check, the same locked engine, and a usage event
  and audit entry for the read. At an append it can also read the appended files alone.

Whose rights: the owner's — the first owner of the dataset's domain (by user name), else the check's
author. Owners are members, so the personal-data guardrail does not mask what they check.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import duckdb
import pyarrow as pa
from sqlalchemy import select

from threshold.errors import Denied, InvalidInput, NotFound, ThresholdError
from threshold.identity.service import Person, get_person
from threshold.lake import ReadPlan
from threshold.platform import Platform
from threshold.quality.footers import snapshot_facts
from threshold.quality.kinds.base import Facts
from threshold.store.models import Dataset, Domain, Membership, Share, User

PURPOSE = "data quality"
"""The purpose every check declares to the gateway (reads for it are checks, not consumption)."""


@dataclass(frozen=True)
class Target:
    """One snapshot of one dataset, as a run sees it."""

    dataset_id: int
    full_name: str
    domain: str
    snapshot_id: int | None
    types: dict[str, str]
    snapshot_at: datetime | None
    appended: bool = False
    """An append's gate: row rules read the appended files only."""


class Reader(Protocol):
    target: Target

    def run(self, sql: str, *, scope: str = "whole", max_rows: int | None = None) -> pa.Table: ...

    def facts(self) -> Facts:
        """What the snapshot's footers say (row count, integer bounds), to plan the scan."""
        ...


def run_as(platform: Platform, dataset_id: int, fallback_user_id: int | None = None) -> Person:
    """The person whose rights checks of a dataset run with: its domain's first owner, else `fallback`."""
    with platform.store.session() as s:
        name = s.scalar(
            select(User.name)
            .join(Membership, Membership.user_id == User.id)
            .join(Dataset, Dataset.domain_id == Membership.domain_id)
            .where(Dataset.id == dataset_id, Membership.role == "owner")
            .order_by(User.name)
            .limit(1)
        )
        if name is None and fallback_user_id is not None:
            name = s.scalar(select(User.name).where(User.id == fallback_user_id))
    if name is None:
        raise Denied("the dataset's domain has no owner to run its checks as; add one with `threshold domain join`")
    return get_person(platform, name)


def published_target(platform: Platform, full_name: str) -> Target:
    with platform.store.session() as s:
        row = s.execute(
            select(Dataset.id, Dataset.snapshot_id, Domain.name)
            .join(Domain, Domain.id == Dataset.domain_id)
            .where(Dataset.full_name == full_name)
        ).one_or_none()
        if row is None or row[1] is None:
            raise NotFound(f"no dataset {full_name[:80]!r}")
        at = s.scalar(select(Share.at).where(Share.dataset_id == row[0], Share.snapshot_id == row[1]).limit(1))
    plan = platform.lake.plan(full_name, row[1])
    types = {f.name: f.duckdb_type for f in plan.fields}
    return Target(row[0], full_name, row[2], row[1], types, _aware(at) if at else None)


class PublishedReader:
    """Reads the published snapshot through the gateway, as the owner."""

    def __init__(self, platform: Platform, target: Target, owner: Person) -> None:
        self.platform, self.target, self.owner = platform, target, owner

    def run(self, sql: str, *, scope: str = "whole", max_rows: int | None = None) -> pa.Table:
        from threshold.gateway.service import query

        if scope != "whole":
            raise InvalidInput("only a share's gate reads the appended rows alone")
        return query(
            self.platform, sql, user=self.owner, purpose=PURPOSE, interface="job", max_rows=max_rows, kind="platform"
        ).table

    def facts(self) -> Facts:
        return snapshot_facts(self.platform.lake.plan(self.target.full_name, self.target.snapshot_id))


class SnapshotReader:
    """Reads a snapshot that is committed but not published (a share's gate), walled like the gateway."""

    def __init__(self, platform: Platform, target: Target, owner: Person, appended_files: tuple[str, ...] = ()) -> None:
        from threshold.access.reading import decide_at

        self.platform, self.target, self.owner = platform, target, owner
        self.plan = platform.lake.plan(target.full_name, target.snapshot_id)
        self.appended = ReadPlan(target.full_name, target.snapshot_id, appended_files, self.plan.fields)
        fields = [(f.name, f.duckdb_type) for f in self.plan.fields]
        assert target.snapshot_id is not None
        self.decision = decide_at(platform, owner, target.full_name, PURPOSE, target.snapshot_id, fields)
        if not self.decision.allowed:
            raise Denied(f"{owner.name} may not read {target.full_name} to check it (rule {self.decision.rule})")

    def facts(self) -> Facts:
        return snapshot_facts(self.plan)

    def run(self, sql: str, *, scope: str = "whole", max_rows: int | None = None) -> pa.Table:
        from sqlglot import exp  # here, not at the top: a share without checks never parses SQL

        from threshold.access.reading import mask_secret
        from threshold.gateway.columns import columns_read
        from threshold.gateway.fingerprint import fingerprint, strip_literals
        from threshold.sql.check import check, render

        started = time.perf_counter()
        checked = check(sql)
        original = checked.tree.copy()
        name = self.target.full_name
        if any(r.dataset != name or r.time_travel is not None for r in checked.references):
            raise InvalidInput(f"a check reads only {name}, as it is now")
        plan = self.appended if scope == "appended" else self.plan
        view = f"__thr_{uuid.uuid4().hex[:10]}_1"
        for ref in checked.references:
            alias = ref.node.args.get("alias")
            replacement = exp.Table(this=exp.to_identifier(view))
            replacement.set("alias", alias.copy() if alias else exp.TableAlias(this=exp.to_identifier(ref.node.name)))
            for arg in ("joins", "laterals", "pivots", "hints", "sample"):
                if ref.node.args.get(arg):
                    replacement.set(arg, ref.node.args[arg])
            ref.node.replace(replacement)
        for col in checked.tree.find_all(exp.Column):  # domain.dataset.column: the table part is the alias now
            if col.args.get("db") is not None and f"{col.args['db'].name.lower()}.{col.table.lower()}" == name:
                col.set("db", None)
        generated = render(checked.tree)
        statements = duckdb.extract_statements(generated)
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            raise InvalidInput("only one read-only query can run at a time")
        body = self.decision.view_sql(plan.relation_sql(), mask_secret(self.platform))
        status, error = "ok", None
        try:
            limits = self.platform.settings.limits  # a share's gate is a job: the jobs' allowance
            table, _ = self.platform.engine.run(
                generated,
                {view: (plan, body)},
                max_rows=max_rows or limits.job_query_rows,
                timeout=limits.job_query_seconds,
            )
        except ThresholdError as e:
            status, error, table = "error", type(e).__name__, None
            raise
        finally:
            read = columns_read(original, {name: list(self.target.types)})
            fp, text = fingerprint(strip_literals(original))
            self._record(fp, text, table.num_rows if table is not None else 0, started, status, error, read)
        return table

    def _record(
        self,
        fp: str,
        text: str,
        rows: int,
        started: float,
        status: str,
        error: str | None,
        read: dict[str, list[str]] | None,
    ) -> None:
        from threshold.governance.audit import append_many
        from threshold.usage.service import UsageRecord, record

        columns = (read or {}).get(self.target.full_name, list(self.target.types))
        event = record(
            self.platform,
            UsageRecord(
                user_id=self.owner.id,
                interface="job",
                purpose=PURPOSE,
                fingerprint=fp,
                query_text=text,
                rows=rows,
                duration_ms=(time.perf_counter() - started) * 1000,
                status=status,
                error=error,
                kind="platform",
                reads=[(self.target.dataset_id, columns, self.target.snapshot_id)],
            ),
        )
        d = self.decision
        action = "query.masked" if d.masks else "query.allowed"
        append_many(
            self.platform,
            [
                {
                    "at": datetime.now(UTC),
                    "actor_id": self.owner.id,
                    "action": action,
                    "dataset_id": d.dataset_id,
                    "purpose": PURPOSE,
                    "rules": d.rules,
                    "detail": {
                        "event": event,
                        "reason": d.reason,
                        "masked": d.masks,
                        "columns": columns,
                        "snapshot": self.target.snapshot_id,
                        "gate": True,
                    },
                }
            ],
        )


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)
