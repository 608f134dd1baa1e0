"""Engine, sessions and migrations of the metadata store (SQLite by default, PostgreSQL when configured)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from threshold.errors import InvalidInput
from threshold.store import search_index

_MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, lock_timeout: float = 30.0) -> Engine:
    """The store's engine. `lock_timeout`: seconds a statement waits for a lock held by another writer."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": lock_timeout, "check_same_thread": False})
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
            connect_args={"options": f"-c lock_timeout={int(lock_timeout * 1000)}"},
        )
    raise InvalidInput(f"unsupported database URL scheme in THRESHOLD_DATABASE_URL: {url.split(':', 1)[0]}")


class Store:
    """The metadata store. `session()` is one transaction: committed on success, rolled back on error."""

    def __init__(self, url: str, *, lock_timeout: float = 30.0) -> None:
        from threshold.capabilities import load_models

        load_models()  # every capability's tables on Base.metadata (the store owns model registration)
        self.url = url
        self.lock_timeout = lock_timeout
        self.engine = make_engine(url, lock_timeout)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        search_index.keep_in_step(self._sessions)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def reader(self) -> Session:
        """A session for reads only (caller closes it)."""
        return self._sessions()

    def migrate(self) -> None:
        """Upgrade the schema to the newest migration (creates it on an empty database)."""
        from alembic import command

        command.upgrade(self._alembic_config(), "head")

    def is_migrated(self) -> bool:
        return "datasets" in inspect(self.engine).get_table_names()

    def _alembic_config(self) -> Any:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        cfg.attributes["engine"] = self.engine
        return cfg

    def dispose(self) -> None:
        self.engine.dispose()
