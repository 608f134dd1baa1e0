"""Fixtures of the products tests: the hand-built usage history of `usage_history.py`, in a home."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from prepared import kind, on_org

from .usage_history import History, Receiver, build_history


@on_org("fresh", "any_fresh")
def _prepare_history(org: Any, tmp: Path) -> History:
    return build_history(org.platform, tmp)


def module_history(prepared: Any, backend: str, tmp: Path) -> Iterator[History]:
    """A copy of the history's home prepared once per session (`_prepare_history`), open for a whole
    module; closed (its database dropped) after."""
    for org, built in prepared.copy_org(kind(_prepare_history), backend, tmp):
        yield built.on(org.platform)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def history(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, prepared_homes: Any
) -> Iterator[History]:
    """The history on SQLite and PostgreSQL, one copy per module of the home built once per session: for
    tests that only read."""
    if request.param == "postgres" and not os.environ.get("THRESHOLD_TEST_POSTGRES_URL"):
        pytest.skip("THRESHOLD_TEST_POSTGRES_URL not set (make test starts a local PostgreSQL)")
    yield from module_history(prepared_homes, str(request.param), tmp_path_factory.mktemp(f"history_{request.param}"))


def _copied_history(org: Any, tmp: Path, prepared: Any) -> History:
    built = prepared.result(org.platform, _prepare_history)
    if built is None:
        return build_history(org.platform, tmp)
    return built.on(org.platform)  # the same people in the copy (frozen `Person`s), on the history's clock


@pytest.fixture
def fresh(org: Any, tmp_path: Path, prepared_homes: Any) -> History:
    """The history in a home of its own (SQLite), for tests that change things (a copy of a home built
    once per session)."""
    return _copied_history(org, tmp_path, prepared_homes)


@pytest.fixture
def any_fresh(any_org: Any, tmp_path: Path, prepared_homes: Any) -> History:
    """`fresh` on SQLite and PostgreSQL."""
    return _copied_history(any_org, tmp_path, prepared_homes)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher, profiles

    from threshold.identity import service as identity

    monkeypatch.setattr(identity, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()
