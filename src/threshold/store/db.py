"""Engine, sessions and migrations of the metadata store (SQLite by default, PostgreSQL when configured)."""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from threshold.errors import InvalidInput
from threshold.runtime import Clock, system_clock
from threshold.store import search_index

_MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "threshold_alembic_version"
"""Where alembic keeps the store's revision."""
_MIGRATION_LOCK = 0x7468_7265_7368_6F6C  # "threshol"
"""The key of the PostgreSQL advisory lock every migration of a store holds (`lock_migrations`)."""
_alembic_running = threading.Lock()
"""Held while alembic runs migrations: its `context` and `op` are one proxy each per process, so two stores
migrating at once in one process, even of different databases, sent each other's steps to one connection."""


_scripts: tuple[tuple[object, ...], Any] | None = None
"""The migrations folder, its scripts' fingerprint and alembic's reading of it (`migration_scripts`)."""
_scripts_lock = threading.Lock()


def migration_scripts() -> Any:
    """alembic's `ScriptDirectory` of the store's migrations, with its revision map loaded: read once per
    process, again only when the folder or a script in it changes (name, size or modification time).
    Reading it compiles every migration (no bytecode is kept under PYTHONDONTWRITEBYTECODE), which cost
    more than a SQLite upgrade itself."""
    global _scripts
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    versions = _MIGRATIONS / "versions"
    fingerprint = (str(_MIGRATIONS),) + tuple(
        sorted((p.name, (st := p.stat()).st_mtime_ns, st.st_size) for p in versions.iterdir() if p.suffix == ".py")
    )
    with _scripts_lock:  # one reading at a time: the revision map is built on first use, not thread-safe
        if _scripts is None or _scripts[0] != fingerprint:
            cfg = Config()
            cfg.set_main_option("script_location", str(_MIGRATIONS))
            script = ScriptDirectory.from_config(cfg)
            script.revision_map.heads  # noqa: B018 (loads every script now, under the lock)
            _scripts = (fingerprint, script)
        return _scripts[1]


_SIMPLE = (str, int, float, bool, bytes, tuple, frozenset, type(None))


def _dialect_signature(dialect: Any) -> tuple[object, ...]:
    """What decides how `dialect` compiles a statement: its class, its settings and what it learnt from the
    server when it first connected (version, default schema, the features it found), the identity of its
    driver module and the classes of its helpers (identifier preparer, type compiler). Two dialects with
    the same signature render every statement the same way."""
    settings = tuple(sorted((k, v) for k, v in vars(dialect).items() if isinstance(v, _SIMPLE)))
    helpers = tuple(
        sorted(
            (k, id(v) if k in ("dbapi", "loaded_dbapi") else type(v).__qualname__)
            for k, v in vars(dialect).items()
            if not isinstance(v, _SIMPLE)
        )
    )
    return type(dialect), settings, helpers


class SharedStatementCache:
    """SQLAlchemy's compiled-statement cache, shared by every store engine of this process.

    An engine keeps its compiled statements in a cache of its own, keyed on its dialect object, so every
    newly opened store compiles each statement again (~0.6 ms each; a process that opens many homes, as a
    test run, a backup or a restore does, spent a seventh of its time there). This cache keys on the
    dialect's signature instead (`_dialect_signature`, read once per dialect, at its first statement, after
    its first connection has initialised it: SQLAlchemy runs that initialisation without execution options,
    so nothing of it passes through here): an engine reuses what another engine with an equal dialect
    compiled. Given to `create_engine` as the `compiled_cache` execution option, SQLAlchemy's own hook."""

    def __init__(self, size: int) -> None:
        from sqlalchemy.util import LRUCache

        self.size = size
        self._compiled: Any = LRUCache(size)
        self._tokens: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
        self._signatures: dict[tuple[object, ...], int] = {}
        self._lock = threading.Lock()

    def _key(self, key: tuple[Any, ...]) -> tuple[Any, ...]:
        """SQLAlchemy's key `(dialect, statement key, column keys, ...)` with the dialect's token in front."""
        dialect = key[0]
        token = self._tokens.get(dialect)
        if token is None:
            signature = _dialect_signature(dialect)
            with self._lock:
                token = self._tokens[dialect] = self._signatures.setdefault(signature, len(self._signatures))
        return (token, *key[1:])

    def get(self, key: tuple[Any, ...], default: Any = None) -> Any:
        return self._compiled.get(self._key(key), default)

    def __setitem__(self, key: tuple[Any, ...], value: Any) -> None:
        self._compiled[self._key(key)] = value

    def __len__(self) -> int:
        return len(self._compiled)


