"""Shared fixtures: a real Threshold home (SQLite, or PostgreSQL when marked) with a small organisation.

`org` builds: admin; domains manufacturing (owner anna), finance (owner ben), sales;
people anna (manufacturing), ben (finance), carla (sales); one dataset manufacturing.plant_kpis.
Passwords are '<name>-pass'.
"""

from __future__ import annotations

import gc
import os
import shutil
import socket
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import pgpool
import prepared
import s3homes
from orgs import PLANT_KPIS_CSV, Org, _build_org
from prepared import BUILDERS, kind
from threshold.identity.service import ADMIN, Person, ensure_admin, get_person
from threshold.platform import Platform

POSTGRES_URL = os.environ.get("THRESHOLD_TEST_POSTGRES_URL")

# One DuckDB thread per engine in a test process. `make test` runs a worker per core (and one more), each
# of them sharing, querying and checking at once: engines with a thread per core each would put several
# threads on every core, and the tests' small tables gain nothing from parallel pipelines, only their
# cost (a third of the suite used 11 % more CPU that way, BENCHMARKS.md). A test that needs more threads says so in
# its home's settings; a subprocess or an in-process `threshold` call gets its own environment.
os.environ.setdefault("THRESHOLD_ENGINE_THREADS", "1")
s3homes.switch(s3homes.ENABLED)  # THRESHOLD_TEST_WAREHOUSE=s3: every test home's warehouse on the local S3 server


# --- PostgreSQL databases per test: made ahead, dropped after, off the test's thread (pgpool.py) ---


_POOL: pgpool.DatabasePool | None = None


def _pool() -> pgpool.DatabasePool:
    """This test process's `DatabasePool` (made on first use, closed at the end of the session)."""
    global _POOL
    assert POSTGRES_URL
    if _POOL is None:
        _POOL = pgpool.DatabasePool(POSTGRES_URL)
    return _POOL


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    global _POOL
    if _POOL is not None:
        _POOL.close()
        _POOL = None
    # After the last teardown: pytest's unraisable-exception plugin then runs two full collections and the
    # interpreter one more at exit, each walking a worker's whole heap (~0.5 s CPU per 700k objects) to
    # surface warnings this suite ignores (`PytestUnraisableExceptionWarning`, pyproject.toml). Frozen
    # objects are skipped; the process is ending.
    gc.freeze()


def _postgres_database(template: str | None = None, strategy: str = "") -> str:
    """A fresh database on the test server for one test (a copy of the database at `template`, when
    given), made now; dropped afterwards by the fixture."""
    return _pool().create(template, strategy)


