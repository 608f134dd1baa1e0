"""The capabilities of the platform, declared in one list (as Django's INSTALLED_APPS).

Each capability may have a `models` module (its tables: the store loads them so that Alembic and
SQLAlchemy see the whole model) and a `registration` module whose `register()` subscribes to events
(`threshold.events`) and declares job kinds and outbox channels (`threshold.jobs`). Adding a
capability with tables, subscriptions or jobs means adding one line here.

The core names them as strings and imports them when a platform opens, so the core never depends on
a capability at import time (the layer contract in pyproject.toml checks that it does not).
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Capability:
    name: str
    models: bool = False
    """`threshold.<name>.models` holds tables."""
    registration: bool = False
    """`threshold.<name>.registration.register()` subscribes to events, declares jobs and channels."""


CAPABILITIES: tuple[Capability, ...] = (
    Capability("identity", models=True),
    Capability("sharing"),
    Capability("catalog"),
    Capability("gateway"),
    Capability("usage", models=True),
    Capability("governance"),
    Capability("notifications", models=True, registration=True),
    Capability("lineage", models=True, registration=True),
    Capability("quality", models=True, registration=True),
    Capability("products", models=True),
    Capability("insights", models=True, registration=True),
    Capability("glossary", models=True, registration=True),
    Capability("compliance", models=True, registration=True),
    Capability("erasure", models=True),
    Capability("literacy", models=True, registration=True),
    Capability("maturity", models=True, registration=True),
    Capability("operations", registration=True),
    Capability("connectors", models=True, registration=True),
)

CORE_MODELS: tuple[str, ...] = ("threshold.jobs.models",)
"""Tables of the core beside `store.models` (the jobs core)."""

_lock = threading.RLock()
_models_loaded = False
_registered = False


def load_models() -> None:
    """Import every capability's tables (idempotent)."""
    global _models_loaded
    if _models_loaded:
        return
    with _lock:
        if not _models_loaded:
            for module in CORE_MODELS:
                importlib.import_module(module)
            for c in CAPABILITIES:
                if c.models:
                    importlib.import_module(f"threshold.{c.name}.models")
            _models_loaded = True


def load() -> None:
    """Import every capability's tables and run its registration once per process (idempotent)."""
    global _registered
    load_models()
    if _registered:
        return
    with _lock:
        if _registered:
            return
        for c in CAPABILITIES:
            if c.registration:
                importlib.import_module(f"threshold.{c.name}.registration").register()
        _registered = True
