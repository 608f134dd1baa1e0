"""The store's engines share one compiled-statement cache (`store.db.STATEMENTS`): a statement compiled for one
home is reused by the next home opened in the same process, and only by engines whose dialect renders it the
same way."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, literal_column, select

from threshold.store.db import STATEMENTS, make_engine


def _statement() -> Any:
    """A statement no other test compiles (its label is new), with a bound parameter."""
    return select(literal_column("1").label(f"one_{uuid.uuid4().hex}"), bindparam("x").label("x"))


def _run(engine: Engine, statement: Any, x: int) -> tuple[list[tuple[Any, ...]], object]:
    with engine.connect() as c:
        result = c.execute(statement, {"x": x})
        return [tuple(r) for r in result], result.context.cache_hit


def test_a_second_home_reuses_what_the_first_compiled(tmp_path: Path) -> None:
    first, second = make_engine(f"sqlite:///{tmp_path / 'a.db'}"), make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    statement = _statement()
    try:
        rows, hit = _run(first, statement, 7)
        assert (rows, hit) == ([(1, 7)], first.dialect.CACHE_MISS)
        rows, hit = _run(second, statement, 8)
        assert (rows, hit) == ([(1, 8)], second.dialect.CACHE_HIT)
        assert first.dialect is not second.dialect
    finally:
        first.dispose()
        second.dispose()


def test_a_dialect_that_renders_differently_compiles_its_own(tmp_path: Path) -> None:
    """Another server version (what a dialect learns when it first connects) is another dialect."""
    first, other = make_engine(f"sqlite:///{tmp_path / 'a.db'}"), make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    statement = _statement()
    try:
        assert _run(first, statement, 1)[1] == first.dialect.CACHE_MISS
        other.connect().close()  # initialised: now it differs from the first only by what is changed here
        other.dialect.server_version_info = (3, 8, 0)
        assert _run(other, statement, 2) == ([(1, 2)], other.dialect.CACHE_MISS)
        assert _run(other, statement, 3) == ([(1, 3)], other.dialect.CACHE_HIT)
    finally:
        first.dispose()
        other.dispose()


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_sqlite_and_postgresql_each_get_their_own_rendering(tmp_path: Path, empty_database_url: str) -> None:
    """The same statement on both kinds of store: two compilations, each right for its own paramstyle."""
    lite, pg = make_engine(f"sqlite:///{tmp_path / 'a.db'}"), make_engine(empty_database_url)
    statement = _statement()
    try:
        assert _run(lite, statement, 4) == ([(1, 4)], lite.dialect.CACHE_MISS)
        assert _run(pg, statement, 5) == ([(1, 5)], pg.dialect.CACHE_MISS)
        assert _run(pg, statement, 6) == ([(1, 6)], pg.dialect.CACHE_HIT)
        assert _run(lite, statement, 7) == ([(1, 7)], lite.dialect.CACHE_HIT)
    finally:
        lite.dispose()
        pg.dispose()


def test_the_cache_is_bounded() -> None:
    """SQLAlchemy's LRU cache lets it grow to half again its size before it drops the least recently used."""
    assert STATEMENTS.size == 500
    assert 0 < len(STATEMENTS) <= STATEMENTS.size * 1.5
