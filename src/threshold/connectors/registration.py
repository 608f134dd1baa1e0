"""The connectors' part in the platform: a scheduled sync is a job kind of the jobs core."""

from __future__ import annotations

from threshold.jobs.kinds import JobKind, declare


def register() -> None:
    from threshold.connectors.service import JOB_KIND, sync_jobs

    declare(JobKind(JOB_KIND, "Sync a source database table into the lake", run=sync_jobs, retries=2))
