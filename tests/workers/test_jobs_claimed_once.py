"""Several processes run the scheduler against one PostgreSQL database: a due job runs exactly once.

Two proofs. The first starts the race by hand (a barrier), the second lets a running server race.

Four real processes (forked from one that loaded every job kind) open the same home, say they are ready and
wait on a barrier (a pipe their parent closes when a line comes on its stdin); the test releases them at
once and each runs `jobs.run_due`, as the scheduler thread of each
worker of `threshold serve --workers N` does on every tick. Every planned job was made due beforehand. The
compare-and-set claim lets exactly one process run each job: one run recorded per job, one maturity snapshot
taken, and the outcomes the processes report add up to one per job.

The second starts a real `threshold serve --workers 3` with its scheduler threads ticking every few
milliseconds, waits until every worker has answered a request (so each one's scheduler is running), then
makes many one-shot maturity snapshot jobs due at once: the three scheduler threads race for them. Each job
runs exactly once (one run recorded, one snapshot taken per job), none is lost, and every run was made by
one of the server's workers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import make_url

import plainhttp
import s3homes
from threshold.identity.service import create_token
from threshold.jobs import service as jobs
from threshold.jobs.models import Job, JobRun
from threshold.maturity.models import Snapshot
from threshold.maturity.snapshots import JOB_KIND as MATURITY
from threshold.maturity.snapshots import plan as plan_maturity
from threshold.platform import Platform
from workerserver import serving, warm

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PROCESSES = 4


@pytest.fixture(scope="module", autouse=True)
def _forkserver() -> None:
    """The last test's server is forked from the test process's forkserver (`workerserver`): started with the
    module, its imports run while the first test's racers start and race, not before that server."""
    warm()


