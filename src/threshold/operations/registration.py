"""What operations runs on a schedule: compaction, snapshot expiry and the home's sweep (jobs core)."""

from __future__ import annotations

from threshold.jobs.kinds import JobKind, declare
from threshold.operations import schedules

LEASE = 6 * 3600.0
"""Maintenance of a large home takes long; another worker takes a job over only after this (the dataset
locks keep two workers off the same dataset anyway)."""


def register() -> None:
    for kind, run in (
        (schedules.COMPACT, schedules.compact_jobs),
        (schedules.EXPIRE, schedules.expire_jobs),
        (schedules.SWEEP, schedules.sweep_jobs),
    ):
        declare(JobKind(kind, schedules.LABELS[kind], run=run, retries=1, lease_seconds=LEASE))
