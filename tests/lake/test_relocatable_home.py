"""A home works wherever it is put, and only there.

Locations are stored relative to the warehouse, so a home copied with `cp -a`, moved, or whose
warehouse was moved (PostgreSQL: the warehouse path is a setting) reads and writes its own files.
The original of a copy is never touched, byte for byte. A home refuses a warehouse stamped with
another home's id, and a copy of a store refuses the warehouse its original still uses.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa

from threshold.errors import ThresholdError
from threshold.gateway.service import query
from threshold.home import STAMP, ForeignWarehouse
from threshold.identity.service import ADMIN, add_domain, get_person
from threshold.lakefiles import inventory
from threshold.platform import Platform
from threshold.sharing.service import share
from threshold.warehouse import OutsideWarehouse


def _fingerprint(folder: Path) -> dict[str, str]:
    """Every file under `folder` with its SHA-256: equal fingerprints mean byte-for-byte the same tree."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _rows(platform: Platform, sql: str) -> list[dict]:
    return query(platform, sql, user=get_person(platform, ADMIN)).table.to_pylist()


def _append(platform: Platform, rows: int) -> None:
    frame = pa.table(
        {
            "plant": [f"Plant {i}" for i in range(rows)],
            "operator_name": ["x"] * rows,
            "e_mail": ["x@example.com"] * rows,
            "scrap_rate": [0.1] * rows,
            "energy_kwh": [1.0] * rows,
            "day": [None] * rows,
        }
    )
    share(
        platform,
        _like_plant_kpis(platform, frame),
        domain="manufacturing",
        name="plant_kpis",
        mode="append",
        user=get_person(platform, "anna"),
    )


def _like_plant_kpis(platform: Platform, frame: pa.Table) -> pa.Table:
    """`frame` cast to the dataset's own Arrow schema (so the append fits without --evolve)."""
    schema = platform.lake.load("manufacturing.plant_kpis").schema().as_arrow()
    return pa.table({f.name: frame.column(f.name).cast(f.type) for f in schema}, schema=schema)


@pytest.fixture
def closed_org(org: Any) -> Any:
    """The org with its platform closed, as a home at rest is before it is copied."""
    org.platform.close()
    return org


def test_a_copied_home_reads_and_appends_there_and_the_original_is_untouched_byte_for_byte(
    closed_org: Any, tmp_path: Path, copy_home
) -> None:
    original = closed_org.platform.settings.home_dir
    before = _fingerprint(original)

    copy = copy_home(original, tmp_path / "elsewhere" / "copy")
    assert _rows(copy, "SELECT count(*) AS n FROM manufacturing.plant_kpis") == [{"n": 5}]
    _append(copy, 3)
    assert _rows(copy, "SELECT count(*) AS n FROM manufacturing.plant_kpis") == [{"n": 8}]
    copy.close()

    assert _fingerprint(original) == before
    reopened = Platform.open(original)
    try:
        assert _rows(reopened, "SELECT count(*) AS n FROM manufacturing.plant_kpis") == [{"n": 5}]
    finally:
        reopened.close()


def test_every_stored_location_is_relative_to_the_warehouse(org: Any) -> None:
    platform = org.platform
    _append(platform, 2)
    home = str(platform.settings.home_dir)
    with platform.store.engine.connect() as c:
        pointers = c.execute(sa.text("SELECT metadata_location, previous_metadata_location FROM iceberg_tables")).all()
    assert pointers and all(p is None or p.startswith("warehouse://") for row in pointers for p in row)
    table = platform.lake.load("manufacturing.plant_kpis")
    inv = inventory(platform.lake, table)
    assert len(inv.data) == 2 and all(ref.location.startswith("warehouse://") for ref in inv.data.values())
    for metadata_file in (platform.settings.warehouse_dir / "manufacturing" / "plant_kpis" / "metadata").glob("*.json"):
        assert home not in metadata_file.read_text(), f"{metadata_file.name} names the home's absolute path"
    assert table.metadata.location == "warehouse://manufacturing/plant_kpis"


def test_a_moved_home_works_at_its_new_path(closed_org: Any, tmp_path: Path) -> None:
    original = closed_org.platform.settings.home_dir
    moved = tmp_path / "moved"
    shutil.move(original, moved)

    platform = Platform.open(moved)
    try:
        _append(platform, 4)
        assert _rows(platform, "SELECT count(*) AS n FROM manufacturing.plant_kpis") == [{"n": 9}]
        assert json.loads((moved / "warehouse" / STAMP).read_text())["store"] == str(moved / "threshold.db")
    finally:
        platform.close()


