"""What insights listen to and run (see `threshold.events` for when each phase runs)."""

from __future__ import annotations

from threshold.events import SchemaChanged, subscribe
from threshold.insights import runs, staleness
from threshold.insights.service import JOB_KIND
from threshold.jobs.kinds import JobKind, declare


def register() -> None:
    subscribe(SchemaChanged, staleness.schema_changed)
    declare(JobKind(JOB_KIND, "Rerun a scheduled insight", run=runs.rerun_jobs))
