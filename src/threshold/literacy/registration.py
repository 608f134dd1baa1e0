"""Literacy's part in the platform: it listens to what people do and ticks their learning tasks."""

from __future__ import annotations


def register() -> None:
    from threshold import events
    from threshold.literacy.ticking import READERS, tick, tick_in

    for event in READERS:
        if event is events.DatasetPublished:
            events.subscribe(event, tick_in, phase=events.Phase.SYNC)
        else:
            events.subscribe(event, tick, phase=events.Phase.AFTER_COMMIT)
