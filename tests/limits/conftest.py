"""Limits tests: the org's home opened again with the limits a test needs, and a clock the test moves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from threshold.limits import Limits
from threshold.platform import Platform


class FakeClock:
    """Monotonic time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its cheapest parameters (the org fixture and the sign-in tests hash many passwords)."""
    from argon2 import PasswordHasher, profiles

    from threshold.identity import service as identity

    monkeypatch.setattr(identity, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limited(org: Any, clock: FakeClock) -> Iterator[Callable[..., Platform]]:
    """`limited(**limits)`: the org's home with these `limits` settings, the fake clock and no watchdog thread."""
    opened: list[Platform] = []

    def open_with(**limits: Any) -> Platform:
        home = org.platform.settings
        p = Platform.open(home.home_dir, database_url=home.database_url, limits=limits)
        p.limits = Limits(p.settings.limits, clock=clock, watchdog_thread=False)
        opened.append(p)
        return p

    yield open_with
    for p in opened:
        p.close()
