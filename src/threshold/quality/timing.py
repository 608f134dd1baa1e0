"""Durations (`24h`, `90 minutes`, `2d`) and check schedules (`hourly`, `daily`, `every 15 minutes`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from threshold.errors import InvalidInput

_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$")
_NAMED = {"hourly": 3600, "daily": 86400, "weekly": 604800}
NO_SCHEDULE = ("", "none", "never", "on-share", "manual")


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


def normalise_schedule(text: str | None) -> str | None:
    """The schedule as stored (None: only on shares and by hand); refuses what it cannot read."""
    if text is None or text.strip().lower() in NO_SCHEDULE:
        return None
    raw = " ".join(text.strip().lower().split())
    interval_seconds(raw)
    return raw


def interval_seconds(schedule: str) -> float:
    if schedule in _NAMED:
        return float(_NAMED[schedule])
    if schedule.startswith("every "):
        seconds = parse_duration(schedule.removeprefix("every "))
        if seconds < 60:
            raise InvalidInput("a check runs at most once a minute; use e.g. `every 5 minutes`")
        return seconds
    raise InvalidInput(f"unknown schedule {schedule[:40]!r}; use hourly, daily, weekly, `every 30 minutes` or none")


def next_run(schedule: str | None, after: datetime | None = None) -> datetime | None:
    if schedule is None:
        return None
    return (after or datetime.now(UTC)) + timedelta(seconds=interval_seconds(schedule))
