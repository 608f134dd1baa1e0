"""Test homes built once per session and copied for each test (see `PreparedHomes` in conftest.py).

A fixture that adds to the `org` (a capability's organisation: a dataset, policies, a usage history)
registers its builder here; a test using that fixture then gets a copy of a home on which the builder
ran once per session (and backend), instead of running it again:

    @on_org("batches", "any_batches")
    def build_batches(org, tmp):       # runs once per session and backend, on a copy of the org
        share(org.platform, ...)
        return Batches(...)            # handed back by `prepared_homes.result(platform, build_batches)`

The fixture, defined in the same module as its builder, asks `prepared_homes.result(org.platform,
build_batches)`: the builder's result when its home is such a copy (the fixture rebinds it to the copy's
platform), or None, when it must build (the test also uses another registered fixture, or its module
puts its own `platform` in place). A builder that returns the org it added to is taken over with
`prepared_homes.adopt(org, build)`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

Build = Callable[[Any, Path], Any]
B = TypeVar("B", bound=Build)

BUILDERS: dict[str, Build] = {}
"""`module:fixture` (the fixture of that name defined in that module) -> the builder that makes its
home from a copy of the org."""


def kind(build: Build) -> str:
    """The name of the prepared home `build` makes (one per builder)."""
    return f"{build.__module__}.{build.__qualname__}"


def on_org(*fixtures: str) -> Callable[[B], B]:
    """Register `build(org, tmp)` as what each of `fixtures` (defined in the builder's module) adds to
    the org (see the module's text)."""

    def register(build: B) -> B:
        for name in fixtures:
            BUILDERS[f"{build.__module__}:{name}"] = build
        return build

    return register
