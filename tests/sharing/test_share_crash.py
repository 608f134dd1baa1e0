"""A share that is killed or races another share leaves no half dataset and loses no rows.

kill -9 is real here: `threshold share` runs as its own process and gets SIGKILL mid-way, either
while DuckDB converts a large CSV or in the worst moment, after the Iceberg commit and before the
metadata is published. Afterwards the catalog, the store and the gateway show exactly what was
published before, and the next share works on top of it. Concurrent shares on one dataset either
succeed or fail with a TransientError, and the rows that end up published are exactly those of
the shares that succeeded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy import delete, select

import inprocess
import killed
import s3homes
from threshold import locks
from threshold.catalog.service import describe
from threshold.errors import Conflict, NotFound, ThresholdError, TransientError
from threshold.gateway.service import query
from threshold.identity.service import ADMIN, add_domain, get_person
from threshold.platform import Platform
from threshold.sharing import service
from threshold.sharing.service import share
from threshold.store.models import Dataset, Share

BIG_ROWS = 3_000_000
"""Enough rows that converting them takes seconds on a 2-core machine, so the kill lands mid-share."""

_COLUMNS = """i AS id, 'Plant ' || (i % 97) AS plant, 'operator ' || (i % 5003) || ' name' AS operator,
    (i % 1000) / 1000.0 AS scrap_rate, DATE '2026-01-01' + (i % 365)::INT AS day, md5(i::VARCHAR) AS batch,
    (i * 7919) % 100000 AS units"""


def _generate(path: Path, first: int, rows: int) -> Path:
    """A CSV of `rows` rows with ids from `first`, written by DuckDB (millions of rows in about a second)."""
    duckdb.sql(f"COPY (SELECT {_COLUMNS} FROM range({first}, {first + rows}) t(i)) TO '{path}' (HEADER, DELIMITER ',')")
    return path


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    killed.start_server()  # its imports run while DuckDB writes the file
    return _generate(tmp_path_factory.mktemp("big") / "big.csv", 1_000_000_000, BIG_ROWS)


@pytest.fixture
def home(any_platform: Platform) -> Platform:
    """A home with domain `d`; the admin shares into it."""
    add_domain(any_platform, "d")
    return any_platform


def _env(platform: Platform) -> dict[str, str]:
    """The environment of a `threshold` process on this home (same database, same warehouse)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("THRESHOLD_")}
    if "THRESHOLD_ENGINE_THREADS" in os.environ:  # one DuckDB thread per engine, as every test's (conftest.py)
        env["THRESHOLD_ENGINE_THREADS"] = os.environ["THRESHOLD_ENGINE_THREADS"]
    if platform.settings.database_url:
        env["THRESHOLD_DATABASE_URL"] = platform.settings.database_url
    env.update(s3homes.subprocess_env(platform.settings))  # THRESHOLD_TEST_WAREHOUSE=s3: the same prefix
    return env


def _threshold(platform: Platform, *args: str, kill_at: str | None = None) -> killed.Child:
    """Start `threshold ARGS` on this home in a process of its own (`tests/killed.py`); with `kill_at`, it
    dies by SIGKILL when that function is called."""
    return killed.threshold(*args, "--home", str(platform.settings.home_dir), env=_env(platform), kill_at=kill_at)


