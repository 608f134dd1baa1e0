"""What insights listen to and run (see `threshold.events` for when each phase runs)."""

from __future__ import annotations

from threshold.events import SchemaChanged, subscribe
from threshold.jobs.kinds import JobKind, Later, declare

JOB_KIND = "insight.rerun"
"""The job kind of scheduled reruns (key: the insight's id), run by `runs.rerun_jobs`."""


def register() -> None:
    from threshold.insights import staleness

    subscribe(SchemaChanged, staleness.schema_changed)
    declare(JobKind(JOB_KIND, "Rerun a scheduled insight", run=Later("threshold.insights.runs", "rerun_jobs")))