# --- The heaviest test files first under `pytest -n N --dist loadfile` -------------------------------


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `--dist loadfile`: hand the files to the workers in the order they were collected in, which
    `pytest_collection_modifyitems` makes heaviest first. xdist's own order (most tests first) hands the
    files with few but long tests (the route walks, the demo, the browser) out last, where one of them
    keeps a worker busy long after the other has finished. A file's S3 variants (tests/s3homes.py) are
    handed out as a unit of their own, right after the file's local tests."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    suite = s3homes.suite(config)

    class Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            """A file's S3 variants are a unit of their own: they may run beside its local tests."""
            scope = str(super()._split_scope(nodeid))
            return f"{scope}[s3]" if scope in suite and s3homes.is_variant_id(nodeid) else scope

    config.option.loadscopereorder = False
    return Scheduling(config, log)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Tell each worker to sort its collection (a worker's own `dist` option always reads "no")."""
    if node.config.getvalue("dist") == "loadfile":
        node.workerinput["heaviest_first"] = True


HEAVIEST = (
    "tests/access/test_walk.py",
    "tests/test_resident.py",
    "tests/demo/test_demo.py",
    "tests/store/test_migrations.py",
    "tests/api/test_fuzz.py",
    "tests/e2e/test_pages_for_everyone.py",
    "tests/sharing/test_share_crash.py",
    "tests/engines/test_daft.py",
    "tests/catalog/test_search.py",
    "tests/sharing/test_share.py",
    "tests/api/test_permissions.py",
    "tests/storage/test_s3_warehouse.py",
    "tests/governance/test_attacks.py",
    "tests/workers/test_several_workers.py",
    "tests/sharing/test_concurrent_appends.py",
    "tests/governance/test_access.py",
    "tests/governance/test_policies.py",
    "tests/workers/test_jobs_claimed_once.py",
)
"""The longest files (summed durations, issue 12's profiles in BENCHMARKS.md), longest first: handed out
before every other file. A file missing here still goes early when it has a test marked `slow`."""


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker under `--dist loadfile`: the files of `HEAVIEST` first, in its order, then the
    files with a test marked `slow`, then the others, the last two groups by number of tests, most first
    (a stable sort: a file's tests keep their order; every worker sorts the same collection the same way,
    as xdist requires). A run without workers keeps the collection's order, but for the S3 variants of a
    file, which always follow its local tests (`s3homes.keep_apart`)."""
    s3homes.check_shared(items)
    s3homes.keep_apart(items)
    if not getattr(config, "workerinput", {}).get("heaviest_first"):
        return
    count: dict[str, int] = {}
    slow: set[str] = set()
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        count[path] = count.get(path, 0) + 1
        if item.get_closest_marker("slow") is not None:
            slow.add(path)
    heaviest = {path: i for i, path in enumerate(HEAVIEST)}

    def weight(path: str) -> tuple[int, int]:
        if path in heaviest:
            return 0, heaviest[path]
        return (1 if path in slow else 2), -count[path]

    order = {path: i for i, path in enumerate(sorted(count, key=weight))}
    items.sort(key=lambda item: order[item.nodeid.split("::", 1)[0]])


# --- The S3 variants of `s3_suite` (tests/s3homes.py) ------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    s3homes.addini(parser)


def pytest_configure(config: pytest.Config) -> None:
    s3homes.configure(config)
    # A test process keeps a large heap for its whole run (the plugins, every imported module, the session's
    # and modules' fixtures): at the default thresholds (700, 10, 10) the collector walked it fourteen
    # times per few hundred tests, ~5 % of the CPU. Collected ten times less often, young objects still die
    # young enough (BENCHMARKS.md, issue 12).
    gc.set_threshold(10_000, 10, 10)


@pytest.hookimpl(trylast=True)
def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """A file of `s3_suite` is collected twice: as it is, then its S3 variants (an `s3homes.S3Module`)."""
    return s3homes.variant_module(file_path, parent)


@pytest.hookimpl(trylast=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """An S3 variant says so in its id, after any other parameter: `test_x[s3]`, `test_x[sqlite-s3]`."""
    if isinstance(metafunc.definition.parent, s3homes.S3Module):
        metafunc.parametrize("warehouse", ["s3"], indirect=True, ids=["s3"])


@pytest.fixture(autouse=True)
def warehouse(request: pytest.FixtureRequest) -> str:
    """Where the test's homes keep their warehouse: "s3" for an S3 variant (or under
    THRESHOLD_TEST_WAREHOUSE=s3), else "local"."""
    kind = "s3" if s3homes.active() else "local"
    assert getattr(request, "param", kind) == kind, f"an S3 variant runs with the switch {kind}"
    return kind


# --- Every test ---------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def cheap_passwords() -> Iterator[None]:
    """Argon2 at its cheapest parameters for the whole session, as the prepared homes are built with: the
    default parameters (64 MiB, three passes) cost 0.1-0.3 s per password set or sign-in on a quiet core
    and over a second on a loaded one, and the suite sets and checks thousands of passwords. Hashing and
    verifying run the same code; a hash records its parameters, so a hash made either way verifies the
    same way. Session scope, so that module-scoped fixtures (an organisation with its own people) hash
    cheaply too."""
    from argon2 import PasswordHasher, profiles

    from threshold.identity import service as identity

    hasher, identity._hasher = identity._hasher, PasswordHasher.from_parameters(profiles.CHEAPEST)
    yield
    identity._hasher = hasher


@pytest.fixture(scope="module", autouse=True)
def no_scheduler_outlives_its_module() -> Iterator[None]:
    """A served app's jobs scheduler thread ends with the app. One a module leaves running goes on ticking over
    a home its module removed, for the rest of the worker's tests (schemathesis kept the fuzzed app's lifespan
    running until the process ended: tests/api/test_fuzz.py), and fails a later test that counts them. Said here,
    at the module that started it; one still stopping (a tick under way) is given time to end."""
    before = {t for t in threading.enumerate() if t.name == "threshold-scheduler"}
    yield
    left = [t for t in threading.enumerate() if t.name == "threshold-scheduler" and t not in before]
    for t in left:
        t.join(30)
    assert not [t for t in left if t.is_alive()], "a jobs scheduler thread started in this module is still running"


# --- Homes built from nothing --------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Parametrize a test over both metadata backends (use the `any_platform` fixture)."""
    if request.param == "postgres" and not POSTGRES_URL:
        pytest.skip("THRESHOLD_TEST_POSTGRES_URL not set (make test starts a local PostgreSQL)")
    return str(request.param)


