"""What lineage listens to (see `threshold.events` for when each phase runs)."""

from __future__ import annotations

from threshold.events import DatasetPublished, Phase, SchemaChanged, ShareStarting, subscribe
from threshold.lineage import hooks


def register() -> None:
    subscribe(ShareStarting, hooks.check_share)
    subscribe(DatasetPublished, hooks.published)
    subscribe(DatasetPublished, hooks.deliver_events, phase=Phase.AFTER_COMMIT)
    subscribe(SchemaChanged, hooks.schema_changed)
