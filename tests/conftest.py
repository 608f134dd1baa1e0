"""Shared fixtures: a real Threshold home (SQLite, or PostgreSQL when marked) with a small organisation.

`org` builds: admin; domains manufacturing (owner anna), finance (owner ben), sales;
people anna (manufacturing), ben (finance), carla (sales); one dataset manufacturing.plant_kpis.
Passwords are '<name>-pass'.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from threshold.identity.service import ADMIN, Person, add_domain, add_user, ensure_admin, get_person, join_domain
from threshold.platform import Platform

POSTGRES_URL = os.environ.get("THRESHOLD_TEST_POSTGRES_URL")

PLANT_KPIS_CSV = """Plant,Operator Name,E-Mail,Scrap Rate,Energy kWh,Day
Berlin,Anna Schmidt,anna.schmidt@example.com,0.12,1520.5,2026-01-03
Lyon,Jean Dupont,jean.dupont@example.fr,0.08,980.25,2026-01-04
Berlin,Max Müller,max.mueller@example.de,0.15,1610.0,2026-01-05
Porto,Ana Silva,ana.silva@example.pt,0.05,700.75,2026-01-05
Lyon,Claire Martin,claire.martin@example.fr,0.11,1010.0,2026-01-06
"""


def _postgres_database() -> str:
    """A fresh database on the test server for one test; dropped afterwards by the fixture."""
    assert POSTGRES_URL
    name = f"thr_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"


def _drop_postgres_database(url: str) -> None:
    assert POSTGRES_URL
    name = url.rsplit("/", 1)[1]
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Parametrize a test over both metadata backends (use the `any_platform` fixture)."""
    if request.param == "postgres" and not POSTGRES_URL:
        pytest.skip("THRESHOLD_TEST_POSTGRES_URL not set (make test starts a local PostgreSQL)")
    return str(request.param)


def _make_platform(home: Path, backend: str) -> Iterator[Platform]:
    url = _postgres_database() if backend == "postgres" else None
    platform = Platform.open(home, must_exist=False, **({"database_url": url} if url else {}))
    platform.init()
    ensure_admin(platform)
    try:
        yield platform
    finally:
        platform.close()
        if url:
            _drop_postgres_database(url)


def copy_home(home: Path, dest: Path, **overrides: object) -> Platform:
    """Copy a SQLite home at rest (its platform closed) as `cp -a` does, and open the copy.

    Homes are relocatable: build an organisation once, copy it for every test that changes it. The
    copy reads and writes only its own files; the original is never touched."""
    import shutil

    shutil.copytree(home, dest, symlinks=True)
    return Platform.open(dest, **overrides)


@pytest.fixture(name="copy_home")
def copy_home_fixture():  # -> (home: Path, dest: Path, **settings) -> Platform
    """`copy_home(home, dest)`: a copy of a home at rest, opened (see `copy_home`)."""
    return copy_home


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    """An empty, initialised home on SQLite (admin only)."""
    yield from _make_platform(tmp_path / "home", "sqlite")


@pytest.fixture
def any_platform(tmp_path: Path, backend: str) -> Iterator[Platform]:
    """An empty, initialised home on SQLite and on PostgreSQL (the same test runs on both)."""
    yield from _make_platform(tmp_path / "home", backend)


@dataclass
class Org:
    platform: Platform
    admin: Person
    anna: Person
    ben: Person
    carla: Person
    plant_kpis_csv: Path


def _build_org(platform: Platform, tmp_path: Path) -> Org:
    from threshold.sharing.service import share

    for name in ("anna", "ben", "carla"):
        add_user(platform, name, display_name=name.title(), password=f"{name}-pass")
    add_domain(platform, "manufacturing", owners=("anna",))
    add_domain(platform, "finance", owners=("ben",))
    add_domain(platform, "sales")
    join_domain(platform, "carla", "sales")
    csv = tmp_path / "plant_kpis.csv"
    csv.write_text(PLANT_KPIS_CSV, encoding="utf-8")
    share(
        platform,
        csv,
        domain="manufacturing",
        user=get_person(platform, "anna"),
        description="Daily KPIs per plant: scrap rate, energy",
        purpose="plant performance reporting",
    )
    return Org(
        platform,
        get_person(platform, ADMIN),
        get_person(platform, "anna"),
        get_person(platform, "ben"),
        get_person(platform, "carla"),
        csv,
    )


@pytest.fixture
def org(platform: Platform, tmp_path: Path) -> Org:
    return _build_org(platform, tmp_path)


@pytest.fixture
def any_org(any_platform: Platform, tmp_path: Path) -> Org:
    """`org` on SQLite and on PostgreSQL."""
    return _build_org(any_platform, tmp_path)


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
    url = _postgres_database()
    try:
        yield url
    finally:
        _drop_postgres_database(url)


# --- One organisation per test module (tests/gateway, tests/api) ----------------------------------


@pytest.fixture(scope="module")
def module_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    """`org` built once per test module (SQLite), shared by the module's tests: for the many tests
    that only read (building an org takes most of a second); they must not change what others read."""
    tmp = tmp_path_factory.mktemp("module_org")
    for platform in _make_platform(tmp / "home", "sqlite"):
        yield _build_org(platform, tmp)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def module_any_org(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    """`module_org` on SQLite and on PostgreSQL (the module's tests run once per backend)."""
    if request.param == "postgres" and not POSTGRES_URL:
        pytest.skip("THRESHOLD_TEST_POSTGRES_URL not set (make test starts a local PostgreSQL)")
    tmp = tmp_path_factory.mktemp(f"module_org_{request.param}")
    for platform in _make_platform(tmp / "home", str(request.param)):
        yield _build_org(platform, tmp)
