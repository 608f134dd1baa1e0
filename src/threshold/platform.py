"""The platform object: settings, metadata store, lake and gateway engine of one Threshold home.

Every service function takes it as its first argument (as Datasette's views take `datasette`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from threshold.errors import NotFound
from threshold.lake import Lake
from threshold.runtime import Clock, Executor, background
from threshold.settings import Settings
from threshold.store.db import Store

if TYPE_CHECKING:
    from threshold.engines.daft import DaftEngine
    from threshold.engines.duckdb import Engine
    from threshold.limits import Limits


class Platform:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.db_url, lock_timeout=settings.lock_timeout_seconds)
        self.lake = Lake(settings, self.store)
        self._engine: Engine | None = None
        self._daft: DaftEngine | None = None
        self._limits: Limits | None = None
        self._lock = threading.Lock()
        self.executor: Executor = background
        """Where background work (outbox deliveries) runs (tests inject `jobs.runtime.inline`)."""
        self._on_close: list[Callable[[], None]] = []

    @property
    def clock(self) -> Clock:
        """What time it is for jobs, the outbox, stamps and every decision on access (a grant's expiry); tests
        inject a fixed clock. The store holds it, so a decision read inside a session sees the same time."""
        return self.store.clock

    @clock.setter
    def clock(self, value: Clock) -> None:
        self.store.clock = value

    def on_close(self, fn: Callable[[], None]) -> None:
        """Call `fn` when the platform closes, before its engine and store (a capability's writer flushes)."""
        self._on_close.append(fn)

    @classmethod
    def open(cls, home: str | Path | None = None, *, must_exist: bool = True, **overrides: object) -> Platform:
        """Open a home. `must_exist=False` is for `threshold init`, which creates it."""
        kwargs: dict[str, object] = dict(overrides)
        if home is not None:
            kwargs["home"] = Path(home)
        settings = Settings(**kwargs)  # type: ignore[arg-type]
        platform = cls(settings)
        # A SQLite store in a folder that does not exist cannot even be opened: say so instead of failing.
        missing = settings.is_sqlite and not settings.home_dir.is_dir()
        if must_exist and (missing or not platform.store.is_migrated()):
            raise NotFound(
                f"no Threshold home at {settings.home_dir} (or its database is empty); run `threshold init` first"
            )
        return platform

    def init(self) -> None:
        """Create the home folders, migrate the store to the newest schema and claim the warehouse as this
        home's own (idempotent; never takes another home's warehouse)."""
        from threshold import home

        for d in (self.settings.home_dir, self.settings.warehouse_dir, self.settings.staging_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.store.migrate()
        home.claim(self.settings, self.store)
        self.clean_staging()

    def clean_staging(self) -> None:
        """Remove staging and upload folders of processes that are gone (killed half-way).

        Previews (`previews_dir`) are not a share in progress: they wait for their person and expire on
        their own clock (`sharing.staged.sweep`).
        """
        from threshold.staging import clean_staging

        clean_staging(self.settings)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    from threshold.engines.duckdb import Engine

                    self._engine = Engine(self.settings)
        return self._engine

    @property
    def daft(self) -> DaftEngine:
        """The engine for big queries (Daft, on Ray when `engine.ray_address` is set): `gateway.dispatch`."""
        if self._daft is None:
            with self._lock:
                if self._daft is None:
                    from threshold.engines.daft import DaftEngine

                    self._daft = DaftEngine(self.settings)
        return self._daft

    @property
    def limits(self) -> Limits:
        """Allowances, admission control and the watchdog of this platform (`threshold.limits`)."""
        if self._limits is None:
            with self._lock:
                if self._limits is None:
                    from threshold.limits import Limits

                    self._limits = Limits(self.settings.limits)
        return self._limits

    @limits.setter
    def limits(self, value: Limits) -> None:
        """Tests put in limits with their own clock (and no watchdog thread)."""
        self._limits = value

    def close(self) -> None:
        for fn in reversed(self._on_close):
            fn()
        self._on_close.clear()
        if self._limits is not None:
            self._limits.close()
        if self._engine is not None:
            self._engine.close()
        self.store.dispose()
