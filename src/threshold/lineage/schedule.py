"""When a derived dataset refreshes: schedules, the next run time, and the scheduler thread.

A schedule is one of (times are UTC):
- `hourly` (at minute 0), `daily` (at 00:00), `daily at 06:30`, `weekly` (Monday 00:00);
- `every 15 minutes`, `every 2 hours`, `every 3 days` (also `every 15m`, `every 2h`, `every 3d`),
  aligned like cron's `*/15`: at 00:00, 00:15, 00:30...;
- a five-field cron expression, `minute hour day-of-month month day-of-week` with `*`, `*/n`,
  numbers, ranges `a-b` and lists `a,b` (day of week 0-6, Sunday = 0): `30 6 * * 1-5`.

`threshold refresh --due` runs every derivation whose time has come (from cron or a systemd timer);
`threshold serve` also starts `Scheduler`, a thread that does the same every 30 seconds. Several
servers can run it: a run is claimed by moving `next_run_at` with a compare-and-set update first.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from threshold.errors import InvalidInput

log = logging.getLogger(__name__)

_EVERY = re.compile(r"^every\s+(\d+)\s*(m|min|mins|minutes?|h|hours?|d|days?)$")
_DAILY_AT = re.compile(r"^daily\s+at\s+(\d{1,2}):(\d{2})$")
_UNITS = {"m": 60, "h": 3600, "d": 86400}
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


@dataclass(frozen=True)
class Schedule:
    text: str
    interval: int | None = None
    """Seconds between runs, aligned to the epoch (every N minutes/hours/days, hourly)."""
    offset: int = 0
    """Seconds after the aligned instant (daily at HH:MM)."""
    cron: tuple[frozenset[int], ...] | None = None

    def next_after(self, after: datetime) -> datetime:
        """The first run time strictly after `after`."""
        after = after if after.tzinfo else after.replace(tzinfo=UTC)
        if self.interval is not None:
            t = int(after.timestamp()) - self.offset
            nxt = (t // self.interval + 1) * self.interval + self.offset
            return datetime.fromtimestamp(nxt, UTC)
        assert self.cron is not None
        return _next_cron(self.cron, after)


def parse(text: str | None) -> Schedule | None:
    """A schedule from its text; None (on demand only) for None, '', `none` or `manual`."""
    if text is None:
        return None
    norm = " ".join(text.strip().lower().split())
    if norm in ("", "none", "manual", "on demand"):
        return None
    if norm == "hourly":
        return Schedule(norm, interval=3600)
    if norm == "daily":
        return Schedule(norm, interval=86400)
    if norm == "weekly":
        # 1970-01-01 was a Thursday: shift by 4 days so that weeks start on Monday 00:00.
        return Schedule(norm, interval=7 * 86400, offset=4 * 86400)
    if m := _DAILY_AT.match(norm):
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour > 23 or minute > 59:
            raise InvalidInput(f"{text!r}: the time is HH:MM between 00:00 and 23:59")
        return Schedule(norm, interval=86400, offset=hour * 3600 + minute * 60)
    if m := _EVERY.match(norm):
        n = int(m.group(1))
        seconds = n * _UNITS[m.group(2)[0]]
        if n < 1 or seconds < 60:
            raise InvalidInput(f"{text!r}: the shortest schedule is every 1 minute")
        return Schedule(norm, interval=seconds)
    fields = norm.split(" ")
    if len(fields) == 5:
        return Schedule(
            norm, cron=tuple(_cron_field(f, lo, hi, text) for f, (lo, hi) in zip(fields, _CRON_RANGES, strict=True))
        )
    raise InvalidInput(
        f"unknown schedule {text!r}: use hourly, daily, daily at 06:30, weekly, every 15 minutes, "
        "or a cron expression like '*/15 * * * *'"
    )


def _cron_field(field: str, lo: int, hi: int, text: str) -> frozenset[int]:
    values: set[int] = set()
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) < 1:
                raise InvalidInput(f"{text!r}: bad step in {field!r}")
            step = int(step_text)
        if part == "*":
            start, end = lo, hi
        elif "-" in part:
            a, b = part.split("-", 1)
            if not (a.isdigit() and b.isdigit()):
                raise InvalidInput(f"{text!r}: bad range in {field!r}")
            start, end = int(a), int(b)
        elif part.isdigit():
            start = end = int(part)
        else:
            raise InvalidInput(f"{text!r}: cannot read {field!r} as a cron field")
        if start < lo or end > hi or start > end:
            raise InvalidInput(f"{text!r}: {field!r} is outside {lo}-{hi}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _next_cron(cron: tuple[frozenset[int], ...], after: datetime) -> datetime:
    minutes, hours, days, months, weekdays = cron
    t = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    limit = t + timedelta(days=366 * 5)
    while t < limit:
        if t.month not in months:
            t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            continue
        if not _day_matches(t, days, weekdays):
            t = t.replace(hour=0, minute=0) + timedelta(days=1)
            continue
        if t.hour not in hours:
            t = t.replace(minute=0) + timedelta(hours=1)
            continue
        if t.minute not in minutes:
            t += timedelta(minutes=1)
            continue
        return t
    raise InvalidInput("the cron expression never matches a real date")


def _day_matches(t: datetime, days: frozenset[int], weekdays: frozenset[int]) -> bool:
    """Cron's rule: when both day fields are restricted, either may match."""
    in_month, in_week = t.day in days, (t.isoweekday() % 7) in weekdays
    if len(days) < 31 and len(weekdays) < 7:
        return in_month or in_week
    return in_month and in_week


class Scheduler:
    """A daemon thread that calls `tick()` every `every` seconds until stopped (see module doc)."""

    def __init__(self, tick: Callable[[], object], every: float = 30.0) -> None:
        self._tick = tick
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="threshold-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self._tick()
            except Exception:  # the loop must survive a bad run; the run itself records its error
                log.exception("scheduled refresh failed")
