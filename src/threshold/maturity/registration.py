"""The maturity model's part in the platform: the monthly snapshot is a job kind of the jobs core."""

from __future__ import annotations

from threshold.jobs.kinds import JobKind, Later, declare

JOB_KIND = "maturity.snapshot"
"""The job kind of the monthly snapshot, run by `snapshots.snapshot_jobs`."""


def register() -> None:
    declare(
        JobKind(
            JOB_KIND,
            "Snapshot the maturity of every domain",
            run=Later("threshold.maturity.snapshots", "snapshot_jobs"),
            retries=2,
        )
    )
