"""Refresh schedules: what each spelling means, and when the next run is (UTC)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from threshold.errors import InvalidInput
from threshold.lineage.schedule import Scheduler, parse

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


@pytest.mark.parametrize("text", [None, "", "none", "manual", "  On  Demand "])
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


def test_the_scheduler_ticks_until_stopped_and_survives_a_failing_tick() -> None:
    ticks = []
    ticked = threading.Event()

    def tick() -> None:
        ticks.append(1)
        if len(ticks) >= 3:
            ticked.set()
        raise RuntimeError("a run failed")

    scheduler = Scheduler(tick, every=0.01)
    scheduler.start()
    assert ticked.wait(5)
    scheduler.stop()
    count = len(ticks)
    assert count >= 3
    threading.Event().wait(0.05)
    assert len(ticks) == count