def _make_platform(home: Path, backend: str) -> Iterator[Platform]:
    """A new, initialised home built from nothing (admin only); closed (and its database dropped) after."""
    url = _pool().take() if backend == "postgres" else None
    platform = Platform.open(home, must_exist=False, **({"database_url": url} if url else {}))
    platform.init()
    ensure_admin(platform)
    try:
        yield platform
    finally:
        platform.close()
        if url:
            _pool().give_back(url)


# --- Homes built once per session, copied per test ------------------------------------------------


class PreparedHomes:
    """The test homes built once per session, backend and warehouse (local, or on S3 for the S3 variants of
    tests/s3homes.py), at rest; every test gets a copy of its own
    (homes are relocatable, issue 11). Kinds: `empty` (admin only), `org` (the organisation of `Org`),
    and every fixture registered in `prepared.BUILDERS` (built on a copy of `org`).

    The copy of a SQLite home is a copy of its folder (the metadata file is in it); the copy of a
    PostgreSQL home is a copy of its folder plus a database created from the prepared one as template
    (`CREATE DATABASE x TEMPLATE y` copies files, no SQL is replayed), made ahead and dropped after on a
    background thread (`pgpool.DatabasePool`). A copy never writes into the
    prepared home, so a test may change its copy freely. Builders run with cheap password hashing."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._built: dict[tuple[str, str, bool], tuple[Path, str | None, object]] = {}
        """(kind, backend, on S3) -> the prepared home, its database (PostgreSQL) and what its builder
        returned: a home prepared with the warehouse on S3 is copied only for S3 variants, and the other
        only for tests on local disk."""
        self._copies: weakref.WeakKeyDictionary[Platform, tuple[str, object]] = weakref.WeakKeyDictionary()
        """Each open copy -> its kind and its builder's result."""
        self._templates: list[str] = []
        self._bases: dict[str, str] = {}
        """Each home made by `prepare` -> the home it was built on."""

    @staticmethod
    def kind_for(request: pytest.FixtureRequest, org_fixture: str) -> str:
        """Which home a test's `platform` (or `any_platform`) is a copy of: the one of the single
        registered fixture the test uses, else `org` when it uses `org_fixture`, else `empty`."""
        if org_fixture not in request.fixturenames:
            return "empty"
        info = getattr(getattr(request, "_pyfuncitem", None), "_fixtureinfo", None)
        defs = info.name2fixturedefs if info is not None else {}
        wanted = set()
        for name in request.fixturenames:
            if defs.get(name):  # the definition the test uses (the innermost one)
                build = BUILDERS.get(f"{defs[name][-1].func.__module__}:{name}")
                if build is not None:
                    wanted.add(kind(build))
        return wanted.pop() if len(wanted) == 1 else "org"

    def _prepare(self, kind: str, backend: str) -> tuple[Path, str | None, object]:
        key = (kind, backend, s3homes.active())
        if key not in self._built:
            self._built[key] = self._build(kind, backend)
        return self._built[key]

    def _build(self, kind: str, backend: str) -> tuple[Path, str | None, object]:
        """Build the home once: the same calls the tests made before, with cheap password hashing."""
        from argon2 import PasswordHasher, profiles

        from threshold.identity import service as identity

        s3 = "_s3" if s3homes.active() else ""
        where = Path(tempfile.mkdtemp(prefix=f"{kind.rsplit('.', 1)[-1]}_{backend}{s3}_", dir=self.root))
        build = {prepared.kind(b): b for b in BUILDERS.values()}.get(kind)
        hasher, identity._hasher = identity._hasher, PasswordHasher.from_parameters(profiles.CHEAPEST)
        try:
            if build is None:
                url = _postgres_database() if backend == "postgres" else None
                platform = Platform.open(where / "home", must_exist=False, **({"database_url": url} if url else {}))
                try:
                    platform.init()
                    ensure_admin(platform)
                    result: object = _build_org(platform, where) if kind == "org" else None
                finally:
                    platform.close()
            else:
                platform, url = self._open_copy("org", backend, where / "home")
                try:
                    result = build(_org_of(platform, where, self), where)
                finally:
                    platform.close()
        finally:
            identity._hasher = hasher
        if url:
            self._templates.append(url)
        return where / "home", url, result

    def _open_copy(self, kind: str, backend: str, dest: Path, **settings: Any) -> tuple[Platform, str | None]:
        home, template, result = self._prepare(kind, backend)
        url = _pool().take(template) if template else None
        try:
            shutil.copytree(home, dest, symlinks=True)
            storage = s3homes.overrides(dest, copied=True)
            platform = Platform.open(dest, **storage, **({"database_url": url} if url else {}), **settings)
            # The copied warehouse is stamped with the prepared home's store: claim it for the copy, as
            # `threshold init` does, so that the copy is in the state of a home built where it is (a
            # PostgreSQL template cannot even be asked whether it still uses the warehouse).
            from threshold import home as homes

            homes.claim(platform.settings, platform.store)
        except BaseException:
            if url:
                _pool().give_back(url)
            raise
        self._copies[platform] = (kind, result)
        return platform, url

    def copy(self, kind: str, backend: str, dest: Path, **settings: Any) -> Iterator[Platform]:
        """A copy of the prepared home `kind` at `dest`, open (with `settings` for this opening, as
        `Platform.open` takes them); closed (its database dropped) after."""
        platform, url = self._open_copy(kind, backend, dest, **settings)
        try:
            yield platform
        finally:
            platform.close()
            if url:
                _pool().give_back(url)

    def copy_org(self, kind: str, backend: str, tmp: Path) -> Iterator[tuple[Org, Any]]:
        """A copy of the home of the registered fixture `kind` at `tmp/home`: (its `Org`, what its
        builder returned, still to be rebound to the copy); closed after (for module-scoped fixtures)."""
        for platform in self.copy(kind, backend, tmp / "home"):
            yield _org_of(platform, tmp, self), self._copies[platform][1]

    def adopt(self, org: Org, build: prepared.Build) -> bool:
        """When `org`'s home is a copy of the home of `build` (which returned the org it added to), take
        over what the builder set on that org (people, ids) and say so; else False: build."""
        built = self.result(org.platform, build)
        if built is None:
            return False
        for name, value in vars(built).items():
            if name not in ("platform", "plant_kpis_csv"):  # people are the same in the copy
                setattr(org, name, value)
        return True

    def prepare(self, kind: str, backend: str, build: Callable[[Platform], object], base: str = "empty") -> object:
        """Make the home `kind` once per session and backend, unless made already: `build(platform)` on a
        copy of the home `base` (`empty`, `org`, or one made here before); then `copy(kind, ...)` copies it.
        What `build` returned (kept with the home: plain data, such as snapshot ids)."""
        key = (kind, backend, s3homes.active())
        if key not in self._built:
            assert base in ("empty", "org") or (base, *key[1:]) in self._built, f"{base} is not prepared"
            s3 = "_s3" if key[2] else ""
            where = Path(tempfile.mkdtemp(prefix=f"{kind.rsplit('.', 1)[-1]}_{backend}{s3}_", dir=self.root))
            platform, url = self._open_copy(base, backend, where / "home")
            try:
                result = build(platform)
            finally:
                platform.close()
            if url:
                self._templates.append(url)
            self._bases[kind] = base
            self._built[key] = (where / "home", url, result)
        return self._built[key][2]

    def people(self, platform: Platform) -> tuple[Person, Person, Person, Person]:
        """The org's admin, anna, ben and carla as `platform` (a copy of a home that holds the org) has them:
        those its build read when it is a copy of `org` itself (a `Person` is a frozen value, the copy's rows
        are the build's, ids included), else read from the copy (a registered kind's builder may have
        changed them)."""
        kind, built = self._copies.get(platform, ("empty", None))
        if kind == "org" and isinstance(built, Org):
            return built.admin, built.anna, built.ben, built.carla
        admin, anna, ben, carla = (get_person(platform, name) for name in (ADMIN, "anna", "ben", "carla"))
        return admin, anna, ben, carla

    def is_org(self, platform: Platform) -> bool:
        """Whether `platform` is a copy of a home that holds the org (`org`, a registered kind, or a home
        `prepare` built on one of them)."""
        kind = self._copies.get(platform, ("empty", None))[0]
        while kind in self._bases:
            kind = self._bases[kind]
        return kind != "empty"

    def result(self, platform: Platform, build: prepared.Build) -> Any:
        """What `build` returned when `platform` is a copy of its home, else None (then the fixture builds
        on the platform it got)."""
        kind, result = self._copies.get(platform, ("empty", None))
        return result if kind == prepared.kind(build) else None

    def close(self) -> None:
        for url in self._templates:
            _pool().discard(url)  # dropped after the run, with its copies (`DatabasePool.close`)


