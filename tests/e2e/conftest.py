"""Browser-test fixtures: the real app served by uvicorn on a free local port, and Debian's Chromium."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its cheapest parameters (runs before `org`, which hashes three passwords)."""
    from argon2 import PasswordHasher, profiles

    from threshold.identity import service as identity

    monkeypatch.setattr(identity, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))


@contextmanager
def _served(platform: Any, serve: Any) -> Iterator[str]:
    """The ASGI app over real HTTP (uvicorn in a thread, the heap frozen first: see `conftest.serving`) on
    `platform`'s home; yields its base URL."""
    from threshold.api.app import create_app

    with serve(create_app(platform)) as url:
        yield url


@pytest.fixture
def live_server(org: Any, serve: Any) -> Iterator[str]:
    """The app served on the org fixture's home (the test's own copy, which it may change)."""
    with _served(org.platform, serve) as url:
        yield url


@pytest.fixture(scope="module")
def module_live_server(module_org: Any, serve: Any) -> Iterator[str]:
    """The app served once per test module on `module_org`'s home, for the module's tests that only sign in
    and look (no form that changes the home): they share its server and its warmed caches."""
    with _served(module_org.platform, serve) as url:
        yield url


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright, launched once for the browser tests (this package); each test
    gets a context of its own (`chromium_page`, `browser`), so no cookie or storage is shared. Package scope
    (tests/e2e has an `__init__.py` for it), not session: Playwright's sync API marks an event loop as
    running in this thread while it lives, which `asyncio.run` in a later test of the process refuses."""
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package to run the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser(chromium: Any) -> Iterator[Any]:
    """The package's Chromium, for a test that opens its own contexts (`browser.new_context(...)`): every
    context the test opened is closed after it."""
    before = set(chromium.contexts)
    yield chromium
    for context in chromium.contexts:
        if context not in before:
            context.close()


@pytest.fixture
def chromium_page(browser: Any) -> Iterator[Any]:
    """A fresh Chromium page (1280x800) in a context of its own; never downloads a browser."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