STATEMENTS = SharedStatementCache(500)
"""The process's compiled statements (`SharedStatementCache`), as many as SQLAlchemy keeps per engine by default
(~25 KB each; its LRU cache grows to half again its size before it prunes): a process with one store keeps what it
kept before. A size of 2,500 gave the test suite no more hits (tests/products: the same CPU) and left the gateway
benchmark's ratio higher and more spread (median 1.058 against 1.023 over alternating runs: BENCHMARKS.md)."""


def make_engine(url: str, lock_timeout: float = 30.0) -> Engine:
    """The store's engine. `lock_timeout`: seconds a statement waits for a lock held by another writer."""
    shared = {"compiled_cache": STATEMENTS}
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": lock_timeout, "check_same_thread": False}, execution_options=shared
        )
        busy_ms = int(lock_timeout * 1000)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL: readers never block the writer; busy_timeout: writers wait instead of failing.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    if url.startswith("postgresql"):
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            execution_options=shared,
            connect_args={"options": f"-c lock_timeout={int(lock_timeout * 1000)}"},
        )
    raise InvalidInput(f"unsupported database URL scheme in THRESHOLD_DATABASE_URL: {url.split(':', 1)[0]}")


def lock_migrations(connection: Connection) -> None:
    """Begin `connection`'s transaction holding the store's migration lock, until it ends: what a second
    migration of the same store (another process, another `Store`) waits for, on an empty database too."""
    if connection.dialect.name == "sqlite":
        # The write lock now: pysqlite itself begins a transaction only before an INSERT, UPDATE or DELETE
        # (DDL before one ran outside any), and a reader that later writes fails when another wrote meanwhile.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")


def _names_any(statement: str, tables: frozenset[str]) -> bool:
    """Whether the SQL about to be sent names one of `tables` (the compiled text is cached: this costs a search)."""
    text = statement.lower()
    return any(t in text for t in tables)


def _is_write(statement: str) -> bool:
    return statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE")


def now_of(session: Session) -> datetime:
    """The time by the clock of the store `session` belongs to, for a decision made inside it (a grant's
    expiry) where no platform is at hand."""
    store = session.info.get("store")
    return store.clock() if isinstance(store, Store) else datetime.now(UTC)


