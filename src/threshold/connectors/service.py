"""Connections to source databases and the syncs that share their tables: all the logic, for every interface.

A sync is a share like any other: the extracted Arrow table goes through `sharing.share` (writing, profiling,
detection, contracts, blocking quality gates, one snapshot). Full syncs replace the dataset; incremental ones
read the rows at or past the committed cursor and `merge` them by key. The cursor is advanced only after the
share committed, so a failed sync leaves the dataset and the cursor exactly as they were.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from threshold.access import SourceRef, may
from threshold.connectors import access_files, dialects, extract, postgres_copy, secrets
from threshold.connectors.models import SourceConnection, SourceSync
from threshold.connectors.registration import JOB_KIND
from threshold.errors import Conflict, Denied, InvalidInput, NotFound, ThresholdError
from threshold.identity.service import Person, get_person
from threshold.jobs import service as jobs
from threshold.jobs.schedule import normalise as normalise_schedule
from threshold.lineage.models import SourceSystem
from threshold.names import check_name, column_names
from threshold.platform import Platform
from threshold.store.models import User

MODES = ("full", "incremental")


@dataclass
class SyncInfo:
    dataset: str
    source: str
    table: str | None
    query: str | None
    mode: str
    cursor: str | None
    keys: list[str]
    schedule: str | None
    cursor_value: str | None
    last_status: str | None
    last_error: str | None
    last_rows: int | None
    last_run_at: str | None


@dataclass
class ConnectionInfo:
    name: str
    owner: str
    dialect: str
    url: str | None
    """The URL without its password; only for those who manage the source (`None` for others)."""
    has_password: bool
    syncs: list[SyncInfo] = field(default_factory=list)


@dataclass
class TestResult:
    source: str
    dialect: str
    tables: list[str]
    seconds: float


@dataclass
class SyncResult:
    source: str
    dataset: str
    mode: str
    rows_read: int
    rows_total: int | None
    snapshot_id: int | None
    cursor_value: str | None
    notes: list[str]
    seconds: float


# --- connections ------------------------------------------------------------------------------------


def add(
    platform: Platform,
    name: str,
    url: str,
    *,
    owner: str,
    user: Person | None,
    password: str | None = None,
    description: str = "",
    replace: bool = False,
) -> ConnectionInfo:
    """Register the source system `name` (owned by `owner`) with its database connection; or, with `replace`,
    change the connection of a system you manage. The password is stored encrypted and never shown."""
    from threshold.lineage.sources import add_source

    check_name("source system", name)
    target = dialects.parse(url)
    secret = password if password is not None else target.password
    if target.dialect.name in ("sqlite", "access") and secret:
        raise InvalidInput(f"a {target.dialect.name} file takes no password")
    with platform.store.reader() as s:
        system = s.scalars(select(SourceSystem).where(SourceSystem.name == name)).one_or_none()
        has_connection = system is not None and _connection(s, system.id) is not None
    if system is None:
        add_source(platform, name, owner=owner, kind="database", description=description, user=user)
    elif has_connection and not replace:
        raise Conflict(f"source {name!r} has a connection already; change it with --replace")
    else:
        _require_manage(platform, user, name)
    with platform.store.session() as s:
        system = s.scalars(select(SourceSystem).where(SourceSystem.name == name)).one()
        conn = _connection(s, system.id)
        if conn is None:
            conn = SourceConnection(source_system_id=system.id)
            s.add(conn)
        conn.dialect = target.dialect.name
        conn.url = target.url
        conn.secret = secrets.seal(platform, secret) if secret else None
        s.flush()
        return _describe(s, system, conn, shown=True)


def remove(platform: Platform, name: str, *, user: Person | None) -> None:
    """Forget a source's connection and its syncs (the datasets they shared stay; so does the source system)."""
    _require_manage(platform, user, name)
    with platform.store.session() as s:
        system = s.scalars(select(SourceSystem).where(SourceSystem.name == name)).one()
        conn = _connection(s, system.id)
        if conn is None:
            raise NotFound(f"source {name!r} has no connection")
        for dataset in list(s.scalars(select(SourceSync.dataset).where(SourceSync.connection_id == conn.id))):
            jobs.unplan(s, JOB_KIND, dataset)
        s.execute(delete(SourceSync).where(SourceSync.connection_id == conn.id))
        s.execute(delete(SourceConnection).where(SourceConnection.id == conn.id))


