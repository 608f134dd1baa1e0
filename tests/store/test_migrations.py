"""The metadata store's schema comes from Alembic migrations, on SQLite and on PostgreSQL alike.

From an empty database, `Store.migrate` builds exactly the tables the models declare; running it
again changes nothing and loses nothing. SQLite connections are set up for several writers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import pgpool
from threshold.store import db
from threshold.store.db import Store, migration_scripts
from threshold.store.models import Base
from threshold.store.search_index import engine_owned

VERSION_TABLE = "threshold_alembic_version"
HEAD = "head"


def _revisions() -> list[str]:
    """Every migration, oldest first."""
    return [r.revision for r in reversed(list(migration_scripts().walk_revisions()))]


def _head(store: Store) -> str:
    head = migration_scripts().get_current_head()
    assert head is not None
    return head


def _version(store: Store) -> list[str]:
    with store.engine.connect() as c:
        return [r[0] for r in c.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))]


def _declared(name: str | None, type_: str, _parents: object) -> bool:
    return not engine_owned(name, type_)


def _tables(store: Store) -> set[str]:
    """Tables, less the search index's engine-owned ones (FTS5 tables on SQLite: no model declares them)."""
    return {t for t in sa.inspect(store.engine).get_table_names() if not engine_owned(t, "table")}


def _schema(store: Store) -> dict[str, list[tuple[str, str]]]:
    insp = sa.inspect(store.engine)
    return {t: [(c["name"], str(c["type"])) for c in insp.get_columns(t)] for t in sorted(insp.get_table_names())}


class Revisions:
    """Databases at every earlier revision, at rest, made by one walk from empty through the migrations per
    backend (on first use): after each step a copy is kept (a file copy on SQLite, a database on
    PostgreSQL). `copy` hands a test a copy of its own of the database at a revision: the state
    `Store.migrate(revision)` from empty leaves, without each test walking there again. Only for a
    linear history (every revision one parent, none shared): otherwise `copy` walks from empty, as before.
    `copy(backend, HEAD, ...)`: a copy of a database brought from empty to head by one `Store.migrate()`
    (made on first use), for the tests that check what that call leaves.

    `take` is `copy` for a revision's last user (each upgrade test takes its own start): on PostgreSQL it
    hands over the kept database itself, where a copy of it cost the server one more `CREATE DATABASE` and
    `DROP DATABASE` per test. A `copy` of a revision taken already walks there from empty."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.linear = _linear()
        self.at: dict[str, dict[str, str]] = {}
        """backend -> revision -> the SQLite file or the kept database's URL."""
        self.heads: dict[str, dict[str, str]] = {}
        """backend -> {HEAD: the database `Store.migrate()` brought from empty to head}."""
        self.pool = pgpool.DatabasePool(os.environ["THRESHOLD_TEST_POSTGRES_URL"]) if _postgres() else None

    def _walk(self, backend: str) -> dict[str, str]:
        if backend not in self.at:
            at: dict[str, str] = {}
            walk = self._new(backend, self.root / "walk.db")
            store = Store(walk)
            try:
                for revision in _revisions()[:-1]:
                    store.migrate(revision)
                    store.dispose()  # at rest: no connection open, the SQLite log checkpointed
                    if self.pool is not None and backend == "postgres":
                        at[revision] = self.pool.create(template=walk)
                    else:
                        kept = self.root / f"{revision}.db"
                        shutil.copyfile(self.root / "walk.db", kept)
                        at[revision] = str(kept)
            finally:
                store.dispose()
                if self.pool is not None and backend == "postgres":
                    self.pool.give_back(walk)
            self.at[backend] = at
        return self.at[backend]

    def _new(self, backend: str, path: Path) -> str:
        if backend == "postgres":
            assert self.pool is not None
            return self.pool.create()
        return f"sqlite:///{path}"

    def _head(self, backend: str) -> dict[str, str]:
        if backend not in self.heads:
            url = self._new(backend, self.root / "head.db")
            store = Store(url)
            try:
                store.migrate()
            finally:
                store.dispose()
            self.heads[backend] = {HEAD: url if backend == "postgres" else str(self.root / "head.db")}
        return self.heads[backend]

    def copy(self, backend: str, revision: str, tmp: Path) -> Store:
        """A store at `revision` (or `HEAD`, see the class), of the caller's own (`release` it after)."""
        if revision != HEAD and not self.linear:
            return self._walked(backend, revision, tmp)
        at = self._head(backend) if revision == HEAD else self._walk(backend)
        if revision not in at:  # handed over by `take`
            return self._walked(backend, revision, tmp)
        if backend == "postgres":
            assert self.pool is not None
            return Store(self.pool.create(template=at[revision]))
        shutil.copyfile(at[revision], tmp / "threshold.db")
        return Store(f"sqlite:///{tmp / 'threshold.db'}")

    def take(self, backend: str, revision: str, tmp: Path) -> Store:
        """`copy`, but on PostgreSQL the kept database itself, when no one took it yet (see the class)."""
        if backend == "postgres" and (revision == HEAD or self.linear):
            at = self._head(backend) if revision == HEAD else self._walk(backend)
            if revision in at:
                return Store(at.pop(revision))
        return self.copy(backend, revision, tmp)

    def kept(self, backend: str, revision: str) -> str | None:
        """The URL of the kept database at `revision` itself, for a test that only reads it (and disposes of
        its store after); None once it was taken."""
        at = self._head(backend) if revision == HEAD else self._walk(backend)
        if revision not in at:
            return None
        return at[revision] if backend == "postgres" else f"sqlite:///{at[revision]}"

    def _walked(self, backend: str, revision: str, tmp: Path) -> Store:
        store = Store(self._new(backend, tmp / "threshold.db"))
        store.migrate(revision)
        return store

    def release(self, store: Store, backend: str) -> None:
        store.dispose()
        if backend == "postgres" and self.pool is not None:
            self.pool.give_back(store.url)

    def close(self) -> None:
        if self.pool is not None:
            for at in (self.at, self.heads):
                for url in at.get("postgres", {}).values():
                    self.pool.give_back(url)
            self.pool.close()  # drops what its thread has not dropped yet from a process of its own


