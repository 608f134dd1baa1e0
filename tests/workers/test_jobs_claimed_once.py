"""Several processes run the scheduler against one PostgreSQL database: a due job runs exactly once.

Four real processes open the same home, load every job kind, say they are ready and wait on a barrier (a
line on stdin); the test releases them at once and each runs `jobs.run_due`, as the scheduler thread of each
worker of `threshold serve --workers N` does on every tick. Every planned job was made due beforehand. The
compare-and-set claim lets exactly one process run each job: one run recorded per job, one maturity snapshot
taken, and the outcomes the processes report add up to one per job.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

import s3homes
from threshold.jobs.models import Job, JobRun
from threshold.maturity.models import Snapshot
from threshold.maturity.snapshots import plan as plan_maturity

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PROCESSES = 4
RACE = (
    "import sys\n"
    "from threshold.jobs import service\n"
    "from threshold.platform import Platform\n"
    "p = Platform.open(sys.argv[1])\n"
    "service.kinds()\n"
    "p.store.metadata_version()\n"  # a connection open: the race starts at the claims, not at the imports
    "print('ready', flush=True)\n"
    "sys.stdin.readline()\n"
    "outcomes = service.run_due(p)\n"
    "print(' '.join(f'{o.kind}/{o.key}={o.status}' for o in outcomes), flush=True)\n"
    "p.close()\n"
)


def test_a_due_job_runs_exactly_once_across_processes(prepared_homes: Any, tmp_path: Any) -> None:
    if not os.environ.get("THRESHOLD_TEST_POSTGRES_URL"):
        pytest.skip("THRESHOLD_TEST_POSTGRES_URL not set (make test starts a local PostgreSQL)")
    for platform in prepared_homes.copy("org", "postgres", tmp_path / "home"):
        plan_maturity(platform)
        with platform.store.session() as s:
            s.execute(update(Job).values(next_run_at=datetime.now(UTC) - timedelta(minutes=1)))
            jobs = {f"{k}/{key}" for k, key in s.execute(select(Job.kind, Job.key))}
            snapshots = s.scalar(select(func.count()).select_from(Snapshot))
            last_run = s.scalar(select(func.max(JobRun.id))) or 0
        assert "maturity.snapshot/organisation" in jobs
        env = {
            **os.environ,
            **s3homes.subprocess_env(platform.settings),
            "THRESHOLD_DATABASE_URL": str(platform.settings.database_url),
        }
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", RACE, str(platform.settings.home_dir)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(PROCESSES)
        ]
        try:
            for p in procs:
                assert p.stdout is not None and p.stdout.readline().strip() == "ready"
            for p in procs:  # the barrier: released together
                assert p.stdin is not None
                p.stdin.write("go\n")
                p.stdin.flush()
            results = [p.communicate(timeout=300) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.communicate()
        assert [p.returncode for p in procs] == [0] * PROCESSES, [err for _, err in results]
        ran = Counter(word.split("=")[0] for out, _ in results for word in out.split())
        assert ran == Counter(dict.fromkeys(jobs, 1))
        with platform.store.session() as s:
            runs = Counter(
                f"{k}/{key}" for k, key in s.execute(select(JobRun.kind, JobRun.key).where(JobRun.id > last_run))
            )
            assert runs == Counter(dict.fromkeys(jobs, 1))
            assert s.scalar(select(func.count()).select_from(Snapshot)) == snapshots + 1
            assert s.scalar(select(func.count()).select_from(Job).where(Job.claimed_by.is_not(None))) == 0
