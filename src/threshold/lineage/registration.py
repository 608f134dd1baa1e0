"""What lineage listens to, runs and sends (see `threshold.events` for when each phase runs)."""

from __future__ import annotations

from threshold.events import DatasetPublished, Phase, SchemaChanged, ShareStarting, subscribe
from threshold.jobs.kinds import JobKind, Later, declare
from threshold.jobs.outbox import Channel, declare_channel
from threshold.lineage import hooks, openlineage_out

REFRESH = "derivation.refresh"
"""The job kind of scheduled refreshes (key: the derived dataset's full name), run by `derive.refresh_jobs`."""


def register() -> None:
    subscribe(ShareStarting, hooks.check_share)
    subscribe(DatasetPublished, hooks.published)
    subscribe(DatasetPublished, hooks.deliver_events, phase=Phase.AFTER_COMMIT)
    subscribe(SchemaChanged, hooks.schema_changed)
    declare(JobKind(REFRESH, "Refresh a derived dataset", run=Later("threshold.lineage.derive", "refresh_jobs")))
    declare_channel(Channel(openlineage_out.CHANNEL, openlineage_out.send, enabled=openlineage_out.enabled))