def listing(platform: Platform, *, user: Person | None) -> list[ConnectionInfo]:
    """Every source with a connection; URLs and syncs only for those who manage the source."""
    with platform.store.reader() as s:
        rows = s.execute(
            select(SourceSystem, SourceConnection)
            .join(SourceConnection, SourceConnection.source_system_id == SourceSystem.id)
            .order_by(SourceSystem.name)
        ).all()
        return [_describe(s, system, conn, shown=_manages(user, system)) for system, conn in rows]


def show(platform: Platform, name: str, *, user: Person | None) -> ConnectionInfo:
    _require_manage(platform, user, name)
    with platform.store.reader() as s:
        system = s.scalars(select(SourceSystem).where(SourceSystem.name == name)).one()
        conn = _connection(s, system.id)
        if conn is None:
            raise NotFound(f"source {name!r} has no connection; add one with `threshold source add {name} --url ...`")
        return _describe(s, system, conn, shown=True)


def test(platform: Platform, name: str, *, user: Person | None) -> TestResult:
    """Connect and list the source's tables (at most 500): the connection, the password and the driver work."""
    _require_manage(platform, user, name)
    started = time.perf_counter()
    conn, secret = _open(platform, name)
    limits = platform.settings.sources
    if conn.dialect == "access":
        tables = access_files.tables(conn.url, limits)
    else:
        engine = dialects.engine(dialects.DIALECTS[conn.dialect], conn.url, secret, limits)
        try:
            with engine.connect() as c:
                found = inspect(c)
                tables = sorted(found.get_table_names())[:500]
        except SQLAlchemyError as e:
            raise extract.SourceError(f"source {name}: {extract.scrub(e, secret)}") from None
        finally:
            engine.dispose()
    return TestResult(name, conn.dialect, tables, round(time.perf_counter() - started, 3))


# --- syncs ------------------------------------------------------------------------------------------


def configure(
    platform: Platform,
    source: str,
    *,
    dataset: str,
    user: Person,
    table: str | None = None,
    query: str | None = None,
    mode: str = "full",
    cursor: str | None = None,
    keys: list[str] | tuple[str, ...] = (),
    schedule: str | None = None,
) -> SyncInfo:
    """Set up (or change) the sync of a source table or query into `domain.name`; `schedule` plans it as a job."""
    from threshold.sharing.service import check_may_share

    _require_manage(platform, user, source)
    domain, _, ds_name = dataset.partition(".")
    check_name("domain", domain)
    check_name("dataset", ds_name)
    check_may_share(platform, user, domain)
    if bool(table) == bool(query):
        raise InvalidInput("a sync reads a table or a query (one of them)")
    if query:
        extract.check_query(query)
    if table and (len(table) > 255 or table.count(".") > 2):
        raise InvalidInput("a table is named `table` or `schema.table`")
    if mode not in MODES:
        raise InvalidInput(f"unknown sync mode {mode!r}; use full or incremental")
    keys = [k.strip() for k in keys if k and k.strip()]
    if mode == "incremental" and (not cursor or not keys):
        raise InvalidInput("an incremental sync needs a cursor column (--cursor) and the key columns (--key)")
    if mode == "full" and cursor:
        raise InvalidInput("a cursor column is for incremental syncs (--incremental)")
    normalised = normalise_schedule(schedule) if schedule else None
    with platform.store.session() as s:
        system = s.scalars(select(SourceSystem).where(SourceSystem.name == source)).one()
        conn = _connection(s, system.id)
        if conn is None:
            raise NotFound(
                f"source {source!r} has no connection; add one with `threshold source add {source} --url ...`"
            )
        sync = s.scalars(select(SourceSync).where(SourceSync.dataset == dataset)).one_or_none()
        if sync is None:
            sync = SourceSync(dataset=dataset, owner_id=user.id)
            s.add(sync)
        elif sync.connection_id != conn.id:
            raise Conflict(f"{dataset} is synced from another source already; remove that sync first")
        changed = (sync.table, sync.query, sync.mode, sync.cursor_column, sync.keys) != (
            table,
            query,
            mode,
            cursor,
            ",".join(keys),
        )
        sync.connection_id = conn.id
        sync.table, sync.query, sync.mode, sync.cursor_column, sync.keys = table, query, mode, cursor, ",".join(keys)
        sync.schedule = normalised
        if changed:
            sync.cursor_value = None  # another table, query or cursor: start from the beginning
        s.flush()
        if normalised:
            jobs.plan(s, JOB_KIND, dataset, normalised, label=f"sync {source} into {dataset}", now=platform.clock())
        else:
            jobs.unplan(s, JOB_KIND, dataset)
        return _sync_info(s, sync, source)


