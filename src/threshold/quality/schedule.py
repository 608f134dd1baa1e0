"""Scheduled checks: `run_due` runs the checks whose time has come, a dataset's due checks in one scan.

Run it from cron (`threshold check run --due`), or let `threshold serve` do it: the API router's lifespan
starts `Scheduler`, a thread that calls `run_due` every `INTERVAL_SECONDS`. Several servers (or a server
and a cron job) may run it at once: each check is claimed with a compare-and-set on its `next_run_at`
before it runs, so a due check runs once.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from threshold.errors import ThresholdError
from threshold.platform import Platform
from threshold.quality.models import Check
from threshold.quality.timing import next_run
from threshold.store.models import Dataset

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 30.0


def run_due(platform: Platform, *, now: datetime | None = None) -> list[dict[str, Any]]:
    from threshold.quality.checks import run

    now = now or datetime.now(UTC)
    with platform.store.session() as s:
        due = s.execute(
            select(Check.id, Check.next_run_at, Check.schedule, Dataset.full_name)
            .join(Dataset, Dataset.id == Check.dataset_id)
            .where(
                Check.active.is_(True),
                Check.next_run_at.is_not(None),
                Check.next_run_at <= now,
                Dataset.snapshot_id.is_not(None),
            )
            .order_by(Check.next_run_at)
        ).all()
    claimed: dict[str, list[int]] = defaultdict(list)
    for check_id, was, schedule, full_name in due:
        with platform.store.session() as s:
            moved = s.execute(
                update(Check)
                .where(Check.id == check_id, Check.next_run_at == was)
                .values(next_run_at=next_run(schedule, now))
            )
            if moved.rowcount == 1:  # type: ignore[attr-defined]
                claimed[full_name].append(check_id)
    out: list[dict[str, Any]] = []
    for full_name, ids in claimed.items():
        try:
            out.extend(run(platform, None, full_name, check_ids=ids, trigger="schedule"))
        except ThresholdError as e:
            log.warning("quality: scheduled checks of %s could not run: %s", full_name, e)
            out.append({"dataset": full_name, "status": "error", "message": str(e)})
    return out


class Scheduler:
    """A daemon thread running `run_due` every `interval` seconds until stopped."""

    def __init__(self, platform: Platform, interval: float | None = None) -> None:
        self.platform, self.interval = platform, interval if interval is not None else INTERVAL_SECONDS
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="threshold-quality-scheduler", daemon=True)

    def start(self) -> Scheduler:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                run_due(self.platform)
            except Exception:  # keep the loop alive: the next tick tries again
                log.exception("quality: scheduled run failed")
