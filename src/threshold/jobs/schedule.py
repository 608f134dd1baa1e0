"""The one schedule grammar of every job (derivation refreshes, checks, and the kinds to come).

A schedule is one of (times are UTC):
- `hourly` (at minute 0), `daily` (at 00:00), `daily at 06:30`, `weekly` (Monday 00:00);
- `every 15 minutes`, `every 2 hours`, `every 3 days`, `every 1 week` (also `every 15m`, `every 90 s`,
  `every 1.5 hours`: any duration `parse_duration` reads, at least one minute), aligned like cron's
  `*/15`: at 00:00, 00:15, 00:30...;
- a five-field cron expression, `minute hour day-of-month month day-of-week` with `*`, `*/n`,
  numbers, ranges `a-b` and lists `a,b` (day of week 0-6, Sunday = 0): `30 6 * * 1-5`;
- none: `none`, `never`, `manual`, `on demand`, `on-share` or empty (the job runs only when asked).

Durations (`24h`, `90 minutes`, `2d`) are read by `parse_duration` and shown by `human_duration`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from threshold.errors import InvalidInput

_NONE = ("", "none", "never", "manual", "on demand", "on-share")
_DAILY_AT = re.compile(r"^daily\s+at\s+(\d{1,2}):(\d{2})$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$")
_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("w", "week", "weeks"), 604800),
}
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
    if norm in _NONE:
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
    if norm.startswith("every "):
        try:
            seconds = parse_duration(norm.removeprefix("every "))
        except InvalidInput:
            seconds = 0.0
        if seconds < 60:
            raise InvalidInput(f"{text!r}: the shortest schedule is every 1 minute (a job runs at most once a minute)")
        return Schedule(norm, interval=int(seconds))
    fields = norm.split(" ")
    if len(fields) == 5:
        return Schedule(
            norm, cron=tuple(_cron_field(f, lo, hi, text) for f, (lo, hi) in zip(fields, _CRON_RANGES, strict=True))
        )
    raise InvalidInput(
        f"unknown schedule {text[:40]!r}: use hourly, daily, daily at 06:30, weekly, every 15 minutes, "
        "a cron expression like '*/15 * * * *', or none"
    )


def normalise(text: str | None) -> str | None:
    """The schedule as stored (None: only when asked); refuses what it cannot read."""
    schedule = parse(text)
    return schedule.text if schedule else None


def next_run(text: str | None, after: datetime) -> datetime | None:
    """When a job on schedule `text` runs next after `after` (None: only when asked)."""
    schedule = parse(text)
    return schedule.next_after(after) if schedule else None


def parse_duration(text: str | int | float) -> float:
    """Seconds in `24h`, `90m`, `2 days`, `1.5 hours` (a bare number is seconds)."""
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        raw = str(text).strip().lower()
        try:
            seconds = float(raw)
        except ValueError:
            m = _DURATION.match(raw)
            if not m or m.group(2) not in _UNITS:
                raise InvalidInput(f"cannot read {str(text)[:40]!r} as a duration; write e.g. 30m, 24h, 7d") from None
            seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds <= 0:
        raise InvalidInput("a duration must be longer than zero")
    return seconds


def human_duration(seconds: float | None) -> str:
    """`3 h 20 min`, `2 days 4 h`, `45 s`."""
    if seconds is None:
        return "—"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h} h" + (f" {m} min" if m else "")
    d, h = divmod(s // 3600, 24)
    return f"{d} day{'s' if d != 1 else ''}" + (f" {h} h" if h else "")


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