def _postgres() -> bool:
    return bool(os.environ.get("THRESHOLD_TEST_POSTGRES_URL"))


def _linear() -> bool:
    revisions = list(migration_scripts().walk_revisions())
    return all(not isinstance(r.down_revision, tuple | list) and not r.is_branch_point for r in revisions)


@pytest.fixture(scope="module")
def revisions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Revisions]:
    kept = Revisions(tmp_path_factory.mktemp("revisions"))
    yield kept
    kept.close()


@pytest.fixture
def store(empty_database_url: str):
    store = Store(empty_database_url)
    yield store
    store.dispose()


def test_an_empty_database_is_not_migrated(store: Store) -> None:
    assert sa.inspect(store.engine).get_table_names() == []
    assert store.is_migrated() is False


@pytest.fixture
def migrated(backend: str, revisions: Revisions, tmp_path: Path) -> Iterator[Store]:
    """A store `Store.migrate()` brought from empty to head: the module's one such database, taken (see
    `Revisions`)."""
    store = revisions.take(backend, HEAD, tmp_path)
    yield store
    revisions.release(store, backend)


@pytest.fixture
def migrated_to_read(backend: str, revisions: Revisions, tmp_path: Path) -> Iterator[Store]:
    """`migrated` for a test that only reads it: the module's database itself while no test has taken it
    (the tests that read come first), not a copy."""
    url = revisions.kept(backend, HEAD)
    if url is None:
        store = revisions.copy(backend, HEAD, tmp_path)
        yield store
        revisions.release(store, backend)
    else:
        store = Store(url)
        yield store
        store.dispose()


def test_upgrade_from_empty_creates_every_model_table_at_head(migrated_to_read: Store) -> None:
    tables = _tables(migrated_to_read)
    assert tables == set(Base.metadata.tables) | {VERSION_TABLE}
    assert _version(migrated_to_read) == [_head(migrated_to_read)]
    assert migrated_to_read.is_migrated() is True


def test_migrations_match_the_models(migrated_to_read: Store) -> None:
    """A model change without its migration shows up here as a difference."""
    with migrated_to_read.engine.connect() as c:
        diff = compare_metadata(
            MigrationContext.configure(c, opts={"version_table": VERSION_TABLE, "include_name": _declared}),
            Base.metadata,
        )
    assert diff == []


def test_upgrading_twice_changes_nothing_and_keeps_the_data(migrated: Store) -> None:
    with migrated.engine.begin() as c:
        c.execute(
            sa.text("INSERT INTO domains (name, title, description, created_at) VALUES ('sales', 'Sales', '', :at)"),
            {"at": "2026-01-01 00:00:00"},
        )
    schema, version = _schema(migrated), _version(migrated)

    migrated.migrate()

    assert _schema(migrated) == schema
    assert _version(migrated) == version
    with migrated.engine.connect() as c:
        assert c.execute(sa.text("SELECT name, title FROM domains")).all() == [("sales", "Sales")]


def test_upgrading_an_existing_store_gives_it_one_home_id(backend: str, revisions: Revisions, tmp_path: Path) -> None:
    """Stores from before home ids get theirs from the migration (the warehouse is claimed by `threshold init`).
    (Before the upgrade tests, which take the kept databases.)"""
    store = revisions.copy(backend, "limits_sign_in_failures", tmp_path)
    try:
        store.migrate()
        store.migrate()

        with store.engine.connect() as c:
            rows = c.execute(sa.text("SELECT id, warehouse FROM home_identity")).all()
        assert len(rows) == 1 and len(rows[0][0]) == 36 and rows[0][1] is None
    finally:
        revisions.release(store, backend)