def unschedule(platform: Platform, dataset: str, *, user: Person | None) -> None:
    """Forget a sync (the dataset stays)."""
    with platform.store.session() as s:
        sync = s.scalars(select(SourceSync).where(SourceSync.dataset == dataset)).one_or_none()
        if sync is None:
            raise NotFound(f"no sync into {dataset!r}")
        source = _source_of(s, sync)
    _require_manage(platform, user, source)
    with platform.store.session() as s:
        jobs.unplan(s, JOB_KIND, dataset)
        s.execute(delete(SourceSync).where(SourceSync.dataset == dataset))


def run(platform: Platform, dataset: str, *, user: Person | None = None, full: bool = False) -> SyncResult:
    """Run the sync into `dataset` now, as its owner (`user`, when given, must manage the source).
    `full`: read everything, whatever the cursor (an incremental sync then also drops rows deleted at the source)."""
    from threshold.sharing.service import share

    started = time.perf_counter()
    with platform.store.reader() as s:
        sync = s.scalars(select(SourceSync).where(SourceSync.dataset == dataset)).one_or_none()
        if sync is None:
            raise NotFound(f"no sync into {dataset!r}; set one up with `threshold source sync SOURCE --table ...`")
        source = _source_of(s, sync)
        owner = s.scalar(select(User.name).where(User.id == sync.owner_id)) or ""
        spec = (sync.table, sync.query, sync.mode, sync.cursor_column, [k for k in sync.keys.split(",") if k])
        state = sync.cursor_value
        exists = _dataset_exists(s, dataset)
    table_name, query, mode, cursor, keys = spec
    if user is not None:
        _require_manage(platform, user, source)
    person = get_person(platform, owner)
    try:
        conn, secret = _open(platform, source)
        limits = platform.settings.sources
        after = extract.cursor_value(state) if mode == "incremental" and exists and not full else None
        req = extract.Request(source, table=table_name, query=query, cursor=cursor, after=after)
        if conn.dialect == "access":
            got = access_files.extract(conn.url, req, limits)
        else:
            engine = dialects.engine(dialects.DIALECTS[conn.dialect], conn.url, secret, limits)
            try:
                copied = None
                if conn.dialect == "postgresql" and limits.postgres_copy:
                    staging = platform.settings.staging_dir
                    copied = postgres_copy.extract(engine, req, limits, staging, secret=secret)
                got = copied or extract.extract(engine, req, limits, secret=secret)
            finally:
                engine.dispose()
        frame, renamed = _lake_names(got.table)
        domain, _, name = dataset.partition(".")
        what = f"{source}.{table_name}" if table_name else f"{source}.query"
        notes: list[str] = []
        if mode == "incremental" and exists and not full:
            if got.rows == 0:
                notes.append("nothing new at the source since the last sync")
                _record(platform, dataset, "ok", None, 0, state)
                return SyncResult(
                    source,
                    dataset,
                    mode,
                    0,
                    None,
                    None,
                    _shown_cursor(state),
                    notes,
                    round(time.perf_counter() - started, 3),
                )
            missing = [k for k in keys if k not in renamed]
            if missing:
                raise InvalidInput(f"the key column {missing[0]!r} is not a column of {what}")
            share_mode, merge_keys = "merge", tuple(renamed[k] for k in keys)
        else:
            share_mode, merge_keys = ("replace" if exists else "create"), ()
        results = share(
            platform,
            frame,
            domain=domain,
            name=name,
            user=person,
            mode=share_mode,
            source_system=source,
            source_table=what,
            merge_keys=merge_keys,
        )
    except ThresholdError as e:
        _record(platform, dataset, "failed", str(e), None, state)
        raise
    result = results[0]
    new_state = extract.cursor_state(got.cursor_max) if mode == "incremental" else None
    if mode == "incremental" and got.cursor_max is None:
        new_state = state
    _record(platform, dataset, "ok", None, got.rows, new_state)  # the cursor moves only after the commit
    return SyncResult(
        source,
        dataset,
        "full" if share_mode != "merge" else "incremental",
        got.rows,
        result.rows_total,
        result.snapshot_id,
        _shown_cursor(new_state),
        [*notes, *(n for n in result.notes if n != "in-memory frame")],
        round(time.perf_counter() - started, 3),
    )


