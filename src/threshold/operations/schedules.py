"""Maintenance as optional scheduled jobs of the jobs core: compaction, snapshot expiry, the home's sweep.

Each is one job (key `home`) whose schedule is a setting (`THRESHOLD_OPERATIONS__COMPACT_SCHEDULE`,
`…__EXPIRE_SCHEDULE`, `…__SWEEP_SCHEDULE`; the jobs schedule grammar, `none` = only when asked).
`threshold init` and `threshold serve` plan them from the settings; `threshold jobs run operations.compact
home` runs one at once. Jobs act as the platform's admin.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from threshold.errors import InvalidInput
from threshold.platform import Platform

COMPACT = "operations.compact"
EXPIRE = "operations.expire"
SWEEP = "operations.sweep"
KEY = "home"
LABELS = {
    COMPACT: "Compact the small files of every dataset",
    EXPIRE: "Expire snapshots past the time-travel promise",
    SWEEP: "Clean up what killed writes left",
}


def plan_from_settings(platform: Platform) -> None:
    """Create or update the three jobs with the schedules the settings give."""
    from threshold.jobs import service as jobs

    ops = platform.settings.operations
    now = platform.clock()
    planned = (
        (COMPACT, "compact_schedule", ops.compact_schedule),
        (EXPIRE, "expire_schedule", ops.expire_schedule),
        (SWEEP, "sweep_schedule", ops.sweep_schedule),
    )
    with platform.store.session() as s:
        for kind, setting, text in planned:
            try:
                jobs.plan(s, kind, KEY, text, label=LABELS[kind], now=now)
            except InvalidInput as e:
                raise InvalidInput(f"THRESHOLD_OPERATIONS__{setting.upper()}: {e}") from None


def _admin(platform: Platform) -> Any:
    from threshold.identity.service import ADMIN, get_person

    return get_person(platform, ADMIN)


def compact_jobs(platform: Platform, keys: Sequence[str]) -> dict[str, Any]:
    from threshold.operations.maintenance import CompactResult, maintain_all

    results = maintain_all(platform, _admin(platform), expire_snapshots=False)
    merged = [r for r in results if isinstance(r, CompactResult) and r.snapshot_id is not None]
    summary = {
        "datasets": len(results),
        "compacted": len(merged),
        "files_merged": sum(r.files_before - r.files_after for r in merged),
        "not_done": [f"{r.dataset}: {r.skipped}" for r in results if r.skipped and "not compacted" in r.skipped][:20],
    }
    return dict.fromkeys(keys, summary)


def expire_jobs(platform: Platform, keys: Sequence[str]) -> dict[str, Any]:
    from threshold.operations.maintenance import ExpireResult, maintain_all

    results = [r for r in maintain_all(platform, _admin(platform), compact_files=False) if isinstance(r, ExpireResult)]
    summary = {
        "datasets": len(results),
        "snapshots_expired": sum(len(r.expired) for r in results),
        "bytes_removed": sum(r.removed_bytes for r in results),
    }
    return dict.fromkeys(keys, summary)


def sweep_jobs(platform: Platform, keys: Sequence[str]) -> dict[str, Any]:
    from threshold.cleanup import sweep_home

    results = sweep_home(platform)
    summary = {
        "datasets": len(results),
        "cleaned": sum(1 for r in results if r.changed),
        "busy": sum(1 for r in results if r.busy),
        "files_removed": sum(len(r.removed) for r in results),
        "bytes_removed": sum(r.removed_bytes for r in results),
    }
    return dict.fromkeys(keys, summary)