@pytest.fixture(scope="session")
def prepared_homes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PreparedHomes]:
    """The session's `PreparedHomes` (each built on first use)."""
    prepared = PreparedHomes(tmp_path_factory.mktemp("prepared"))
    yield prepared
    prepared.close()


def copy_home(home: Path, dest: Path, **overrides: object) -> Platform:
    """Copy a SQLite home at rest (its platform closed) as `cp -a` does, and open the copy.

    Homes are relocatable: build an organisation once, copy it for every test that changes it. The
    copy reads and writes only its own files; the original is never touched."""
    shutil.copytree(home, dest, symlinks=True)
    return Platform.open(dest, **s3homes.overrides(dest, copied=True), **overrides)


@pytest.fixture(name="copy_home")
def copy_home_fixture():  # -> (home: Path, dest: Path, **settings) -> Platform
    """`copy_home(home, dest)`: a copy of a home at rest, opened (see `copy_home`)."""
    return copy_home


@pytest.fixture
def platform(request: pytest.FixtureRequest, tmp_path: Path, prepared_homes: PreparedHomes) -> Iterator[Platform]:
    """An empty, initialised home on SQLite (admin only); the home of `org` when the test uses `org`.

    A copy of a home prepared once per session: the test may change it."""
    yield from prepared_homes.copy(prepared_homes.kind_for(request, "org"), "sqlite", tmp_path / "home")


