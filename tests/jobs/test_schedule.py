"""The one schedule grammar: what each spelling means, and when the next run is (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from threshold.errors import InvalidInput
from threshold.jobs.schedule import human_duration, next_run, normalise, parse, parse_duration

AT = datetime(2026, 3, 4, 10, 7, 30, tzinfo=UTC)  # a Wednesday

CASES = [
    ("hourly", datetime(2026, 3, 4, 11, 0, tzinfo=UTC)),
    ("daily", datetime(2026, 3, 5, 0, 0, tzinfo=UTC)),
    ("daily at 06:30", datetime(2026, 3, 5, 6, 30, tzinfo=UTC)),
    ("daily at 18:00", datetime(2026, 3, 4, 18, 0, tzinfo=UTC)),
    ("weekly", datetime(2026, 3, 9, 0, 0, tzinfo=UTC)),  # the next Monday
    ("every 15 minutes", datetime(2026, 3, 4, 10, 15, tzinfo=UTC)),
    ("every 15m", datetime(2026, 3, 4, 10, 15, tzinfo=UTC)),
    ("Every  2 Hours", datetime(2026, 3, 4, 12, 0, tzinfo=UTC)),
    ("every 1 day", datetime(2026, 3, 5, 0, 0, tzinfo=UTC)),
    ("*/20 * * * *", datetime(2026, 3, 4, 10, 20, tzinfo=UTC)),
    ("30 6 * * 1-5", datetime(2026, 3, 5, 6, 30, tzinfo=UTC)),  # weekdays at 06:30
    ("0 9 * * 0", datetime(2026, 3, 8, 9, 0, tzinfo=UTC)),  # Sundays at 09:00
    ("0 0 1 * *", datetime(2026, 4, 1, 0, 0, tzinfo=UTC)),
    ("0 0 1 * 1", datetime(2026, 3, 9, 0, 0, tzinfo=UTC)),  # cron: the 1st OR a Monday
    ("15,45 10 * * *", datetime(2026, 3, 4, 10, 15, tzinfo=UTC)),
    ("every 1 week", datetime(2026, 3, 5, 0, 0, tzinfo=UTC)),  # weeks from the epoch, a Thursday
    ("every 90 s", datetime(2026, 3, 4, 10, 9, tzinfo=UTC)),
    ("every 1.5 hours", datetime(2026, 3, 4, 10, 30, tzinfo=UTC)),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_next_run(text: str, expected: datetime) -> None:
    schedule = parse(text)
    assert schedule is not None
    assert schedule.next_after(AT) == expected


def test_the_next_run_is_strictly_later() -> None:
    schedule = parse("hourly")
    assert schedule is not None
    on_the_hour = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
    assert schedule.next_after(on_the_hour) == datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", [None, "", "none", "manual", "  On  Demand ", "never", "on-share"])
def test_on_demand(text: str | None) -> None:
    assert parse(text) is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("sometimes", "unknown schedule"),
        ("every 0 minutes", "shortest"),
        ("daily at 25:00", "between 00:00 and 23:59"),
        ("61 * * * *", "outside 0-59"),
        ("* * 30 2 *", "never matches"),
        ("*/0 * * * *", "bad step"),
    ],
)
def test_bad_schedules_say_why(text: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        schedule = parse(text)
        assert schedule is not None
        schedule.next_after(AT)


def test_schedules_and_durations_read_as_people_write_them() -> None:
    assert normalise("Daily") == "daily" and normalise("none") is None
    assert normalise("every  15 minutes") == "every 15 minutes"
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert next_run("hourly", at) == at + timedelta(hours=1)
    assert next_run("every 2 days", at) == at + timedelta(days=2)
    assert next_run(None, at) is None
    assert parse_duration("24h") == parse_duration("1 day") == parse_duration("1440m") == 86400
    assert human_duration(3 * 3600 + 20 * 60) == "3 h 20 min" and human_duration(None) == "—"
    with pytest.raises(InvalidInput, match="at most once a minute"):
        normalise("every 10 s")
    with pytest.raises(InvalidInput, match="unknown schedule"):
        normalise("sometimes")
    with pytest.raises(InvalidInput, match="as a duration"):
        parse_duration("soon")
    with pytest.raises(InvalidInput, match="longer than zero"):
        parse_duration("0h")