def sync_jobs(platform: Platform, keys: list[str] | Any) -> dict[str, Any]:
    """The `sources.sync` job kind: each key is a dataset whose sync fell due; it runs as the sync's owner."""
    out: dict[str, Any] = {}
    for key in keys:
        try:
            r = run(platform, key)
            out[key] = {"rows_read": r.rows_read, "rows_total": r.rows_total, "snapshot_id": r.snapshot_id}
        except ThresholdError as e:
            out[key] = e
    return out


# --- internals --------------------------------------------------------------------------------------


def _lake_names(table: Any) -> tuple[Any, dict[str, str]]:
    """The table with its columns named as the lake will name them, and {source name: lake name}."""
    labels = [str(c) for c in table.column_names]
    try:
        names = column_names(labels)
    except InvalidInput as e:
        raise InvalidInput(f"the source's columns: {e}") from None
    return table.rename_columns(names), dict(zip(labels, names, strict=True))


def _record(
    platform: Platform, dataset: str, status: str, error: str | None, rows: int | None, state: str | None
) -> None:
    with platform.store.session() as s:
        sync = s.scalars(select(SourceSync).where(SourceSync.dataset == dataset)).one_or_none()
        if sync is None:
            return
        sync.last_status, sync.last_error, sync.last_run_at = status, (error or None), platform.clock()
        if status == "ok":
            sync.last_rows, sync.cursor_value = rows, state


def _dataset_exists(s: Session, full_name: str) -> bool:
    from threshold.store.models import Dataset

    return s.scalar(select(Dataset.id).where(Dataset.full_name == full_name)) is not None


def _open(platform: Platform, name: str) -> tuple[SourceConnection, str | None]:
    with platform.store.reader() as s:
        system = s.scalars(select(SourceSystem).where(SourceSystem.name == name)).one_or_none()
        conn = _connection(s, system.id) if system is not None else None
        if conn is None:
            raise NotFound(f"source {name!r} has no connection; add one with `threshold source add {name} --url ...`")
        s.expunge(conn)
    return conn, secrets.unseal(platform, conn.secret, name) if conn.secret else None


def _connection(s: Session, system_id: int) -> SourceConnection | None:
    return s.scalars(select(SourceConnection).where(SourceConnection.source_system_id == system_id)).one_or_none()


def _source_of(s: Session, sync: SourceSync) -> str:
    return str(
        s.scalar(
            select(SourceSystem.name)
            .join(SourceConnection, SourceConnection.source_system_id == SourceSystem.id)
            .where(SourceConnection.id == sync.connection_id)
        )
    )


def _manages(user: Person | None, system: SourceSystem) -> bool:
    return bool(may(user, "source.manage", SourceRef(system.name, system.owner_id)))


def _require_manage(platform: Platform, user: Person | None, name: str) -> None:
    with platform.store.reader() as s:
        system = s.scalars(select(SourceSystem).where(SourceSystem.name == name)).one_or_none()
        if system is None:
            raise NotFound(
                f"no source system {name!r}; add it with `threshold source add {name} --owner USER --url ...`"
            )
        answer = may(user, "source.manage", SourceRef(system.name, system.owner_id))
    if not answer:
        raise Denied(f"{answer.reason} (rule: {answer.rule})")


def _describe(s: Session, system: SourceSystem, conn: SourceConnection, *, shown: bool) -> ConnectionInfo:
    owner = s.scalar(select(User.name).where(User.id == system.owner_id)) or ""
    syncs = (
        [
            _sync_info(s, x, system.name)
            for x in s.scalars(select(SourceSync).where(SourceSync.connection_id == conn.id))
        ]
        if shown
        else []
    )
    return ConnectionInfo(system.name, owner, conn.dialect, conn.url if shown else None, conn.secret is not None, syncs)


def _sync_info(s: Session, sync: SourceSync, source: str) -> SyncInfo:
    return SyncInfo(
        dataset=sync.dataset,
        source=source,
        table=sync.table,
        query=sync.query,
        mode=sync.mode,
        cursor=sync.cursor_column,
        keys=[k for k in sync.keys.split(",") if k],
        schedule=sync.schedule,
        cursor_value=_shown_cursor(sync.cursor_value),
        last_status=sync.last_status,
        last_error=sync.last_error,
        last_rows=sync.last_rows,
        last_run_at=_iso(sync.last_run_at),
    )


def _shown_cursor(state: str | None) -> str | None:
    value = extract.cursor_value(state)
    return None if value is None else str(value)


def _iso(d: datetime | None) -> str | None:
    return d.isoformat(timespec="seconds") if d else None
