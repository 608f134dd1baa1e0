"""What lineage listens to and runs (see `threshold.events` for when each phase runs)."""

from __future__ import annotations

from threshold.events import DatasetPublished, Phase, SchemaChanged, ShareStarting, subscribe
from threshold.jobs.kinds import JobKind, declare
from threshold.lineage import derive, hooks


def register() -> None:
    subscribe(ShareStarting, hooks.check_share)
    subscribe(DatasetPublished, hooks.published)
    subscribe(DatasetPublished, hooks.deliver_events, phase=Phase.AFTER_COMMIT)
    subscribe(SchemaChanged, hooks.schema_changed)
    declare(JobKind(derive.REFRESH, "Refresh a derived dataset", run=derive.refresh_jobs))
