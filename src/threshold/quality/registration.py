"""What quality listens to and runs (see `threshold.events` for when each phase runs)."""

from __future__ import annotations

from threshold.events import DatasetPublishing, Phase, subscribe
from threshold.jobs.kinds import JobKind, declare
from threshold.quality import gate, schedule
from threshold.quality.dataset_checks import CHECK_JOB


def register() -> None:
    subscribe(DatasetPublishing, gate.judge, phase=Phase.AROUND)
    declare(JobKind(CHECK_JOB, "Run a scheduled check", run=schedule.check_jobs))
