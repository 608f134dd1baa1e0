"""Per-process limits divided among the workers of `threshold serve --workers N` (`limits.workers`)."""

from __future__ import annotations

from threshold.limits.machine import query_slots
from threshold.limits.settings import LimitSettings
from threshold.limits.workers import share_of


def test_one_worker_keeps_the_limits_whole() -> None:
    share = share_of(LimitSettings(person_queries=3, queries=7, engine_memory="4GB"), 1)
    assert (share.overrides, share.notes) == ({}, [])


def test_limits_that_divide_evenly_are_divided_and_say_nothing() -> None:
    share = share_of(LimitSettings(person_queries=8, queries=16, engine_memory="8GiB"), 4)
    assert share.overrides == {
        "THRESHOLD_LIMITS__PERSON_QUERIES": "2",
        "THRESHOLD_LIMITS__QUERIES": "4",
        "THRESHOLD_LIMITS__ENGINE_MEMORY": "2048MiB",
    }
    assert share.notes == []


def test_a_limit_below_the_workers_gives_each_one_and_says_the_total() -> None:
    share = share_of(LimitSettings(person_queries=2, queries=10, engine_memory="1GB"), 4)
    assert share.overrides["THRESHOLD_LIMITS__PERSON_QUERIES"] == "1"
    assert share.overrides["THRESHOLD_LIMITS__QUERIES"] == "2"
    assert share.overrides["THRESHOLD_LIMITS__ENGINE_MEMORY"] == "256MiB"  # never below 256 MiB
    assert share.notes == [
        "limits.person_queries = 2 over 4 workers: each worker admits 1, 4 at once in all "
        "(set THRESHOLD_LIMITS__PERSON_QUERIES to a multiple of 4)",
        "limits.queries = 10 over 4 workers: each worker admits 2, 8 at once in all "
        "(set THRESHOLD_LIMITS__QUERIES to a multiple of 4)",
    ]


def test_the_machine_defaults_are_shared_too() -> None:
    share = share_of(LimitSettings(person_queries=4), 2)
    assert share.overrides["THRESHOLD_LIMITS__QUERIES"] == str(max(1, query_slots(0) // 2))
    assert share.overrides["THRESHOLD_LIMITS__ENGINE_MEMORY"].endswith("MiB")


def test_a_memory_size_duckdb_would_refuse_is_passed_on_unchanged() -> None:
    share = share_of(LimitSettings(engine_memory="lots"), 2)
    assert share.overrides["THRESHOLD_LIMITS__ENGINE_MEMORY"] == "lots"
