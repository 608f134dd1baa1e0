"""The maturity model's part in the platform: the monthly snapshot is a job kind of the jobs core."""

from __future__ import annotations

from threshold.jobs.kinds import JobKind, declare


def register() -> None:
    from threshold.maturity.snapshots import JOB_KIND, snapshot_jobs

    declare(JobKind(JOB_KIND, "Snapshot the maturity of every domain", run=snapshot_jobs, retries=2))