def _size(path: Path) -> int:
    """Bytes in `path`, 0 when it is gone (a share that ended cleans its staging folder)."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _kill_when_converting(proc: killed.Child, platform: Platform) -> None:
    """SIGKILL the share as soon as DuckDB has written Parquet bytes into its staging folder (watched while
    waiting on the process itself, which ends the wait at once if the share ends first)."""
    deadline = time.monotonic() + 60
    while not any(_size(p) > 0 for p in platform.settings.staging_dir.glob("*/*.parquet")):
        try:
            proc.wait(timeout=0.02)
        except subprocess.TimeoutExpired:
            assert time.monotonic() < deadline, "the share never started converting"
            continue
        raise AssertionError(f"the share ended before it could be killed: {proc.communicate()}")
    assert proc.poll() is None, "the share finished before it could be killed; make BIG_ROWS larger"
    os.kill(proc.pid, signal.SIGKILL)
    assert _exit_code(proc) == -signal.SIGKILL


def _exit_code(proc: killed.Child) -> int:
    proc.communicate(timeout=60)  # also closes the pipes
    return proc.returncode


KILL_AT_PUBLISH = "threshold.sharing.service:_publish"
"""Where `threshold share` is killed: right after its Iceberg commit, before it publishes the share."""


def _count(platform: Platform, sql: str) -> Any:
    return query(platform, sql, user=get_person(platform, ADMIN)).table.to_pylist()[0]


def _datasets_via_cli(platform: Platform) -> list[str]:
    """`threshold datasets` (in this process: what it prints is the point, not the process)."""
    env = {k: v for k, v in _env(platform).items() if k.startswith("THRESHOLD_")}
    done = inprocess.threshold("datasets", "--format", "json", home=platform.settings.home_dir, env=env)
    assert done.returncode == 0, done.stderr
    return [d["name"] for d in json.loads(done.stdout)]


def _snapshot(platform: Platform, ident: str) -> tuple[int | None, int | None]:
    """(current Iceberg snapshot, its parent)."""
    current = platform.lake.load(ident).current_snapshot()
    return (current.snapshot_id, current.parent_snapshot_id) if current else (None, None)


# -- kill -9 while creating ------------------------------------------------------------------------------


@pytest.mark.slow
def test_kill_during_create_leaves_no_dataset_and_the_name_can_be_shared_again(
    home: Platform, big_csv: Path, tmp_path: Path, state_of
) -> None:
    before = state_of(home)

    _kill_when_converting(_threshold(home, "share", str(big_csv), "--domain", "d", "--name", "big"), home)

    after = state_of(home)
    assert (after.datasets, after.store_rows) == (before.datasets, before.store_rows)
    with pytest.raises(NotFound):
        describe(home, "d.big")
    assert _datasets_via_cli(home) == []
    assert after.staging, "a killed share leaves its staging folder behind (nothing runs to remove it)"

    home.init()
    assert state_of(home).staging == ()

    small = _generate(tmp_path / "small.csv", 0, 10)
    [result] = share(home, small, domain="d", name="big", user=get_person(home, ADMIN))
    assert (result.rows_added, result.rows_total) == (10, 10)
    assert _count(home, "SELECT count(*) AS n, min(id) AS lo FROM d.big") == {"n": 10, "lo": 0}
    assert len(home.lake.load("d.big").snapshots()) == 1


@pytest.mark.slow
def test_kill_after_commit_before_publish_of_a_create_is_invisible(home: Platform, tmp_path: Path, state_of) -> None:
    before = state_of(home)
    small = _generate(tmp_path / "small.csv", 0, 10)

    proc = _threshold(home, "share", str(small), "--domain", "d", "--name", "big", kill_at=KILL_AT_PUBLISH)
    assert _exit_code(proc) == -signal.SIGKILL

    assert "d.big" in state_of(home).lake_tables, "the kill did not land after the Iceberg commit"
    assert home.lake.load("d.big").current_snapshot() is not None
    after = state_of(home)
    assert (after.datasets, after.store_rows) == (before.datasets, before.store_rows)
    assert _datasets_via_cli(home) == []

    [result] = share(
        home, _generate(tmp_path / "again.csv", 100, 3), domain="d", name="big", user=get_person(home, ADMIN)
    )
    assert result.rows_total == 3
    assert _count(home, "SELECT count(*) AS n, min(id) AS lo FROM d.big") == {"n": 3, "lo": 100}


# -- kill -9 while appending -------------------------------------------------------------------------------


def _existing(home: Platform, tmp_path: Path) -> dict[str, Any]:
    """d.big with rows 0..9, and what the outside world sees of it."""
    share(home, _generate(tmp_path / "small.csv", 0, 10), domain="d", name="big", user=get_person(home, ADMIN))
    return {
        "record": describe(home, "d.big"),
        "rows": query(home, "SELECT * FROM d.big ORDER BY id", user=get_person(home, ADMIN)).table.to_pylist(),
    }


def _assert_unchanged(home: Platform, old: dict[str, Any]) -> None:
    assert describe(home, "d.big") == old["record"]
    assert query(home, "SELECT * FROM d.big ORDER BY id", user=get_person(home, ADMIN)).table.to_pylist() == old["rows"]


def _assert_next_append_builds_on(home: Platform, tmp_path: Path, old: dict[str, Any]) -> None:
    [result] = share(
        home,
        _generate(tmp_path / "next.csv", 500, 5),
        domain="d",
        name="big",
        mode="append",
        user=get_person(home, ADMIN),
    )
    assert (result.rows_added, result.rows_total) == (5, 15)
    assert _snapshot(home, "d.big") == (result.snapshot_id, old["record"].snapshot_id)
    assert _count(home, "SELECT count(*) AS n, max(id) AS hi FROM d.big") == {"n": 15, "hi": 504}
    assert [h.rows_total for h in describe(home, "d.big").history] == [15, 10]


@pytest.mark.slow
def test_kill_during_append_keeps_the_old_rows_and_the_next_append_builds_on_them(
    home: Platform, big_csv: Path, tmp_path: Path, state_of
) -> None:
    old = _existing(home, tmp_path)
    rows_before = state_of(home).store_rows

    args = ("share", str(big_csv), "--domain", "d", "--name", "big", "--mode", "append")
    _kill_when_converting(_threshold(home, *args), home)

    _assert_unchanged(home, old)
    assert state_of(home).store_rows == rows_before
    home.clean_staging()
    assert state_of(home).staging == ()
    _assert_next_append_builds_on(home, tmp_path, old)


@pytest.mark.slow
def test_kill_after_commit_before_publish_of_an_append_is_rolled_back(home: Platform, tmp_path: Path) -> None:
    old = _existing(home, tmp_path)
    more = _generate(tmp_path / "more.csv", 1000, 7)

    proc = _threshold(
        home, "share", str(more), "--domain", "d", "--name", "big", "--mode", "append", kill_at=KILL_AT_PUBLISH
    )
    assert _exit_code(proc) == -signal.SIGKILL

    unpublished, parent = _snapshot(home, "d.big")
    assert parent == old["record"].snapshot_id != unpublished, "the kill did not land after the Iceberg commit"
    _assert_unchanged(home, old)
    _assert_next_append_builds_on(home, tmp_path, old)


# -- concurrent shares -------------------------------------------------------------------------------------


SERIES = {"a": 1, "b": 2}
"""Share `tag` writes ids from SERIES[tag] million on, so `id // 1000000` says which share a row came from."""


def _rows_csv(tmp_path: Path, tag: str, rows: int) -> Path:
    return _generate(tmp_path / f"{tag}.csv", SERIES[tag] * 1_000_000, rows)


def _run(outcomes: dict[str, Any], tag: str, fn: Callable[[], Any]) -> None:
    try:
        outcomes[tag] = fn()
    except ThresholdError as e:
        outcomes[tag] = e
    except Exception as e:  # anything else is a bug: the test reports it
        outcomes[tag] = AssertionError(f"{type(e).__name__} is no ThresholdError: {e}")


def _assert_published_rows_are_the_successful_ones(
    home: Platform, outcomes: dict[str, Any], sizes: dict[str, int], base: int
) -> None:
    for tag, outcome in outcomes.items():
        assert not isinstance(outcome, AssertionError), f"share {tag}: {outcome}"
        assert isinstance(outcome, list) or isinstance(outcome, TransientError), f"share {tag}: {outcome!r}"
    ok = sorted(tag for tag, o in outcomes.items() if isinstance(o, list))
    assert ok, "at least one of the concurrent shares must succeed"
    expected = base + sum(sizes[tag] for tag in ok)
    per_share = query(
        home, "SELECT id // 1000000 AS k, count(*) AS n FROM d.big GROUP BY 1 ORDER BY 1", user=get_person(home, ADMIN)
    ).table.to_pylist()
    found = {row["k"]: row["n"] for row in per_share}
    assert found == {0: base} | {SERIES[t]: sizes[t] for t in ok}, (
        f"published rows per share {found} are not those of the shares that succeeded: {ok}"
    )
    assert describe(home, "d.big").rows == expected
    assert len(describe(home, "d.big").history) == 1 + len(ok)


def test_two_appends_at_the_same_time_both_land_or_one_is_told_to_retry(home: Platform, tmp_path: Path) -> None:
    base = 10
    share(home, _generate(tmp_path / "small.csv", 0, base), domain="d", name="big", user=get_person(home, ADMIN))
    sizes = {"a": 3000, "b": 4000}
    files = {tag: _rows_csv(tmp_path, tag, n) for tag, n in sizes.items()}
    outcomes: dict[str, Any] = {}
    start = threading.Barrier(2)

    def append(tag: str) -> Any:
        start.wait()
        return share(home, files[tag], domain="d", name="big", mode="append", user=get_person(home, ADMIN))

    threads = [threading.Thread(target=_run, args=(outcomes, tag, lambda t=tag: append(t))) for tag in sizes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    _assert_published_rows_are_the_successful_ones(home, outcomes, sizes, base)


@pytest.fixture
def pause_before_publish(monkeypatch: pytest.MonkeyPatch):
    """`pause_before_publish("A")`: the share running in thread "A" stops after its Iceberg commit,
    right before it publishes, until `.resume()`; `.paused` is set while it waits. `.writer_waits` is set
    once another thread has asked for the writer lock of d.big and been refused at least once (it is
    waiting for the lock: what it does next depends on the lock, not on how long the test waited)."""

    class Pause:
        def __init__(self) -> None:
            self.paused, self._go, self.thread_name = threading.Event(), threading.Event(), ""
            self.writer_waits = threading.Event()

        def __call__(self, thread_name: str) -> Pause:
            self.thread_name = thread_name
            return self

        def resume(self) -> None:
            self._go.set()

    pause = Pause()
    publish = service._publish

    def paused_publish(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == pause.thread_name:
            pause.paused.set()
            assert pause._go.wait(60)
        return publish(*args, **kwargs)

    monkeypatch.setattr(service, "_publish", paused_publish)
    waits = locks._waits

    def watched_waits(name: str) -> None:
        if name == "d.big" and threading.current_thread().name != pause.thread_name:
            pause.writer_waits.set()  # its first try was refused: this thread waits for the lock
        waits(name)

    monkeypatch.setattr(locks, "_waits", watched_waits)
    yield pause
    pause.resume()


def test_an_append_waits_while_another_append_is_between_commit_and_publish_and_loses_no_rows(
    home: Platform, tmp_path: Path, pause_before_publish
) -> None:
    """One writer per dataset: B cannot start while A sits between its Iceberg commit and its publish
    (B would otherwise take A's commit for a dead writer's and roll it back)."""
    base = 10
    share(home, _generate(tmp_path / "small.csv", 0, base), domain="d", name="big", user=get_person(home, ADMIN))
    sizes = {"a": 3, "b": 4}
    files = {tag: _rows_csv(tmp_path, tag, n) for tag, n in sizes.items()}
    outcomes: dict[str, Any] = {}

    def append(tag: str) -> Any:
        return share(home, files[tag], domain="d", name="big", mode="append", user=get_person(home, ADMIN))

    pause = pause_before_publish("A")
    first = threading.Thread(target=_run, args=(outcomes, "a", lambda: append("a")), name="A")
    first.start()
    assert pause.paused.wait(60)
    second = threading.Thread(target=_run, args=(outcomes, "b", lambda: append("b")), name="B")
    second.start()
    assert pause.writer_waits.wait(60), "B must wait for A's publish, not run beside it"
    assert second.is_alive() and "b" not in outcomes, "B must wait for A's publish, not run beside it"
    pause.resume()
    first.join(timeout=60)
    second.join(timeout=60)

    assert all(isinstance(o, list) for o in outcomes.values()), outcomes
    _assert_published_rows_are_the_successful_ones(home, outcomes, sizes, base)


def test_a_create_waits_while_another_create_is_between_commit_and_publish_and_is_told_it_exists(
    home: Platform, tmp_path: Path, pause_before_publish
) -> None:
    files = {tag: _rows_csv(tmp_path, tag, n) for tag, n in {"a": 3, "b": 4}.items()}
    outcomes: dict[str, Any] = {}

    def create(tag: str) -> Any:
        return share(home, files[tag], domain="d", name="big", user=get_person(home, ADMIN))

    pause = pause_before_publish("A")
    first = threading.Thread(target=_run, args=(outcomes, "a", lambda: create("a")), name="A")
    first.start()
    assert pause.paused.wait(60)
    second = threading.Thread(target=_run, args=(outcomes, "b", lambda: create("b")), name="B")
    second.start()
    assert pause.writer_waits.wait(60), "the second create must wait instead of dropping the first one's table"
    assert second.is_alive(), "the second create must wait instead of dropping the first one's table"
    pause.resume()
    first.join(timeout=60)
    second.join(timeout=60)

    assert isinstance(outcomes["a"], list), outcomes
    assert isinstance(outcomes["b"], Conflict) and "exists already" in str(outcomes["b"]), outcomes
    found = _count(home, "SELECT count(*) AS n, min(id) // 1000000 AS k FROM d.big")
    assert (found["n"], found["k"]) == (3, 1)
    assert describe(home, "d.big").rows == 3


def test_appends_after_an_unpublished_commit_roll_it_back_once_and_both_land(home: Platform, tmp_path: Path) -> None:
    base = 10
    admin = get_person(home, ADMIN)
    [first] = share(home, _generate(tmp_path / "small.csv", 0, base), domain="d", name="big", user=admin)
    # A commit nobody published (as a killed share leaves it): the first append below must undo it.
    share(home, _generate(tmp_path / "gone.csv", 9_000_000, 2), domain="d", name="big", mode="append", user=admin)
    with home.store.session() as s:
        ds = s.scalars(select(Dataset).where(Dataset.full_name == "d.big")).one()
        s.execute(delete(Share).where(Share.dataset_id == ds.id, Share.snapshot_id != first.snapshot_id))
        ds.snapshot_id, ds.row_count = first.snapshot_id, base
    sizes = {"a": 3, "b": 4}
    files = {tag: _rows_csv(tmp_path, tag, n) for tag, n in sizes.items()}
    outcomes: dict[str, Any] = {}

    def append(tag: str) -> Any:
        return share(home, files[tag], domain="d", name="big", mode="append", user=admin)

    threads = [threading.Thread(target=_run, args=(outcomes, tag, lambda t=tag: append(t))) for tag in sizes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert all(isinstance(o, list) for o in outcomes.values()), outcomes
    _assert_published_rows_are_the_successful_ones(home, outcomes, sizes, base)
