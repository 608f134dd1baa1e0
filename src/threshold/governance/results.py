"""What governance answers with: typed results, each with its JSON form (`to_json`), the keys in the order the
REST API, the `/governance.json` twin and the CLI send them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class AccessTimes:
    """Time to access in one domain: how many requests, how many were decided (auto-approved ones at once),
    how many wait and the oldest wait, and the median and 90th percentile of the hours to a decision."""

    domain: str
    requests: int
    decided: int
    auto_approved: int
    waiting: int
    oldest_waiting_hours: float | None
    median_hours: float | None
    p90_hours: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
