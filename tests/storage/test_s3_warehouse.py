"""The warehouse on an S3-compatible object store (moto_server): share, query, append, derive, expire and
erase work as on local disk; the store holds every file a snapshot names, and nothing a failed or
expired write left; the gateway reads through this machine's cache without opening external access."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import inspect, text

from orgs import PLANT_KPIS_CSV, Org
from storage.conftest import BUCKET, S3_ENDPOINT, SECRET, s3_storage
from threshold.errors import Denied, InvalidInput, ThresholdError
from threshold.gateway.service import query
from threshold.lineage.derive import derive
from threshold.operations.maintenance import expire
from threshold.platform import Platform
from threshold.sharing import service as sharing
from threshold.sharing.service import share
from threshold.storage import S3Files, StoreRefused

KPIS = "manufacturing.plant_kpis"
BY_PLANT = f"SELECT plant, count(*) AS n, round(sum(energy_kwh), 2) AS kwh FROM {KPIS} GROUP BY plant ORDER BY plant"


def objects(platform: Platform, under: str = "") -> set[str]:
    """Keys in the home's prefix (relative to it), read from the server, not the cache."""
    files = platform.lake.files
    assert isinstance(files, S3Files)
    return {p.relative_to(files.root).as_posix() for p in files.listing(files.root / under) if _in_store(files, p)}


def _in_store(files: S3Files, path: Path) -> bool:
    from pyarrow.fs import FileType

    return files.fs.get_file_info(files.key(path)).type == FileType.File


def rows(org: Org, sql: str, who: Any = None) -> list[dict[str, Any]]:
    return query(org.platform, sql, user=who or org.anna, max_rows=None).table.to_pylist()


def drop_cache(platform: Platform) -> None:
    """Forget this machine's copies: what is read next comes from the object store."""
    for d in platform.settings.warehouse_dir.iterdir():
        if d.is_dir():
            shutil.rmtree(d)
    for ident in platform.lake.identifiers():
        platform.lake.forget(ident)


def test_a_share_lands_in_the_object_store_and_reads_back_through_the_gateway(module_s3_org: Org) -> None:
    """Reads only (dropping the cache changes no answer): the module's org."""
    s3_org = module_s3_org
    p = s3_org.platform
    held = objects(p, "manufacturing/plant_kpis")
    assert any(k.startswith("manufacturing/plant_kpis/data/") and k.endswith(".parquet") for k in held)
    assert any(k.startswith("manufacturing/plant_kpis/metadata/") and k.endswith(".metadata.json") for k in held)
    # The catalog stores locations relative to the warehouse, never the bucket's address.
    table = p.lake.load(KPIS)
    assert table.metadata_location.startswith("warehouse://manufacturing/plant_kpis/metadata/")
    expected = [
        {"plant": "Berlin", "n": 2, "kwh": 3130.5},
        {"plant": "Lyon", "n": 2, "kwh": 1990.25},
        {"plant": "Porto", "n": 1, "kwh": 700.75},
    ]
    assert rows(s3_org, BY_PLANT) == expected
    drop_cache(p)
    assert not any(p.settings.warehouse_dir.rglob("*.parquet"))
    assert rows(s3_org, BY_PLANT) == expected  # fetched from the store into the cache
    assert any(p.settings.warehouse_dir.rglob("*.parquet"))


def test_append_and_derive_write_to_the_store_and_a_second_machine_reads_them(s3_org: Org, tmp_path: Path) -> None:
    p = s3_org.platform
    csv = tmp_path / "more.csv"
    csv.write_text(PLANT_KPIS_CSV, encoding="utf-8")
    share(p, csv, domain="manufacturing", name="plant_kpis", mode="append", user=s3_org.anna)
    assert rows(s3_org, f"SELECT count(*) AS n FROM {KPIS}") == [{"n": 10}]
    result = derive(
        p,
        "plant_scrap",
        domain="manufacturing",
        user=s3_org.anna,
        sql=f"SELECT plant, avg(scrap_rate) AS avg_scrap FROM {KPIS} GROUP BY plant",
    )
    assert (result.status, result.rows) == ("ok", 3)
    assert any(k.endswith(".parquet") for k in objects(p, "manufacturing/plant_scrap/data"))
    derived = "SELECT plant, round(avg_scrap, 3) AS s FROM manufacturing.plant_scrap ORDER BY plant"
    assert rows(s3_org, derived) == [
        {"plant": "Berlin", "s": 0.135},
        {"plant": "Lyon", "s": 0.095},
        {"plant": "Porto", "s": 0.05},
    ]
    # Another machine: the same metadata store and bucket, an empty cache of its own.
    url = p.settings.database_url or f"sqlite:///{p.settings.home_dir / 'threshold.db'}"
    other = Platform.open(
        p.settings.home_dir,
        warehouse=tmp_path / "other-cache",
        database_url=url,
        storage=s3_storage(p.settings.storage.prefix),
    )
    try:
        got = query(other, derived, user=s3_org.anna, max_rows=None).table.to_pylist()
    finally:
        other.close()
    assert got == rows(s3_org, derived)