def test_a_copy_of_the_store_refuses_to_write_into_the_original_warehouse(closed_org: Any, tmp_path: Path) -> None:
    original = closed_org.platform.settings.home_dir
    copy = tmp_path / "store-only"
    copy.mkdir()
    shutil.copy2(original / "threshold.db", copy / "threshold.db")
    before = _fingerprint(original)

    platform = Platform.open(copy, warehouse=original / "warehouse")
    try:
        assert _rows(platform, "SELECT count(*) AS n FROM manufacturing.plant_kpis") == [{"n": 5}]
        with pytest.raises(ForeignWarehouse, match="of which this store .* is a copy; a copy needs its own warehouse"):
            _append(platform, 1)
    finally:
        platform.close()
    assert _fingerprint(original) == before


def test_a_home_refuses_the_warehouse_of_another_home(closed_org: Any, tmp_path: Path) -> None:
    other = Platform.open(tmp_path / "other", must_exist=False)
    other.init()
    other.close()
    theirs = closed_org.platform.settings.home_dir / "warehouse"
    before = _fingerprint(theirs)

    platform = Platform.open(tmp_path / "other", warehouse=theirs)
    try:
        with pytest.raises(ForeignWarehouse, match="belongs to another Threshold home") as refused:
            platform.lake.exists("manufacturing.plant_kpis")
        assert str(theirs) in str(refused.value)
        with pytest.raises(ForeignWarehouse):
            platform.init()  # init never takes another home's warehouse
    finally:
        platform.close()
    assert _fingerprint(theirs) == before


def test_an_unstamped_warehouse_with_tables_is_refused_until_init_claims_it(closed_org: Any) -> None:
    home = closed_org.platform.settings.home_dir
    (home / "warehouse" / STAMP).unlink()

    platform = Platform.open(home)
    try:
        with pytest.raises(ForeignWarehouse, match="holds files but no home stamp.*threshold init"):
            platform.lake.load("manufacturing.plant_kpis")
    finally:
        platform.close()
    platform = Platform.open(home)
    try:
        platform.init()
        assert _rows(platform, "SELECT count(*) AS n FROM manufacturing.plant_kpis") == [{"n": 5}]
    finally:
        platform.close()


def test_nothing_is_written_outside_the_warehouse(platform: Platform, tmp_path: Path) -> None:
    """A table whose location is absolute and elsewhere (as a home from before relocation, copied) is refused."""
    add_domain(platform, "d")
    outside = tmp_path / "outside"
    platform.lake.catalog.create_namespace_if_not_exists("d")
    with pytest.raises(OutsideWarehouse, match="outside this home's warehouse"):
        platform.lake.catalog.create_table("d.stray", schema=pa.schema([("a", pa.int64())]), location=outside.as_uri())
    assert not outside.exists()
    assert not platform.lake.exists("d.stray")


@pytest.mark.postgres
def test_a_postgresql_home_follows_its_warehouse_setting(any_org: Any, tmp_path: Path, backend: str) -> None:
    """PostgreSQL keeps the catalog; the warehouse is a folder named by a setting. Moved, it is found there."""
    if backend != "postgres":
        pytest.skip("the SQLite home is covered by the copy tests")
    platform = any_org.platform
    url = platform.settings.database_url
    old = platform.settings.warehouse_dir
    platform.close()
    new = tmp_path / "new-warehouse"
    shutil.copytree(old, new, symlinks=True)
    before = _fingerprint(old)

    moved = Platform.open(platform.settings.home_dir, database_url=url, warehouse=new)
    try:
        assert _rows(moved, "SELECT count(*) AS n FROM manufacturing.plant_kpis") == [{"n": 5}]
        with pytest.raises(ForeignWarehouse, match="still exists; a store has one warehouse.*threshold init"):
            _append(moved, 2)
        moved.init()  # the operator says: this is its new place
        assert _rows(moved, "SELECT count(*) AS n FROM manufacturing.plant_kpis") == [{"n": 5}]
        _append(moved, 2)
        assert _rows(moved, "SELECT count(*) AS n FROM manufacturing.plant_kpis") == [{"n": 7}]
    finally:
        moved.close()
    assert _fingerprint(old) == before
    assert any(p.name.endswith(".parquet") for p in new.rglob("*")) and len(_fingerprint(new)) > len(before)


def test_errors_of_the_home_check_are_threshold_errors() -> None:
    assert issubclass(ForeignWarehouse, ThresholdError) and issubclass(OutsideWarehouse, ThresholdError)
