"""A query's allowance: the time, rows and bytes it may use, from the settings and what the caller asked.

A caller may ask for less than the settings allow (a shorter time, fewer rows), never more. Messages
about a limit say whose limit it was: the caller's own request, or the setting (named with its
environment variable) when the caller asked for nothing or for more.
"""

from __future__ import annotations

from dataclasses import dataclass

from threshold.errors import InvalidInput, LimitExceeded
from threshold.limits.settings import LimitSettings

JOB_INTERFACES = frozenset({"job"})


@dataclass(frozen=True)
class Allowance:
    seconds: float
    rows: int
    bytes: int
    job: bool
    seconds_setting: str
    """The setting that bounds `seconds`, or "" when the caller asked for less."""
    rows_setting: str
    """The setting that bounds `rows`, or "" when the caller asked for fewer."""
    bytes_setting: str

    def time_exceeded(self) -> LimitExceeded:
        if self.seconds_setting:
            return LimitExceeded(
                f"the query was stopped after {_seconds(self.seconds)}, the time limit for "
                f"{'jobs' if self.job else 'interactive queries'} ({self.seconds_setting})"
            )
        return LimitExceeded(f"the query was stopped after {_seconds(self.seconds)}, the time limit it asked for")

    def rows_note(self) -> str:
        if self.rows_setting:
            return f"showing the first {self.rows:,} rows, the most one query returns ({self.rows_setting})"
        return f"showing the first {self.rows:,} rows"

    def bytes_note(self, rows: int) -> str:
        return (
            f"the result was cut after {rows:,} rows, at {human_size(self.bytes)}, the most one query returns "
            f"({self.bytes_setting})"
        )

    def bytes_exceeded(self) -> LimitExceeded:
        return LimitExceeded(
            f"the result is larger than {human_size(self.bytes)}, the most a "
            f"{'job' if self.job else 'query'} may return ({self.bytes_setting})"
        )


def allowance(
    settings: LimitSettings, interface: str, *, max_rows: int | None = None, seconds: float | None = None
) -> Allowance:
    """The allowance of one query from `interface`; `max_rows`/`seconds` are what the caller asked (None: all)."""
    job = interface in JOB_INTERFACES
    time_field = "job_query_seconds" if job else "query_seconds"
    rows_field = "job_query_rows" if job else "query_rows"
    bytes_field = "job_query_result_bytes" if job else "query_result_bytes"
    most_seconds = float(getattr(settings, time_field))
    most_rows = int(getattr(settings, rows_field))
    if max_rows is not None and max_rows < 1:
        raise InvalidInput("max_rows must be at least 1 (leave it out for the most you may have)")
    if seconds is not None and not seconds > 0:
        raise InvalidInput("a query's time limit must be more than 0 seconds (leave it out for the most allowed)")
    asked_rows = max_rows is not None and max_rows < most_rows
    asked_seconds = seconds is not None and seconds < most_seconds
    return Allowance(
        seconds=float(seconds) if asked_seconds and seconds is not None else most_seconds,
        rows=int(max_rows) if asked_rows and max_rows is not None else most_rows,
        bytes=int(getattr(settings, bytes_field)),
        job=job,
        seconds_setting="" if asked_seconds else settings.setting(time_field),
        rows_setting="" if asked_rows else settings.setting(rows_field),
        bytes_setting=settings.setting(bytes_field),
    )


def _seconds(s: float) -> str:
    return f"{s:g} s" if s < 120 else f"{s / 60:g} min"


def human_size(n: float) -> str:
    """Bytes as a person reads them: 97.7 KB, 1 GB."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}".replace(".0 ", " ")
        n /= 1024
    return f"{n} B"


def rows_exceeded(a: Allowance) -> LimitExceeded:
    """A job's result longer than its allowance fails rather than being stored cut."""
    return LimitExceeded(f"the result has more than {a.rows:,} rows, the most a job may read ({a.rows_setting})")
