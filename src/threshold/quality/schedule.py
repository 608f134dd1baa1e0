"""Scheduled checks: jobs of kind `quality.check` on the jobs core (declared in `registration.py`).

`run_due` runs the checks whose time has come (`threshold check run --due`, or the server's scheduler):
the jobs core claims each one first (so several servers, or a server and a cron job, run a due check
once), and `check_jobs` runs a dataset's claimed checks in one scan.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from threshold.errors import ThresholdError
from threshold.jobs import service as jobs
from threshold.platform import Platform
from threshold.quality.check_results import CheckResult, ChecksNotRun
from threshold.quality.dataset_checks import CHECK_JOB
from threshold.quality.models import Check
from threshold.store.models import Dataset

log = logging.getLogger(__name__)


def run_due(platform: Platform, *, now: datetime | None = None) -> list[CheckResult | ChecksNotRun]:
    """Run every due check; a dataset's due checks in one scan. Returns each check's result, and one
    `ChecksNotRun` for a dataset whose checks could not run."""
    out: list[CheckResult | ChecksNotRun] = []
    failed: set[str] = set()
    for o in jobs.run_due(platform, now=now, only=[CHECK_JOB]):
        if o.error is None:
            if o.result is not None:
                out.append(CheckResult(**o.result))
        elif o.label not in failed:
            failed.add(o.label)
            out.append(ChecksNotRun(dataset=o.label, message=str(o.error)))
    return out


def check_jobs(platform: Platform, keys: Sequence[str]) -> dict[str, Any]:
    """The `quality.check` job kind: run the claimed checks, grouped by dataset (published ones only). Each
    check's outcome is its result's JSON form: the jobs core keeps a run's scalars as its summary."""
    from threshold.quality.dataset_checks import run

    ids = [int(k) for k in keys if k.isdigit()]
    with platform.store.reader() as s:
        rows = s.execute(
            select(Check.id, Dataset.full_name)
            .join(Dataset, Dataset.id == Check.dataset_id)
            .where(Check.id.in_(ids), Check.active.is_(True), Dataset.snapshot_id.is_not(None))
        ).all()
    by_dataset: dict[str, list[int]] = defaultdict(list)
    for check_id, full_name in rows:
        by_dataset[full_name].append(check_id)
    results: dict[str, Any] = {}
    for full_name, check_ids in by_dataset.items():
        try:
            for row in run(platform, None, full_name, check_ids=check_ids, trigger="schedule"):
                results[str(row.check)] = row.to_json()
        except ThresholdError as e:
            log.warning("quality: scheduled checks of %s could not run: %s", full_name, e)
            results |= {str(i): e for i in check_ids}
    return results