@pytest.fixture
def any_platform(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str, prepared_homes: PreparedHomes
) -> Iterator[Platform]:
    """An empty, initialised home on SQLite and on PostgreSQL (the same test runs on both); the home of
    `any_org` when the test uses `any_org`."""
    yield from prepared_homes.copy(prepared_homes.kind_for(request, "any_org"), backend, tmp_path / "home")


def _org_of(platform: Platform, tmp_path: Path, prepared: PreparedHomes) -> Org:
    """The `Org` of a copy of a prepared home that holds it (built here when `platform` is not one: a
    test module that puts its own `platform` in place)."""
    if not prepared.is_org(platform):
        return _build_org(platform, tmp_path)
    csv = tmp_path / "plant_kpis.csv"
    csv.write_text(PLANT_KPIS_CSV, encoding="utf-8")
    return Org(platform, *prepared.people(platform), csv)


@pytest.fixture
def org(platform: Platform, tmp_path: Path, prepared_homes: PreparedHomes) -> Org:
    return _org_of(platform, tmp_path, prepared_homes)


@pytest.fixture
def any_org(any_platform: Platform, tmp_path: Path, prepared_homes: PreparedHomes) -> Org:
    """`org` on SQLite and on PostgreSQL."""
    return _org_of(any_platform, tmp_path, prepared_homes)


