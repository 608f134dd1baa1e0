"""Compliance's part in the platform: the register recorded with each share."""

from __future__ import annotations

from typing import Any

from threshold import events
from threshold.events import DatasetPublished
from threshold.platform import Platform


def _record(platform: Platform, e: DatasetPublished) -> None:
    from threshold.compliance.register import record_at_share

    collection: Any = e.source_info.get("collection")
    record_at_share(platform, e.session, e.dataset, e.user, collection)


def register() -> None:
    events.subscribe(DatasetPublished, _record)
