"""Fixtures for operating a home: an empty home with two domains and three people, and that home with a
small lake in it, each built once per session and copied for each test (`PreparedHomes.prepare`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from threshold.identity.service import add_domain
from threshold.platform import Platform

LAKE = "operations.lake"
"""The prepared home of `lake_home`."""


def _people_and_domains(platform: Platform) -> None:
    """Domain `d` (owner anna, member carla) and `e` (owner ben)."""
    from threshold.identity.service import add_user, join_domain

    add_domain(platform, "d")
    add_domain(platform, "e")
    for name in ("anna", "ben", "carla"):
        add_user(platform, name)
    join_domain(platform, "anna", "d", "owner")
    join_domain(platform, "carla", "d", "member")
    join_domain(platform, "ben", "e", "owner")


@pytest.fixture
def lake_home(tmp_path: Path, prepared_homes: Any) -> Iterator[Platform]:
    """An empty home with domain `d` (owner anna, member carla) and `e` (owner ben): a copy of one built once
    per session (the test may change it)."""
    prepared_homes.prepare(LAKE, "sqlite", _people_and_domains)
    yield from prepared_homes.copy(LAKE, "sqlite", tmp_path / "home")


@pytest.fixture
def lake_home_with(tmp_path: Path, prepared_homes: Any) -> Iterator[Callable[[Callable[[Platform], Any]], Any]]:
    """`lake_home_with(build)`: a copy (at the test's `home`) of `lake_home`'s home after `build(platform)`,
    which runs once per session, and what `build` returned: `(platform, result)`. For a lake several tests
    start from (shares of a dataset are most of a test's set-up); `build` returns plain data (snapshot ids),
    the same in every copy. The copy is closed after the test."""
    with contextlib.ExitStack() as closing:

        def copy(build: Callable[[Platform], Any]) -> tuple[Platform, Any]:
            prepared_homes.prepare(LAKE, "sqlite", _people_and_domains)
            kind = f"{build.__module__}.{build.__qualname__}"
            result = prepared_homes.prepare(kind, "sqlite", build, base=LAKE)
            copies = prepared_homes.copy(kind, "sqlite", tmp_path / "home")
            platform = next(copies)
            closing.callback(copies.close)
            return platform, result

        yield copy


@pytest.fixture
def any_lake_home(any_platform: Platform) -> Platform:
    add_domain(any_platform, "d")
    return any_platform
