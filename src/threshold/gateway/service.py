"""Every read of lake data goes through `query`: parse, resolve, authorise, bind, execute, record."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlglot import exp

from threshold import events
from threshold.access import knowable, may, refs
from threshold.access.reading import Decision, decide, decide_at, grants_expire, mask_secret, reader_key
from threshold.catalog.search import did_you_mean
from threshold.errors import Busy, Denied, InvalidInput, NotFound, ThresholdError
from threshold.events import QueryDone
from threshold.gateway.columns import columns_read_cached
from threshold.gateway.dispatch import choose
from threshold.gateway.fingerprint import fingerprint, fingerprint_of, strip_literals
from threshold.gateway.prepared import Prepared, key_of, reads_of
from threshold.gateway.stream import Cancel, QueryStream
from threshold.identity.service import Person
from threshold.kept import Kept, kept_on
from threshold.lake import ReadPlan
from threshold.limits import Ticket
from threshold.localcache import Pin
from threshold.platform import Platform
from threshold.sql.check import CheckedQuery, Reference, check, render
from threshold.store.models import Column, Dataset, Domain
from threshold.usage.journal import Pending
from threshold.usage.service import KINDS, UsageRecord, record, record_soon

if TYPE_CHECKING:
    import pyarrow as pa

INTERFACES = ("web", "api", "cli", "python", "job", "pg")


@dataclass
class QueryResult:
    table: pa.Table
    truncated: bool
    datasets: list[str]
    duration_ms: float
    event: Pending | None
    """The usage event, on its way to the store (`event_id` waits for it)."""
    notes: list[str] = field(default_factory=list)
    masked: dict[str, set[str]] = field(default_factory=dict)
    """Per dataset read: the columns the reader saw masked (a derivation's tags remember it)."""
    snapshots: dict[str, int | None] = field(default_factory=dict)
    """The snapshot each dataset was read at."""

    @property
    def event_id(self) -> int | None:
        """The usage event's id: waits until the usage journal has written it (read-your-writes)."""
        return self.event.id() if self.event is not None else None


@dataclass(frozen=True)
class _Bound:
    """A dataset a query names, as resolved for its reader: kept and shared between queries (`_resolve`)."""

    id: int
    full_name: str
    snapshot_id: int | None
    columns: list[str]


def query(
    platform: Platform,
    sql: str,
    *,
    user: Person,
    purpose: str | None = None,
    interface: str = "python",
    max_rows: int | None = None,
    timeout: float | None = None,
    cancel: Cancel | None = None,
    kind: str = "consumption",
    engine: str | None = None,
) -> QueryResult:
    """Run a read-only query as `user` and gather its result (within the allowance of `interface`).

    `max_rows` and `timeout` ask for less than the allowance (fewer rows, a shorter time), never more;
    None asks for all of it. To send a large result on without holding it, use `open_query`. `kind` says
    what the read is for the usage record (`usage.service.KINDS`): a person's use, a look at a dataset
    page (`browse`), or the platform's own read (`platform`).
    """
    with open_query(
        platform,
        sql,
        user=user,
        purpose=purpose,
        interface=interface,
        max_rows=max_rows,
        timeout=timeout,
        cancel=cancel,
        kind=kind,
        engine=engine,
    ) as stream:
        table = stream.read_all()
    return QueryResult(
        table,
        stream.truncated,
        stream.datasets,
        stream.duration_ms,
        stream.event,
        stream.notes,
        stream.masked,
        dict(stream.snapshots),
    )


def open_query(
    platform: Platform,
    sql: str,
    *,
    user: Person,
    purpose: str | None = None,
    interface: str = "python",
    max_rows: int | None = None,
    timeout: float | None = None,
    cancel: Cancel | None = None,
    start: bool = True,
    kind: str = "consumption",
    engine: str | None = None,
) -> QueryStream:
    """Check, authorise, admit and start a query; its result is read from the returned stream.

    `start=False` stops short of running it in the engine (`stream.begin()` does): a server admits and
    refuses on its request threads, and runs only admitted queries on its query pool.

    `engine`: `daft` asks for Daft, `duckdb` for DuckDB; None or `auto`: the configuration decides by the
    query's planned scan (`gateway.dispatch`). The usage event names the engine that answered.

    Raises `Busy` when the person or the server runs as many queries as they may; every refusal and
    failure is recorded as a usage event, the stream records the rest when it closes.
    """
    started = time.perf_counter()
    purpose = (purpose or "").strip()[:200] or None
    if interface not in INTERFACES:
        raise InvalidInput(f"unknown interface {interface!r}")
    if kind not in KINDS:
        raise InvalidInput(f"unknown kind of read {kind!r}; one of {', '.join(KINDS)}")
    original: exp.Expression | None = None
    bound: dict[str, _Bound] = {}
    decisions: list[Decision] = []
    ticket: Ticket | None = None
    pin: Pin | None = None
    prepared = reads_of(platform)
    # Read before any metadata: a change committed after it gives a new key (see `gateway.prepared`).
    version = platform.store.metadata_version()
    key = key_of(version, sql, user, purpose)
    try:
        allowance = platform.limits.allowance(interface, max_rows=max_rows, seconds=timeout)
        # Admitted before anything else: a flood of refused queries costs no parse and no metadata read.
        ticket = platform.limits.admit(user.id, user.name, allowance)
        hit = prepared.get(key) if key is not None else None
        if hit is not None:
            bound, decisions, purpose, views = hit.bound, list(hit.decisions), hit.purpose, hit.views
            generated, fp, text, read = hit.generated, hit.fingerprint, hit.text, hit.read
        else:
            try:
                checked = check(sql)
            except InvalidInput as e:
                if e.near:  # a table named without its domain: which datasets did they mean?
                    raise InvalidInput(str(e), suggestions=did_you_mean(platform, e.near, viewer=user)) from e
                raise
            # Binding rewrites the tree; analysis reads what the person wrote (the parsed tree: only copied).
            original = checked.source if checked.source is not None else checked.tree.copy()
            with platform.store.session() as s:  # one metadata transaction for resolving and deciding
                bound = _resolve(platform, s, checked, user, version)
                until = grants_expire(platform, s, user, version) if key is not None and bound else None
                # Kept per dataset under `version`: another query of this reader on the same data decides nothing.
                decisions = decide(platform, user, sorted(bound), purpose, session=s, version=version, until=until)
            denied = [d for d in decisions if not d.allowed]
            if denied:
                d = denied[0]
                with platform.store.session() as s:  # the button to ask: only where a request could lift it
                    ref = refs(s, user, [d.dataset_id])[d.dataset_id]
                raise Denied(
                    f"{user.name} may not read {d.dataset} (rule {d.rule}): {d.reason}",
                    request_access=d.dataset if may(user, "dataset.request", ref, platform=platform) else None,
                )
            if purpose is None:
                inferred = {d.purpose for d in decisions if d.purpose}
                purpose = inferred.pop() if len(inferred) == 1 else None
            extra: list[Decision] = []
            views, generated = _bind(platform, checked, bound, {d.dataset: d for d in decisions}, user, extra)
            decisions = decisions + extra
            _one_select(generated, pivot=checked.tree.find(exp.Pivot) is not None)
            fp, text = fingerprint_of(sql, original)
            schemas = {b.full_name: b.columns for b in bound.values()}
            read = columns_read_cached(fp, original, schemas) if schemas else {}
            if key is not None and not any(ref.time_travel is not None for ref in checked.references):
                prepared.put(key, Prepared(bound, decisions, purpose, views, generated, fp, text, read, until))
        choice = choose(platform, engine, [plan for plan, _body in views.values()])
        # An object store's files, into this machine's cache and pinned there until the stream closes.
        pin = platform.lake.fetch([plan for plan, _body in views.values()])
        platform.engine.ensure_views({name: body for name, (_plan, body) in views.items()})
    except BaseException as e:
        if ticket is not None:
            ticket.leave()
        if pin is not None:
            pin.release()
        if isinstance(e, Busy):
            _record_refusal(platform, user, interface, purpose, kind)
        elif isinstance(e, ThresholdError):
            _record_failure(platform, user, interface, purpose, original, bound, decisions, started, e, kind)
        raise
    # The snapshot each dataset was read at (a time-travel read names an older one than the published).
    read_at: dict[str, set[int | None]] = {}
    for plan, _view_sql in views.values():
        read_at.setdefault(plan.identifier, set()).add(plan.snapshot_id)
    snapshots = {n: ids.pop() if len(ids) == 1 else bound[n].snapshot_id for n, ids in read_at.items()}

    def record_event(status: str, rows: int, error: str | None) -> Pending | None:
        try:
            pending = record_soon(
                platform,
                UsageRecord(
                    user_id=user.id,
                    interface=interface,
                    purpose=purpose,
                    fingerprint=fp,
                    query_text=text,
                    rows=rows,
                    duration_ms=stream.duration_ms,  # the same measurement as the result's
                    status=status,
                    error=error,
                    kind=kind,
                    engine=stream.engine,
                    reads=[
                        (
                            b.id,
                            (read or {}).get(b.full_name, b.columns) if read is not None else b.columns,
                            snapshots.get(b.full_name, b.snapshot_id),
                        )
                        for b in bound.values()
                    ],
                ),
                audit=_audit_rows(
                    user, purpose, decisions, read, error=None if status == "ok" else status, engine=stream.engine
                ),
            )
        except Exception:
            if status == "ok":
                raise  # a read that cannot be recorded must not count as done
            return None  # never hide the person's error behind a logging failure
        if status == "ok" and kind == "consumption" and bound:
            done = QueryDone(user.id, tuple(sorted(bound)), interface, platform.clock())
            events.publish(platform, done)
        return pending

    masked: dict[str, set[str]] = {}
    for d in decisions:
        masked.setdefault(d.dataset, set()).update(c.name for c in d.columns if c.mask)
    stream = QueryStream(
        platform,
        allowance,
        ticket,
        record_event,
        datasets=sorted(bound),
        notes=_mask_notes(decisions, read),
        started=started,
        cancel=cancel,
        masked=masked,
    )
    if choice.engine == "daft":
        stream.scale = platform.daft
    elif choice.note:
        stream.said(choice.note)
    stream.pin = pin
    # DuckDB reads the persistent views ensured above; Daft compiles its own from the same bodies.
    stream.pending = (generated, views if stream.scale is not None else {})
    stream.snapshots = snapshots
    stream.source_sql = sql
    stream.source_columns = tuple(c for b in bound.values() for c in b.columns)
    if start:
        stream.begin()
    return stream


def _mask_notes(decisions: list[Decision], read: dict[str, list[str]] | None) -> list[str]:
    """One line per protected column the query touched, saying how and why it was protected."""
    notes = []
    for d in decisions:
        touched = set((read or {}).get(d.dataset, [])) if read is not None else None
        for c in d.columns:
            if c.mask and (touched is None or c.name in touched):
                notes.append(f"{d.dataset}.{c.name}: {c.why}")
        for rule, _ in d.row_filters:
            notes.append(f"{d.dataset}: rows filtered by {rule}")
    return notes


def _audit_rows(
    user: Person,
    purpose: str | None,
    decisions: list[Decision],
    read: dict[str, list[str]] | None,
    error: str | None = None,
    engine: str = "duckdb",
) -> list[dict[str, Any]]:
    """One append-only audit row per decision (allowed, denied, masked, filtered, with rule ids), naming the
    engine that answered."""
    now = datetime.now(UTC)
    rows = []
    for d in decisions:
        if not d.allowed:
            action = "query.denied"
        elif d.masks and d.row_filters:
            action = "query.masked+filtered"
        elif d.masks:
            action = "query.masked"
        elif d.row_filters:
            action = "query.filtered"
        else:
            action = "query.allowed"
        rows.append(
            {
                "at": now,
                "actor_id": user.id,
                "action": action,
                "dataset_id": d.dataset_id,
                "purpose": purpose,
                "rules": d.rules,
                "detail": {
                    "reason": d.reason,
                    "masked": d.masks,
                    "filters": [r for r, _ in d.row_filters],
                    "columns": (read or {}).get(d.dataset) if read is not None else None,
                    "engine": engine,
                    **({"error": error} if error else {}),
                },
            }
        )
    return rows


def _one_select(sql: str, *, pivot: bool) -> None:
    """A third check, by DuckDB's own parser: what is sent to the engine is exactly one SELECT
    (defence in depth behind the allow-list parser and the locked engine). DuckDB itself expands a
    PIVOT without an IN list into a MULTI statement (it first collects the pivot values)."""
    import duckdb

    statements = duckdb.extract_statements(sql)
    kinds = {duckdb.StatementType.SELECT} | ({duckdb.StatementType.MULTI} if pivot else set())
    if len(statements) != 1 or statements[0].type not in kinds:
        raise InvalidInput("only one read-only query can run at a time")


def _resolve(
    platform: Platform, s: Session, checked: CheckedQuery, user: Person, version: int | None = None
) -> dict[str, _Bound]:
    """The datasets a query names, as `user` may know them: a dataset they may not know exists is refused
    exactly like one that does not exist (the attempt is audited for its owners, not recorded as a read).

    `version`: the store's metadata version, read before anything else of this query; each dataset found is
    then kept per (version, reader) and the next query of this reader on it, whatever its text, reads nothing.
    A name not found is looked up (and audited) every time."""
    names = checked.datasets
    if not names:
        return {}
    kept = resolved_of(platform) if version is not None else None
    if kept is not None:
        reader = reader_key(user)
        found = {n: kept.get((version, reader, n)) for n in names}
        if all(b is not None for b in found.values()):
            return found  # type: ignore[return-value]
    rows = {
        full: (ds_id, snapshot)
        for ds_id, full, snapshot in s.execute(
            select(Dataset.id, Dataset.full_name, Dataset.snapshot_id).where(
                Dataset.full_name.in_(names), knowable(user)
            )
        )
    }
    missing = [n for n in names if n not in rows]
    if missing:
        _audit_hidden(platform, user, missing)
        shown = ", ".join(m[:80] for m in missing[:3])
        raise InvalidInput(f"unknown dataset {shown}", suggestions=did_you_mean(platform, missing[0], viewer=user))
    # Names only: a column's profile (top values...) is not needed to bind, and costs to load.
    columns: dict[int, list[str]] = {ds_id: [] for ds_id, _ in rows.values()}
    for ds_id, name in s.execute(
        select(Column.dataset_id, Column.name)
        .where(Column.dataset_id.in_(list(columns)))
        .order_by(Column.dataset_id, Column.position)
    ):
        columns[ds_id].append(name)
    bound = {n: _Bound(rows[n][0], n, rows[n][1], columns[rows[n][0]]) for n in names}
    if kept is not None:
        for n, b in bound.items():
            kept.put((version, reader, n), b)
    return bound


MAX_RESOLVED = 4096
"""Datasets resolved for a reader kept per platform (least recently used dropped first)."""


def resolved_of(platform: Platform) -> Kept[_Bound]:
    """The datasets queries resolved, kept per (metadata version, reader, name): a share, a new column, a change
    of visibility or membership moves the version, so an entry is never stale, only unused."""
    return kept_on(platform, "_gateway_resolved", lambda: Kept(MAX_RESOLVED))


def _audit_hidden(platform: Platform, user: Person, names: list[str]) -> None:
    """A query naming datasets hidden from its author: one audit row each, for their owners' eyes only."""
    from threshold.governance.audit import append_many

    with platform.store.session() as s:
        hidden = s.execute(
            select(Dataset.id, Dataset.full_name, Domain.name)
            .join(Domain, Domain.id == Dataset.domain_id)
            .where(Dataset.full_name.in_(names), Dataset.snapshot_id.is_not(None))
        ).all()
    now = datetime.now(UTC)
    append_many(
        platform,
        [
            {
                "at": now,
                "actor_id": user.id,
                "action": "query.denied",
                "dataset_id": ds_id,
                "purpose": None,
                "rules": ["visibility.restricted"],
                "detail": {
                    "reason": f"{name} is restricted to the {domain} domain",
                    "answered": "unknown dataset",
                },
            }
            for ds_id, name, domain in hidden
        ],
    )


def _snapshot_for(platform: Platform, ref: Reference, b: _Bound) -> int | None:
    """The published snapshot a reference reads: the current one, or the one its time travel names."""
    tt = ref.time_travel
    if tt is None:
        return b.snapshot_id
    from threshold.store.published import published_snapshots, snapshot_at

    with platform.store.session() as s:
        published = published_snapshots(s, b.id)  # shares, and maintenance that published a snapshot
    if tt.kind == "version":
        try:
            wanted = int(tt.value)
        except ValueError as e:
            raise InvalidInput("FOR VERSION AS OF takes a snapshot id (a number from the dataset's history)") from e
        if any(p.snapshot_id == wanted for p in published):
            return wanted
        raise NotFound(f"{b.full_name} has no snapshot {wanted}; `threshold show {b.full_name}` lists them")
    try:
        at = datetime.fromisoformat(tt.value.strip())
    except ValueError as e:
        raise InvalidInput(f"cannot read {tt.value[:40]!r} as a time; write e.g. '2026-11-24 10:00:00'") from e
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    chosen = snapshot_at(published, at)
    if chosen is None:
        raise NotFound(f"{b.full_name} had no data yet at {at.isoformat()}")
    return chosen


def _bind(
    platform: Platform,
    checked: CheckedQuery,
    bound: dict[str, _Bound],
    decisions: dict[str, Decision],
    decision_person: Person,
    extra_decisions: list[Decision],
) -> tuple[dict[str, tuple[ReadPlan, str]], str]:
    """Bind every reference to a per-query view: the snapshot it reads, seen as this reader may see it.

    Masks and row filters live inside the view, so every reference to a dataset (joins, self-joins,
    subqueries, CTEs, set operations, lateral joins) reads the same governed rows and no expression
    of the query can reach a raw protected value. Returns {view: (plan, view SQL)} and the SQL to run.
    """
    key = mask_secret(platform)
    views: dict[str, tuple[ReadPlan, str]] = {}
    by_key: dict[tuple[str, int | None], str] = {}
    tree = checked.tree
    for ref in checked.references:
        b = bound[ref.dataset]
        snapshot = _snapshot_for(platform, ref, b)
        view_key = (ref.dataset, snapshot)
        if view_key not in by_key:
            plan = platform.lake.plan(ref.dataset, snapshot)
            decision = decisions[ref.dataset]
            if snapshot != b.snapshot_id:  # time travel: decide on that version's own columns and tags
                decision = decide_at(
                    platform,
                    decision_person,
                    ref.dataset,
                    decision.purpose,
                    snapshot,  # type: ignore[arg-type]
                    [(f.name, f.duckdb_type) for f in plan.fields],
                )
                extra_decisions.append(decision)
            body = decision.view_sql(plan.relation_sql(), key)
            # Named by content: the same snapshot seen through the same decision is the same view.
            by_key[view_key] = "v_" + hashlib.sha256(body.encode()).hexdigest()[:32]
            views[by_key[view_key]] = (plan, body)
        alias = ref.node.args.get("alias")
        table_name = ref.node.name
        replacement = exp.Table(this=exp.to_identifier(by_key[view_key]), db=exp.to_identifier("__thr"))
        replacement.set("alias", alias.copy() if alias else exp.TableAlias(this=exp.to_identifier(table_name)))
        for arg in ("joins", "laterals", "pivots", "hints", "sample"):
            if ref.node.args.get(arg):
                replacement.set(arg, ref.node.args[arg])
        ref.node.replace(replacement)
        ref.node = replacement
    # Columns written as domain.dataset.column keep working: the table part is the alias now.
    for col in tree.find_all(exp.Column):
        if col.args.get("db") is not None and f"{col.args['db'].name.lower()}.{col.table.lower()}" in bound:
            col.set("db", None)
    return views, render(tree)


def _record_refusal(platform: Platform, user: Person, interface: str, purpose: str | None, kind: str) -> None:
    """A busy refusal: counted by `limits.refusals`, one usage event per person and window with the count
    in `error` ("Busy", or "Busy: N refusals"); what was refused is not parsed, so no query text."""

    def write(count: int, first: float, last: float) -> None:
        try:
            record(
                platform,
                UsageRecord(
                    user_id=user.id,
                    interface=interface,
                    purpose=purpose,
                    fingerprint="",
                    query_text="",
                    rows=0,
                    duration_ms=(last - first) * 1000,
                    status="busy",
                    error="Busy" if count == 1 else f"Busy: {count} refusals",
                    kind=kind,
                ),
            )
        except Exception:
            pass  # never hide the person's refusal behind a logging failure

    platform.limits.refused(user.id, interface, kind, write)


def _record_failure(
    platform: Platform,
    user: Person,
    interface: str,
    purpose: str | None,
    original: exp.Expression | None,
    bound: dict[str, _Bound],
    decisions: list[Decision],
    started: float,
    error: ThresholdError,
    kind: str = "consumption",
) -> None:
    """Refused and failed queries are recorded too (without text when it could not be parsed)."""
    fp, text = ("", "")
    if original is not None:
        try:
            fp, text = fingerprint(strip_literals(original))
        except Exception:
            fp, text = "", ""
    status = "denied" if isinstance(error, Denied) else "busy" if isinstance(error, Busy) else "error"
    try:
        record_soon(
            platform,
            UsageRecord(
                user_id=user.id,
                interface=interface,
                purpose=purpose,
                fingerprint=fp,
                query_text=text,
                rows=0,
                duration_ms=(time.perf_counter() - started) * 1000,
                status=status,
                error=type(error).__name__,
                kind=kind,
                reads=[(b.id, [], b.snapshot_id) for b in bound.values()],
            ),
            audit=_audit_rows(user, purpose, decisions, None, error=type(error).__name__),
        )
    except Exception:
        pass  # never hide the user's error behind a logging failure
