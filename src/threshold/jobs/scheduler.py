"""The scheduler thread that `threshold serve` starts (unless `THRESHOLD_JOBS__SCHEDULER` is off).

Every `interval_seconds` it runs `service.run_due` with the platform's clock. Several servers may run
it at once (each job is claimed first), and so may a cron job calling `threshold jobs run --due`.
Tests call `tick()` with an injected clock instead of starting the thread.
"""

from __future__ import annotations

import logging
import threading

from threshold.jobs.service import Outcome, run_due
from threshold.platform import Platform

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, platform: Platform, *, interval: float | None = None) -> None:
        self.platform = platform
        self.interval = interval if interval is not None else platform.settings.jobs.interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="threshold-scheduler", daemon=True)

    def tick(self) -> list[Outcome]:
        """Run what is due now (by the platform's clock)."""
        return run_due(self.platform, now=self.platform.clock())

    def start(self) -> Scheduler:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # the loop must survive a bad tick; each run records its own outcome
                log.exception("jobs: a scheduler tick failed")