def _migrate_at_once(stores: list[Store]) -> list[BaseException]:
    """`migrate()` every store at once, each on a thread of its own (as processes starting together on one
    home): what they raised."""
    for store in stores:  # connected one after the other: SQLite's file is in WAL mode before they race
        with store.engine.connect():
            pass
    start = threading.Barrier(len(stores))
    failures: list[BaseException] = []

    def migrate(store: Store) -> None:
        start.wait()
        try:
            store.migrate()
        except BaseException as e:
            failures.append(e)

    threads = [threading.Thread(target=migrate, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures


def _at_head_once(store: Store) -> None:
    """`store` at head, with the one-row tables' rows written once."""
    assert _version(store) == [_head(store)]
    with store.engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM home_identity")).scalar_one() == 1
        assert c.execute(sa.text("SELECT id, version FROM metadata_version ORDER BY id")).all() == [(1, 0), (2, 0)]


@pytest.fixture
def as_two_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stores of one database migrating at once on this process's threads as two processes would: without the
    lock this process's alembic runs take one at a time, only the store's own migration lock between them."""
    monkeypatch.setattr(db, "_alembic_running", contextlib.nullcontext())


@pytest.mark.usefixtures("as_two_processes")
def test_two_migrating_an_empty_database_at_once_leave_one_store_at_head(empty_database_url: str) -> None:
    """One creates the store; the other waits for it and finds nothing left to do."""
    stores = [Store(empty_database_url) for _ in range(2)]
    try:
        assert _migrate_at_once(stores) == []
        _at_head_once(stores[0])
    finally:
        for s in stores:
            s.dispose()


@pytest.mark.usefixtures("as_two_processes")
def test_two_upgrading_an_older_store_at_once_leave_it_at_head(
    backend: str, revisions: Revisions, tmp_path: Path
) -> None:
    """From before the revisions that write the one-row tables: each of their rows is written once. (Before the
    upgrade tests, which take the kept databases.)"""
    store = revisions.copy(backend, "quality_one_check_history", tmp_path)
    other = Store(store.url)
    try:
        assert _migrate_at_once([store, other]) == []
        _at_head_once(store)
    finally:
        other.dispose()
        revisions.release(store, backend)


def test_two_stores_of_different_databases_migrating_at_once_in_one_process_reach_head(
    backend: str, empty_database_url: str, revisions: Revisions, tmp_path: Path
) -> None:
    """alembic's context is one per process: each store's steps still go to its own database."""
    older = revisions.copy(backend, "quality_one_check_history", tmp_path)
    empty = Store(empty_database_url)
    try:
        assert _migrate_at_once([empty, older]) == []
        _at_head_once(empty)
        _at_head_once(older)
    finally:
        empty.dispose()
        revisions.release(older, backend)


@pytest.mark.parametrize("start", _revisions()[:-1])
def test_upgrade_from_an_earlier_revision_reaches_head_and_keeps_the_data(
    backend: str, revisions: Revisions, tmp_path: Path, start: str
) -> None:
    store = revisions.take(backend, start, tmp_path)
    try:
        _upgrade_from(store, start)
    finally:
        revisions.release(store, backend)


def _upgrade_from(store: Store, start: str) -> None:
    assert _version(store) == [start]
    with store.engine.begin() as c:
        c.execute(
            sa.text("INSERT INTO domains (name, title, description, created_at) VALUES ('sales', 'Sales', '', :at)"),
            {"at": "2026-01-01 00:00:00"},
        )

    store.migrate()

    assert _version(store) == [_head(store)]
    assert _tables(store) == set(Base.metadata.tables) | {VERSION_TABLE}
    with store.engine.connect() as c:
        assert c.execute(sa.text("SELECT name, title FROM domains")).all() == [("sales", "Sales")]


def test_sqlite_connections_use_wal_and_wait_for_writers(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'threshold.db'}")
    try:
        with store.engine.connect() as c:
            assert c.execute(sa.text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert c.execute(sa.text("PRAGMA busy_timeout")).scalar_one() == 30000
            assert c.execute(sa.text("PRAGMA foreign_keys")).scalar_one() == 1
    finally:
        store.dispose()


def test_the_lock_timeout_is_one_setting_for_sqlite(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'threshold.db'}", lock_timeout=2.5)
    try:
        with store.engine.connect() as c:
            assert c.execute(sa.text("PRAGMA busy_timeout")).scalar_one() == 2500
    finally:
        store.dispose()


def test_the_migration_scripts_are_read_once_and_again_when_one_changes(tmp_path, monkeypatch) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(db._MIGRATIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(db, "_MIGRATIONS", folder)

    first = migration_scripts()
    assert migration_scripts() is first
    assert first.dir == str(folder)

    last = max((folder / "versions").glob("*.py"), key=lambda p: p.name)
    last.write_text(last.read_text() + "\n# changed\n")

    again = migration_scripts()
    assert again is not first
    assert again.get_current_head() == first.get_current_head()
