"""The databases a connection can name, as a registry of lazy loaders (pyiceberg's AVAILABLE_CATALOGS): each
says which SQLAlchemy driver reads it and which package to install when that import fails.

Timeouts are set the way each driver takes them: the connection timeout when connecting, the statement timeout
on the session (PostgreSQL `statement_timeout`, MariaDB `max_statement_time`, MySQL `max_execution_time`, SQL
Server the driver's query timeout, SQLite a progress handler). Every session is read-only where the database
has such a setting: a sync never writes to its source.
"""

from __future__ import annotations

import importlib
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

from threshold.errors import InvalidInput, ThresholdError
from threshold.settings import SourcesSettings


@dataclass(frozen=True)
class Dialect:
    name: str
    schemes: tuple[str, ...]
    """URL schemes people write for it (`postgres://`, `mariadb://` ...)."""
    driver: str
    """SQLAlchemy drivername, or `mdbtools` for Access files."""
    module: str
    package: str
    """What to install when `module` is missing."""


DIALECTS: dict[str, Dialect] = {
    d.name: d
    for d in (
        Dialect("postgresql", ("postgresql", "postgres"), "postgresql+psycopg", "psycopg", "psycopg[binary]"),
        Dialect("mysql", ("mysql", "mariadb"), "mysql+pymysql", "pymysql", "pymysql"),
        Dialect("mssql", ("mssql", "sqlserver"), "mssql+pymssql", "pymssql", "pymssql"),
        Dialect("sqlite", ("sqlite",), "sqlite", "sqlite3", "python (built in)"),
        Dialect("access", ("access",), "mdbtools", "", "the Debian package mdbtools"),
    )
}


@dataclass(frozen=True)
class Target:
    """A parsed connection: its dialect, the URL without password, and the password given with it (if any)."""

    dialect: Dialect
    url: str
    password: str | None


def parse(text: str) -> Target:
    """Read a connection URL (`postgresql://user:pw@host/db`, `sqlite:///path`, `access:///path.accdb`, or the
    path of an .mdb/.accdb/.sqlite file). The password is split off; the answer's `url` never holds it."""
    text = (text or "").strip()
    if not text or len(text) > 2000:
        raise InvalidInput("a connection URL is needed, e.g. postgresql://user@host:5432/db (at most 2000 characters)")
    lowered = text.lower()
    if "://" not in text:
        suffix = Path(text).suffix.lower()
        if suffix in (".mdb", ".accdb"):
            return Target(DIALECTS["access"], str(Path(text).resolve()), None)
        if suffix in (".sqlite", ".sqlite3", ".db"):
            return Target(DIALECTS["sqlite"], f"sqlite:///{Path(text).resolve()}", None)
        raise InvalidInput(
            "a connection URL starts with its database, e.g. postgresql://, mysql://, mssql://, sqlite:///"
        )
    scheme = lowered.split("://", 1)[0].split("+", 1)[0]
    dialect = next((d for d in DIALECTS.values() if scheme in d.schemes), None)
    if dialect is None:
        known = ", ".join(s for d in DIALECTS.values() for s in d.schemes)
        raise InvalidInput(f"unknown database {scheme[:30]!r}; known: {known}")
    if dialect.name == "access":
        path = text.split("://", 1)[1]
        return Target(dialect, str(Path(path).resolve()), None)
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise InvalidInput(f"the {dialect.name} connection URL cannot be read (user@host:port/database)") from None
    url = url.set(drivername=dialect.driver)
    password = url.password if url.password is not None else None
    if dialect.name == "sqlite":
        if not url.database or url.database == ":memory:":
            raise InvalidInput("a SQLite source is a file: sqlite:///path/to/file.db")
        url = url.set(database=str(Path(url.database).resolve()))
    elif not url.host:
        raise InvalidInput(f"the {dialect.name} connection URL names no host")
    bare = URL.create(url.drivername, url.username, None, url.host, url.port, url.database, url.query)
    if bare.password is not None or (password and password in bare.render_as_string(hide_password=False)):
        raise InvalidInput(f"the {dialect.name} connection URL cannot be stored without its password")
    return Target(dialect, bare.render_as_string(hide_password=False), str(password) if password else None)


def engine(dialect: Dialect, url: str, password: str | None, limits: SourcesSettings) -> Engine:
    """A one-connection engine (no pool: a sync connects, reads, and lets go) with the timeouts set."""
    if dialect.name == "sqlite":
        return _sqlite_engine(make_url(url).database or "", limits)
    try:
        importlib.import_module(dialect.module)
    except ImportError:
        raise ThresholdError(
            f"reading {dialect.name} needs the driver {dialect.package}: pip install {dialect.package}"
        ) from None
    parsed: URL = make_url(url)
    if password is not None:
        parsed = parsed.set(password=password)
    connect_timeout = max(1, int(limits.connect_timeout_seconds))
    statement_ms = int(limits.statement_timeout_seconds * 1000)
    args: dict[str, Any] = {}
    if dialect.name == "postgresql":
        args = {
            "connect_timeout": connect_timeout,
            "options": f"-c statement_timeout={statement_ms} -c default_transaction_read_only=on",
        }
    elif dialect.name == "mysql":
        seconds = max(1, int(limits.statement_timeout_seconds))
        args = {"connect_timeout": connect_timeout, "read_timeout": seconds, "write_timeout": seconds}
    elif dialect.name == "mssql":
        args = {"login_timeout": connect_timeout, "timeout": max(1, int(limits.statement_timeout_seconds))}
    eng = create_engine(parsed, poolclass=NullPool, connect_args=args)
    if dialect.name == "mysql":

        @event.listens_for(eng, "connect")
        def _mysql_session(dbapi_connection: Any, _record: Any) -> None:
            cur = dbapi_connection.cursor()
            for sql in (
                f"SET SESSION max_statement_time = {limits.statement_timeout_seconds:.3f}",  # MariaDB
                f"SET SESSION max_execution_time = {statement_ms}",  # MySQL
                "SET SESSION TRANSACTION READ ONLY",
            ):
                try:
                    cur.execute(sql)
                except Exception:  # the other server's variable: not known here
                    pass
            cur.close()

    return eng


def _sqlite_engine(path: str, limits: SourcesSettings) -> Engine:
    """SQLite opened read-only; a progress handler ends a statement that runs past the statement timeout."""
    if not Path(path).is_file():
        raise InvalidInput(f"no SQLite file {Path(path).name!r} at the connection's path")

    def connect() -> sqlite3.Connection:
        con = sqlite3.connect(f"{Path(path).as_uri()}?mode=ro", uri=True, timeout=limits.connect_timeout_seconds)
        deadline = time.monotonic() + limits.statement_timeout_seconds
        con.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10_000)
        return con

    return create_engine("sqlite://", creator=connect, poolclass=NullPool)
