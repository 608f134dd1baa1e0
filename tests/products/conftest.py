"""Fixtures of the products tests: the hand-built usage history of `usage_history.py`, in a home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .usage_history import History, Receiver, build_history


@pytest.fixture(scope="module")
def history(module_any_org: Any, tmp_path_factory: pytest.TempPathFactory) -> History:
    """The history on SQLite and PostgreSQL, built once per module: for tests that only read."""
    return build_history(module_any_org.platform, tmp_path_factory.mktemp("history"))


@pytest.fixture
def fresh(org: Any, tmp_path: Path) -> History:
    """The history in a home of its own (SQLite), for tests that change things."""
    return build_history(org.platform, tmp_path)


@pytest.fixture
def any_fresh(any_org: Any, tmp_path: Path) -> History:
    """`fresh` on SQLite and PostgreSQL."""
    return build_history(any_org.platform, tmp_path)


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
