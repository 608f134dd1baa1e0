"""What quality listens to (see `threshold.events` for when each phase runs)."""

from __future__ import annotations

from threshold.events import DatasetPublishing, Phase, subscribe
from threshold.quality import gate


def register() -> None:
    subscribe(DatasetPublishing, gate.judge, phase=Phase.AROUND)
