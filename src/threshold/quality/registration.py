"""What quality listens to and runs (see `threshold.events` for when each phase runs)."""

from __future__ import annotations

from threshold.events import DatasetPublishing, Phase, subscribe
from threshold.jobs.kinds import JobKind, Later, declare
from threshold.quality import gate

CHECK_JOB = "quality.check"
"""The job kind of scheduled checks (key: the check's id); `quality/schedule.py` runs them."""


def register() -> None:
    subscribe(DatasetPublishing, gate.judge, phase=Phase.AROUND)
    declare(JobKind(CHECK_JOB, "Run a scheduled check", run=Later("threshold.quality.schedule", "check_jobs")))