def test_expire_removes_the_objects_only_expired_snapshots_read(tmp_path: Path, s3_prefix: str) -> None:
    platform = Platform.open(
        tmp_path / "home", must_exist=False, storage=s3_storage(s3_prefix), operations={"time_travel_days": 1}
    )
    try:
        from orgs import _build_org

        platform.init()
        from threshold.identity.service import ensure_admin

        ensure_admin(platform)
        org = _build_org(platform, tmp_path)
        csv = tmp_path / "again.csv"
        csv.write_text(PLANT_KPIS_CSV.replace("Berlin", "Bonn"), encoding="utf-8")
        share(platform, csv, domain="manufacturing", name="plant_kpis", mode="replace", user=org.anna)
        data_before = objects(platform, "manufacturing/plant_kpis/data")
        assert len(data_before) == 2
        result = expire(platform, org.admin, KPIS, now=datetime.now(UTC) + timedelta(days=3))
        assert result.removed_files >= 2 and len(result.expired) == 1
        data_after = objects(platform, "manufacturing/plant_kpis/data")
        assert len(data_after) == 1 and data_after < data_before
        assert rows(org, f"SELECT count(*) AS n FROM {KPIS} WHERE plant = 'Bonn'") == [{"n": 2}]
    finally:
        platform.close()


def test_compaction_reads_from_the_store_and_uploads_its_merged_file(s3_org: Org, tmp_path: Path) -> None:
    from threshold.operations.maintenance import compact

    p = s3_org.platform
    csv = tmp_path / "more.csv"
    csv.write_text(PLANT_KPIS_CSV, encoding="utf-8")
    share(p, csv, domain="manufacturing", name="plant_kpis", mode="append", user=s3_org.anna)
    drop_cache(p)  # compaction must fetch what it merges
    result = compact(p, s3_org.admin, KPIS)
    assert (result.files_before, result.files_after) == (2, 1)
    assert len(objects(p, "manufacturing/plant_kpis/data")) == 3  # the old two stay for time travel
    drop_cache(p)
    assert rows(s3_org, BY_PLANT) == [
        {"plant": "Berlin", "n": 4, "kwh": 6261.0},
        {"plant": "Lyon", "n": 4, "kwh": 3980.5},
        {"plant": "Porto", "n": 2, "kwh": 1401.5},
    ]


def test_an_erasure_leaves_no_value_in_any_object(s3_org: Org, tmp_path: Path) -> None:
    from threshold.erasure import service as erasure
    from threshold.erasure import values
    from threshold.erasure.subjects import parse
    from threshold.identity.service import add_user, get_person

    p = s3_org.platform
    add_user(p, "greta", governance=True, password="greta-pass")
    greta = get_person(p, "greta")
    subject = ["personal.email=anna.schmidt@example.com"]
    shown = erasure.plan(p, greta, subject)
    assert [i.dataset for i in shown.to_erase] == [KPIS]
    cert = erasure.erase(p, greta, subject, reason="request 1", confirm=shown.token)
    assert (cert.status, cert.remaining, cert.verification["found"]) == ("completed", [], [])
    files = p.lake.files
    assert isinstance(files, S3Files)
    parquet = [k for k in objects(p, "manufacturing/plant_kpis") if k.endswith(".parquet")]
    assert len(parquet) == 1
    for key in parquet:  # decoded straight from the store
        with files.fs.open_input_file(files.key(files.root / key)) as f:
            assert values.tables_hold(pq.read_table(f), parse(subject)) == []
    assert rows(s3_org, f"SELECT count(*) AS n FROM {KPIS}", who=s3_org.admin) == [{"n": 4}]