RACE = (
    "import os, sys, traceback\n"
    "from threshold.jobs import service\n"
    "from threshold.platform import Platform\n"
    "service.kinds()\n"  # imported once, here; each racer is this process forked, before anything is opened
    "import psycopg\n"  # the store's driver, which each racer's engine would import
    "from sqlalchemy.orm import configure_mappers\n"
    "configure_mappers()\n"  # as a server's preload does: no racer configures the ORM after the barrier
    "home, n = sys.argv[1], int(sys.argv[2])\n"
    "go_r, go_w = os.pipe()\n"
    "def race(ready, out):\n"
    "    os.close(go_w)\n"
    "    p = Platform.open(home)\n"
    "    p.store.metadata_version()\n"  # a connection open: the race starts at the claims, not at the opening
    "    os.write(ready, b'r')\n"
    "    os.read(go_r, 1)\n"  # the barrier: every racer's read returns when the parent closes go_w
    "    outcomes = service.run_due(p)\n"
    "    os.write(out, ' '.join(f'{o.kind}/{o.key}={o.status}' for o in outcomes).encode())\n"
    "    p.close()\n"
    "racers = []\n"
    "for i in range(n):\n"
    "    ready_r, ready_w = os.pipe()\n"
    "    out_r, out_w = os.pipe()\n"
    "    pid = os.fork()\n"
    "    if pid == 0:\n"
    "        code = 1\n"
    "        try:\n"
    "            race(ready_w, out_w)\n"
    "            code = 0\n"
    "        except BaseException:\n"
    "            traceback.print_exc()\n"
    "        finally:\n"
    "            sys.stderr.flush()\n"
    "            os._exit(code)\n"
    "    os.close(ready_w)\n"
    "    os.close(out_w)\n"
    "    racers.append((pid, ready_r, out_r))\n"
    "for _, ready_r, _ in racers:\n"
    "    assert os.read(ready_r, 1) == b'r', 'a racer did not start'\n"
    "print('ready', flush=True)\n"
    "sys.stdin.readline()\n"
    "os.close(go_w)\n"  # released together
    "for pid, _, out_r in racers:\n"
    "    said = b''\n"
    "    while chunk := os.read(out_r, 65536):\n"
    "        said += chunk\n"
    "    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])\n"
    "    print(f'{code} {said.decode()}', flush=True)\n"
)
"""`PROCESSES` racers: one process imports the scheduler's code, forks them, releases them together when a line
comes on its stdin, and prints each one's exit code and outcomes on a line of their own."""


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
        proc = subprocess.Popen(
            [sys.executable, "-c", RACE, str(platform.settings.home_dir), str(PROCESSES)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"  # every racer is ready
            out, err = proc.communicate("go\n", timeout=300)  # the barrier: released together
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 0, err
        results = [line.split(" ", 1) for line in out.splitlines()]
        assert [int(code) for code, _ in results] == [0] * PROCESSES, err
        ran = Counter(word.split("=")[0] for _, said in results for word in said.split())
        assert ran == Counter(dict.fromkeys(jobs, 1))
        with platform.store.session() as s:
            runs = Counter(
                f"{k}/{key}" for k, key in s.execute(select(JobRun.kind, JobRun.key).where(JobRun.id > last_run))
            )
            assert runs == Counter(dict.fromkeys(jobs, 1))
            assert s.scalar(select(func.count()).select_from(Snapshot)) == snapshots + 1
            assert s.scalar(select(func.count()).select_from(Job).where(Job.claimed_by.is_not(None))) == 0


@contextmanager
def _job_commits(platform: Platform) -> Iterator[Callable[[float], None]]:
    """`changed(seconds)` returns when a transaction that wrote the jobs table has committed since it last
    returned, or after `seconds`: a statement trigger of this test's own database copy notifies a connection
    that listens (PostgreSQL's LISTEN/NOTIFY), so the test waits for the workers' commits, not in a loop of
    reads beside them. The trigger and its function are dropped on leaving."""
    url = make_url(str(platform.settings.database_url)).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION test_jobs_changed() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_notify('test_jobs_changed', ''); RETURN NULL; END $$"
        )
        conn.execute(
            "CREATE TRIGGER test_jobs_changed AFTER INSERT OR UPDATE OR DELETE ON jobs "
            "FOR EACH STATEMENT EXECUTE FUNCTION test_jobs_changed()"
        )
        conn.execute("LISTEN test_jobs_changed")

        def changed(seconds: float) -> None:
            for _ in conn.notifies(timeout=seconds, stop_after=1):
                pass

        try:
            yield changed
        finally:
            conn.execute("DROP TRIGGER test_jobs_changed ON jobs")
            conn.execute("DROP FUNCTION test_jobs_changed()")


WORKERS = 3
ONE_SHOTS = 24
DEADLINE = 240.0
"""Longest the server test waits: for every worker to answer, then for every job to have run (a loaded machine)."""


def test_the_scheduler_threads_of_a_multi_worker_server_run_each_due_job_once(
    prepared_homes: Any, tmp_path: Any
) -> None:
    if not os.environ.get("THRESHOLD_TEST_POSTGRES_URL"):
        pytest.skip("THRESHOLD_TEST_POSTGRES_URL not set (make test starts a local PostgreSQL)")
    for platform in prepared_homes.copy("org", "postgres", tmp_path / "home"):
        auth = {"Authorization": f"Bearer {create_token(platform, 'carla')[1]}"}
        with platform.store.session() as s:
            snapshots = s.scalar(select(func.count()).select_from(Snapshot)) or 0
        settings = {"THRESHOLD_JOBS__SCHEDULER": "true", "THRESHOLD_JOBS__INTERVAL_SECONDS": "0.02"}
        with _job_commits(platform) as changed, serving(platform, WORKERS, settings) as server:
            url, proc = f"{server.url}/api/v1/me", server.proc
            # Every worker answers once: each one's app has started, and with it its scheduler thread.
            answered: set[str] = set()
            end = time.monotonic() + DEADLINE
            with ThreadPoolExecutor(4) as pool:
                while len(answered) < WORKERS:
                    assert time.monotonic() < end, f"only {len(answered)} of {WORKERS} workers answered"
                    for r in pool.map(lambda _: plainhttp.get(url, headers=auth, timeout=120), range(8)):  # noqa: B023
                        assert r.status_code == 200, r.text
                        answered.add(r.headers["x-threshold-worker"])
            workers = server.workers()
            assert len(workers) == WORKERS
            keys = [f"claim-{i:02d}" for i in range(ONE_SHOTS)]
            with platform.store.session() as s:  # one-shot jobs (no schedule), all due now, in one commit
                for key in keys:
                    jobs.plan(s, MATURITY, key, None, label="a one-shot snapshot", now=platform.clock())
                s.execute(
                    update(Job)
                    .where(Job.kind == MATURITY, Job.key.in_(keys))
                    .values(next_run_at=datetime.now(UTC) - timedelta(seconds=1))
                )
            pending = ONE_SHOTS
            while True:  # done: no job of ours left due or held (a run still going holds its claim)
                assert time.monotonic() < end, f"{pending} of {ONE_SHOTS} jobs still due or running"
                assert proc.poll() is None, proc.communicate()[1][-3000:]
                with platform.store.reader() as s:
                    pending = s.scalar(
                        select(func.count())
                        .select_from(Job)
                        .where(
                            Job.kind == MATURITY,
                            Job.key.in_(keys),
                            or_(Job.next_run_at.is_not(None), Job.claimed_by.is_not(None)),
                        )
                    )
                if not pending:
                    break
                changed(1.0)  # until a worker commits a claim or a finished run (a second at most: is it alive?)
            with platform.store.reader() as s:
                runs = s.execute(
                    select(JobRun.key, JobRun.worker, JobRun.status, JobRun.trigger, JobRun.error).where(
                        JobRun.kind == MATURITY, JobRun.key.in_(keys)
                    )
                ).all()
                taken = (s.scalar(select(func.count()).select_from(Snapshot)) or 0) - snapshots
                statuses = {
                    j.key: j.last_status for j in s.execute(select(Job.key, Job.last_status).where(Job.key.in_(keys)))
                }
        assert Counter(key for key, *_ in runs) == Counter(dict.fromkeys(keys, 1))  # each once, none lost
        assert {(status, trigger) for _, _, status, trigger, _ in runs} == {("ok", "schedule")}, {e for *_, e in runs}
        assert statuses == dict.fromkeys(keys, "ok")
        assert taken == ONE_SHOTS  # the work itself was done once per job
        ran_in = {int(worker.split(":")[1]) for _, worker, *_ in runs}  # host:pid:nonce
        assert ran_in <= set(workers), (ran_in, workers)  # by the server's scheduler threads, not this test
        assert proc.returncode == 0, server.err[-3000:]
