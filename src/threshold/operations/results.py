"""What operations answer with: typed results, each with its JSON form (`to_json`), the keys in the order the
REST API and the CLI send them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class MaintenanceEntry:
    """One maintenance step on a dataset (compact, expire, rollback, drop-lost, cleanup, erasure): when, by whom,
    the snapshot it published and the one before, the rows before and after, and its detail."""

    kind: str
    at: str
    by: str | None
    snapshot_id: int | None
    previous_snapshot_id: int | None
    rows_before: int
    rows_after: int
    detail: dict[str, Any]

    @property
    def summary(self) -> str:
        """The detail in one line: its own summary, else its scalar values."""
        return self.detail.get("summary") or ", ".join(
            f"{k}: {v}" for k, v in self.detail.items() if not isinstance(v, (list, dict))
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