def test_a_share_that_fails_after_its_upload_leaves_no_object_behind(
    module_s3_org: Org, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_org = module_s3_org  # the failed shares must leave it as it was (checked here): the module's org
    p = s3_org.platform
    before = objects(p)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ThresholdError("refused at publishing (test fault)")

    monkeypatch.setattr(sharing, "_publish", refuse)
    csv = tmp_path / "new.csv"
    csv.write_text(PLANT_KPIS_CSV, encoding="utf-8")
    with pytest.raises(ThresholdError, match="test fault"):
        share(p, csv, domain="manufacturing", name="fresh", user=s3_org.anna)
    with pytest.raises(ThresholdError, match="test fault"):
        share(p, csv, domain="manufacturing", name="plant_kpis", mode="append", user=s3_org.anna)
    assert objects(p, "manufacturing/fresh") == set()
    after = objects(p)
    data = {k for k in after if "/data/" in k}
    assert data == {k for k in before if "/data/" in k}
    assert not p.lake.exists("manufacturing.fresh")
    assert rows(s3_org, f"SELECT count(*) AS n FROM {KPIS}") == [{"n": 5}]


def test_a_missing_bucket_is_refused_in_one_line_that_never_shows_the_secret(tmp_path: Path, s3_prefix: str) -> None:
    from threshold.identity.service import add_domain, ensure_admin, get_person

    platform = Platform.open(
        tmp_path / "home", must_exist=False, storage=s3_storage(s3_prefix, bucket="no-such-bucket-here")
    )
    try:
        with pytest.raises(StoreRefused) as at_init:  # `threshold init` reads and writes the stamp in the bucket
            platform.init()
        ensure_admin(platform)
        add_domain(platform, "d")
        csv = tmp_path / "x.csv"
        csv.write_text(PLANT_KPIS_CSV, encoding="utf-8")
        with pytest.raises(StoreRefused) as e:
            share(platform, csv, domain="d", user=get_person(platform, "admin"))
        for refused in (at_init, e):
            message = str(refused.value)
            assert "\n" not in message and SECRET not in message and "no-such-bucket-here" in message
        assert not platform.lake.exists("d.x")
    finally:
        platform.close()
    assert SECRET not in repr(platform.settings) and SECRET not in str(platform.settings.model_dump())


def test_a_store_that_does_not_answer_is_a_transient_one_line_error_and_nothing_is_created(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a local port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    from threshold.identity.service import add_domain, ensure_admin, get_person
    from threshold.storage import StoreUnavailable

    platform = Platform.open(
        tmp_path / "home", must_exist=False, storage=s3_storage("p", endpoint=closed, timeout_seconds=1)
    )
    try:
        with pytest.raises(StoreUnavailable, match="try again") as at_init:
            platform.init()
        ensure_admin(platform)
        add_domain(platform, "d")
        csv = tmp_path / "x.csv"
        csv.write_text(PLANT_KPIS_CSV, encoding="utf-8")
        with pytest.raises(StoreUnavailable, match="try again") as e:
            share(platform, csv, domain="d", user=get_person(platform, "admin"))
        for failed in (at_init, e):
            assert "\n" not in str(failed.value) and SECRET not in str(failed.value)
        with platform.store.engine.connect() as c:  # the catalog (itself unreachable now) holds no table
            assert (
                "iceberg_tables" not in inspect(c).get_table_names()
                or not c.execute(text("SELECT count(*) FROM iceberg_tables")).scalar()
            )
        assert not list(platform.settings.staging_dir.glob("*/*.parquet"))
    finally:
        platform.close()


def test_the_s3_settings_are_checked() -> None:
    from threshold.settings import Settings

    with pytest.raises(InvalidInput, match="BUCKET"):
        Settings(storage={"kind": "s3"})
    with pytest.raises(InvalidInput, match="PREFIX"):
        Settings(storage={"kind": "s3", "bucket": BUCKET, "prefix": "a/../b"})
    assert Settings().storage.kind == "local"


@pytest.mark.parametrize(
    "sql",
    [
        f"SELECT * FROM read_parquet('s3://{BUCKET}/t/x.parquet')",
        "SELECT * FROM read_parquet('{cache}/manufacturing/plant_kpis/data/*.parquet')",
        "SELECT * FROM '{cache}/manufacturing/plant_kpis/data/x.parquet'",
        "INSTALL httpfs",
        "SELECT * FROM glob('{cache}/*')",
    ],
)
def test_user_sql_reaches_neither_the_store_nor_the_cache(module_s3_org: Org, sql: str) -> None:
    s3_org = module_s3_org  # refused queries change nothing: the module's org
    cache = str(s3_org.platform.settings.warehouse_dir)
    with pytest.raises((Denied, InvalidInput, ThresholdError)) as e:
        rows(s3_org, sql.replace("{cache}", cache))
    # Refused by a wall, and never naming where the store is (the person may only echo what they typed).
    assert S3_ENDPOINT is not None and S3_ENDPOINT not in str(e.value) and "\n" not in str(e.value)
