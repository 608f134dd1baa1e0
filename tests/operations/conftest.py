"""Fixtures for operating a home: an empty home with two domains and three people."""

from __future__ import annotations

import pytest

from threshold.identity.service import add_domain
from threshold.platform import Platform


@pytest.fixture
def lake_home(platform: Platform) -> Platform:
    """An empty home with domain `d` (owner anna, member carla) and `e` (owner ben)."""
    from threshold.identity.service import add_user, join_domain

    add_domain(platform, "d")
    add_domain(platform, "e")
    for name in ("anna", "ben", "carla"):
        add_user(platform, name)
    join_domain(platform, "anna", "d", "owner")
    join_domain(platform, "carla", "d", "member")
    join_domain(platform, "ben", "e", "owner")
    return platform


@pytest.fixture
def any_lake_home(any_platform: Platform) -> Platform:
    add_domain(any_platform, "d")
    return any_platform
