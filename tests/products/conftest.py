"""Fixtures of the products tests: the hand-built usage history of `usage_history.py`, in a home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from prepared import on_org
from threshold.identity.service import get_person

from .usage_history import History, Receiver, build_history


@pytest.fixture(scope="module")
def history(module_any_org: Any, tmp_path_factory: pytest.TempPathFactory) -> History:
    """The history on SQLite and PostgreSQL, built once per module: for tests that only read."""
    return build_history(module_any_org.platform, tmp_path_factory.mktemp("history"))


@on_org("fresh", "any_fresh")
def _prepare_history(org: Any, tmp: Path) -> History:
    return build_history(org.platform, tmp)


def _copied_history(org: Any, tmp: Path, prepared: Any) -> History:
    built = prepared.result(org.platform, _prepare_history)
    if built is None:
        return build_history(org.platform, tmp)
    return History(org.platform, {name: get_person(org.platform, name) for name in built.people}, built.ids)


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
