"""The connectors' part in the platform: a scheduled sync is a job kind of the jobs core."""

from __future__ import annotations

from threshold.jobs.kinds import JobKind, Later, declare

JOB_KIND = "sources.sync"
"""The job kind of scheduled syncs (key: the dataset), run by `service.sync_jobs`."""


def register() -> None:
    declare(
        JobKind(
            JOB_KIND,
            "Sync a source database table into the lake",
            run=Later("threshold.connectors.service", "sync_jobs"),
            retries=2,
        )
    )
