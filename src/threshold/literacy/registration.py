"""Literacy's part in the platform: it listens to what people do and ticks their learning tasks, and gives the
maturity model's literacy dimension its learning signal."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threshold.maturity.signals import Context


def register() -> None:
    from threshold import events
    from threshold.literacy.ticking import READERS, tick, tick_in

    for event in READERS:
        if event is events.DatasetPublished:
            events.subscribe(event, tick_in, phase=events.Phase.SYNC)
        else:
            events.subscribe(event, tick, phase=events.Phase.AFTER_COMMIT)
    from threshold.maturity.signals import SignalDef, register_signal

    register_signal(
        SignalDef(
            "literacy",
            "learning",
            "Progress on the learning track",
            "mean share of their track's tasks members did in the last 90 days",
            _learning,
        )
    )


def _learning(ctx: Context) -> dict[int, tuple[float, float | None]]:
    from threshold.literacy.service import learning_by_domain

    return {
        domain_id: (round(total, 4), float(members))
        for (domain_id, _), (total, members) in learning_by_domain(ctx.s, ctx.recent, until=ctx.at).items()
    }