class Store:
    """The metadata store. `session()` is one transaction: committed on success, rolled back on error."""

    def __init__(self, url: str, *, lock_timeout: float = 30.0) -> None:
        from threshold.capabilities import load_models

        load_models()  # every capability's tables on Base.metadata (the store owns model registration)
        self.url = url
        self.lock_timeout = lock_timeout
        self.engine = make_engine(url, lock_timeout)
        self.clock: Clock = system_clock
        """What time it is for what is decided in this store's sessions (a grant's expiry): the platform's
        clock (`Platform.clock` is this attribute), read by `now_of(session)`."""
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, info={"store": self})
        self.reads_locally = self.engine.dialect.name == "sqlite" and self.engine.url.database not in (
            None,
            "",
            ":memory:",
        )
        """`read_row` reads a local SQLite file (in WAL mode: no writer blocks it): tens of microseconds, less
        than a hop to a worker thread, so a request may make it on the event loop."""
        search_index.keep_in_step(self._sessions)
        self._version_connections: list[sqlite3.Connection] = []
        """Every connection `read_row` opened (closed by `dispose`): as many as reads ever ran at once."""
        self._idle_versions: list[sqlite3.Connection] = []
        """Those no read is using now."""
        self._versions_lock = threading.Lock()
        self._barriers: list[tuple[frozenset[str], Callable[[], int], Callable[[bool], None]]] = []

    def barrier(self, tables: frozenset[str], pending: Callable[[], int], wait: Callable[[bool], None]) -> None:
        """While `pending()`, call `wait(in_write_transaction)` before every statement that names one of
        `tables`: a writer that batches rows off the request path (`usage.journal`) lets readers see what was
        written before them. `in_write_transaction`: the statement's SQLite connection holds the write lock."""
        if not self._barriers:
            event.listen(self.engine, "before_cursor_execute", self._before_cursor_execute)
        self._barriers.append((tables, pending, wait))

    def _before_cursor_execute(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        for tables, pending, wait in self._barriers:
            if not pending():
                continue
            dbapi = getattr(conn.connection, "dbapi_connection", None)
            writing = bool(self.url.startswith("sqlite") and getattr(dbapi, "in_transaction", False))
            # A write that is about to begin waits too, so what one thread does after a query (a request,
            # a tag) is written after that query's events: the logs keep the order things happened in.
            if _names_any(statement, tables) or (not writing and _is_write(statement)):
                wait(writing)

    def metadata_version(self) -> int | None:
        """A number that changes with every committed change to datasets, columns, tags, domains, people,
        memberships, grants or policies (None before the migration that keeps it): one indexed read, so a
        cache of what depends on them can be checked before each use."""
        row = self._read_versions("SELECT version FROM metadata_version WHERE id = 1")
        return int(row[0]) if row is not None and row[0] is not None else None

    def waiting_versions(self) -> tuple[int, int] | None:
        """`metadata_version` and a second number that changes with every committed change to access
        requests, incidents and ownership proposals (migration `waiting_version`), in one read: together
        they move with everything the navigation's badge counts (None before that migration)."""
        row = self._read_versions(
            "SELECT (SELECT version FROM metadata_version WHERE id = 1), "
            "(SELECT version FROM metadata_version WHERE id = 2)"
        )
        if row is None or row[0] is None or row[1] is None:
            return None
        return int(row[0]), int(row[1])

    def _read_versions(self, sql: str) -> Any:
        """The one row of `sql` (a read of `metadata_version`), or None when it cannot be read."""
        try:
            return self.read_row(sql)
        except Exception:
            return None

    def read_row(self, sql: str, parameters: Mapping[str, Any] | None = None) -> Any:
        """The first row (or None) of the read `sql` (parameters as `:name`), outside any transaction: what a
        request asks of the store before it does anything else (a version, its token) costs the read alone,
        not a session's. On SQLite the values are SQLite's own (a moment is its text, as the ORM wrote it)."""
        if self.reads_locally:
            # A connection of the store's own, outside any transaction (WAL: it sees the last commit): a pool
            # checkout and its reset cost more than the read itself. One read at a time on each; a thread
            # takes an idle one (opening one parses the schema, ~1.7 ms: a server's worker threads come and
            # go, so one per thread cost that per new thread and kept every one open).
            with self._versions_lock:
                con = self._idle_versions.pop() if self._idle_versions else None
            if con is None:
                con = sqlite3.connect(
                    str(self.engine.url.database),
                    timeout=self.lock_timeout,
                    isolation_level=None,
                    check_same_thread=False,  # one thread at a time: taken from and given back to the idle list
                )
                with self._versions_lock:
                    self._version_connections.append(con)
            try:
                return con.execute(sql, parameters or {}).fetchone()
            finally:
                with self._versions_lock:
                    if con in self._version_connections:  # not closed by `dispose` meanwhile
                        self._idle_versions.append(con)
        with self.engine.connect() as c:
            return c.execute(text(sql), parameters or {}).first()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def reader(self) -> Session:
        """A session for reads only (caller closes it)."""
        return self._sessions()

    def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema to `revision`, the newest migration by default (creates it on an empty
        database). Safe to run from several processes at once: one migrates, the others wait for it
        (`lock_migrations`) and find nothing left to do."""
        script = migration_scripts()

        def steps(rev: Any, _context: Any) -> Any:
            return script._upgrade_revs(revision, rev)

        if not steps(self._revision(), None):  # nothing to do (the common call): no lock taken, no writer waited for
            return
        self._run_migrations(script, steps, revision)

    def downgrade(self, revision: str) -> None:
        """Take the schema back down to `revision` (each migration's `downgrade`)."""
        script = migration_scripts()
        self._run_migrations(script, lambda rev, _context: script._downgrade_revs(revision, rev), revision)

    def _revision(self) -> tuple[str, ...]:
        """The store's revision(s) as alembic reads them (none on an empty database), outside any lock."""
        from alembic.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_heads()

    def _run_migrations(self, script: Any, steps: Callable[[Any, Any], Any], revision: str) -> None:
        """What alembic's `command.upgrade`/`downgrade` do, on the process's one reading of the scripts, in one
        transaction that holds the migration lock before alembic reads the revision: a second migrator then
        starts from what the first committed."""
        from alembic.runtime.environment import EnvironmentContext

        cfg = self._alembic_config()
        # This process's lock first: a thread waiting for it holds no lock of any store's.
        with _alembic_running, self.engine.begin() as connection:
            lock_migrations(connection)
            cfg.attributes["connection"] = connection
            with EnvironmentContext(cfg, script, fn=steps, destination_rev=revision):
                script.run_env()

    def is_migrated(self) -> bool:
        return "datasets" in inspect(self.engine).get_table_names()

    def _alembic_config(self) -> Any:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        return cfg

    def dispose(self) -> None:
        with self._versions_lock:
            connections, self._version_connections, self._idle_versions = self._version_connections, [], []
        for con in connections:
            con.close()
        self.engine.dispose()