# --- What a failed share must leave untouched (tests/sharing/test_share*.py) ---------------------

STORE_TABLES = ("datasets", "columns", "tags", "shares")
"""Metadata tables a share writes to."""


@dataclass(frozen=True)
class HomeState:
    """Everything a share can change, as seen from outside: compare before and after a failure."""

    datasets: tuple[str, ...]
    """Dataset names the catalog lists."""
    store_rows: dict[str, int]
    """Row count of each table in `STORE_TABLES`."""
    lake_tables: tuple[str, ...]
    """Every table of the Iceberg catalog, `namespace.name`."""
    staging: tuple[str, ...]
    """Whatever is left in the staging folder."""


def home_state(platform: Platform) -> HomeState:
    from threshold.catalog.search import search

    catalog = platform.lake.catalog
    with platform.store.engine.connect() as c:
        rows = {t: int(c.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in STORE_TABLES}
    tables = [".".join(t) for ns in catalog.list_namespaces() for t in catalog.list_tables(ns)]
    staging = platform.settings.staging_dir
    left = [str(p.relative_to(staging)) for p in staging.rglob("*")] if staging.exists() else []
    return HomeState(
        datasets=tuple(d["name"] for d in search(platform, per_page=1000).results),
        store_rows=rows,
        lake_tables=tuple(sorted(tables)),
        staging=tuple(sorted(left)),
    )


@pytest.fixture
def state_of():  # -> (Platform) -> HomeState
    """`state_of(platform)`: the `HomeState` of a home, to compare before and after a failed share."""
    return home_state


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty metadata database: a SQLite file, or a fresh PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    url = _pool().take()
    try:
        yield url
    finally:
        _pool().give_back(url)


# --- One organisation per test module (tests/gateway, tests/api) ----------------------------------


@pytest.fixture(scope="module")
def module_org(tmp_path_factory: pytest.TempPathFactory, prepared_homes: PreparedHomes) -> Iterator[Org]:
    """`org` built once per test module (SQLite), shared by the module's tests: for the many tests
    that only read (building an org takes most of a second); they must not change what others read."""
    tmp = tmp_path_factory.mktemp("module_org")
    for platform in prepared_homes.copy("org", "sqlite", tmp / "home"):
        yield _org_of(platform, tmp, prepared_homes)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def module_any_org(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, prepared_homes: PreparedHomes
) -> Iterator[Org]:
    """`module_org` on SQLite and on PostgreSQL (the module's tests run once per backend)."""
    if request.param == "postgres" and not POSTGRES_URL:
        pytest.skip("THRESHOLD_TEST_POSTGRES_URL not set (make test starts a local PostgreSQL)")
    tmp = tmp_path_factory.mktemp(f"module_org_{request.param}")
    for platform in prepared_homes.copy("org", str(request.param), tmp / "home"):
        yield _org_of(platform, tmp, prepared_homes)


# --- A real HTTP server for the app (uvicorn in a thread) -------------------------------------------


@contextmanager
def serving(app: object, **config: object) -> Iterator[str]:
    """`with serving(app) as url:` the ASGI app over real HTTP, uvicorn in a thread; stopped after.

    The socket is bound and listening before uvicorn starts, so a client may connect at once (the
    kernel holds the connection until uvicorn accepts it): nothing polls for the server to be up.

    The app's lifespan collects garbage over the whole heap before it freezes it (api/app.py): in a test
    process that heap is the session's (a million objects and more late in a run), a full collection of
    0.3-2 s with the GIL held for every served app. Frozen first, that collection walks only what was made
    since; the lifespan's unfreeze at shutdown hands everything back to the collector, as `gc.unfreeze()`
    here does when the lifespan is off."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", **config))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn-test", daemon=True)
    gc.freeze()
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
        gc.unfreeze()
    assert not thread.is_alive(), "uvicorn did not stop"


@pytest.fixture(scope="session")
def serve() -> Callable[..., AbstractContextManager[str]]:
    """`with serve(app, lifespan="off") as url:` see `serving`."""
    return serving
