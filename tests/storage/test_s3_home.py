"""A home whose warehouse is on the object store: its stamp is an object in the bucket (a second home on the
same bucket and prefix is refused), and this machine's cache keeps to its byte bound without ever
evicting a file a running query reads."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from orgs import Org
from storage.conftest import s3_storage
from threshold.gateway.service import open_query, query
from threshold.home import STAMP, ForeignWarehouse
from threshold.localcache import LocalCache
from threshold.platform import Platform
from threshold.settings import StorageSettings
from threshold.sharing.service import share
from threshold.storage import S3Files

KPIS = "manufacturing.plant_kpis"


def test_the_stamp_is_an_object_in_the_bucket_and_a_second_home_there_is_refused(s3_org: Org, tmp_path: Path) -> None:
    p = s3_org.platform
    files = p.lake.files
    assert isinstance(files, S3Files)
    assert not (p.settings.warehouse_dir / STAMP).exists()  # not in this machine's cache
    body = files.read_small(files.root / STAMP)
    assert body is not None and b'"home_id"' in body
    other = Platform.open(tmp_path / "other", must_exist=False, storage=s3_storage(p.settings.storage.prefix))
    try:
        with pytest.raises(ForeignWarehouse) as refused:
            other.init()
    finally:
        other.close()
    message = str(refused.value)
    assert f"s3://{files.base}" in message and "belongs to another Threshold home" in message
    assert "THRESHOLD_STORAGE__PREFIX" in message and "\n" not in message
    assert files.read_small(files.root / STAMP) == body  # the first home's stamp is untouched
    assert len(query(p, f"SELECT * FROM {KPIS}", user=s3_org.anna).table) == 5


def _cached(platform: Platform) -> set[str]:
    root = platform.settings.warehouse_dir
    return {p.relative_to(root).parts[1] for p in root.rglob("*.parquet")}


def test_the_cache_keeps_its_bound_but_never_evicts_a_file_a_running_query_reads(s3_org: Org, tmp_path: Path) -> None:
    p = s3_org.platform
    for name in ("kpis_a", "kpis_b"):
        share(p, s3_org.plant_kpis_csv, domain="manufacturing", name=name, user=s3_org.anna)
    # Another machine of the same home, its cache bounded to 1 byte: it holds only what is being read.
    url = f"sqlite:///{p.settings.home_dir / 'threshold.db'}"
    bounded = s3_storage(p.settings.storage.prefix, cache_max_bytes=1)
    other = Platform.open(p.settings.home_dir, warehouse=tmp_path / "cache", database_url=url, storage=bounded)
    count = "SELECT count(*) AS n FROM manufacturing.{}"
    try:
        running = open_query(other, count.format("plant_kpis"), user=s3_org.anna, start=False)
        assert _cached(other) == {"plant_kpis"}  # fetched and pinned before it runs
        assert query(other, count.format("kpis_a"), user=s3_org.anna).table.to_pylist() == [{"n": 5}]
        assert _cached(other) == {"plant_kpis", "kpis_a"}  # the running query's file stayed
        with running:
            running.begin()
            assert running.read_all().to_pylist() == [{"n": 5}]
        assert query(other, count.format("kpis_b"), user=s3_org.anna).table.to_pylist() == [{"n": 5}]
        assert _cached(other) == {"kpis_b"}  # closed queries' files left, least recently used first
        files = other.lake.files
        assert isinstance(files, S3Files)
        assert files.cache.size() == sum(f.stat().st_size for f in (tmp_path / "cache").rglob("*.parquet"))
        # An evicted file is fetched again when next read.
        assert query(other, count.format("plant_kpis"), user=s3_org.anna).table.to_pylist() == [{"n": 5}]
        assert _cached(other) == {"plant_kpis"}
    finally:
        other.close()


def test_eviction_skips_a_file_another_process_reads_and_the_oldest_goes_first(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    files = []
    for i, name in enumerate(("old", "mid", "new")):
        f = root / "d" / "t" / "data" / f"{name}.parquet"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"x" * 100)
        os.utime(f, (1000 + i, 1000 + i))
        files.append(f)
    old, mid, new = files
    reader = LocalCache(root, 0, grace_seconds=0)  # another worker on this machine, its query reading `old`
    pin = reader.pin([old])
    assert reader.hold(old)
    bounded = LocalCache(root, 250, grace_seconds=0)
    assert bounded.evict() == [mid] and old.exists()  # the oldest, `old`, is locked by the reader: skipped
    assert bounded.size() == 200
    pin.release()
    newest = root / "d" / "t" / "data" / "newest.parquet"
    newest.write_bytes(b"x" * 100)
    assert bounded.added([newest]) == [old]  # unlocked now: the least recently used goes
    assert [f.exists() for f in (old, mid, new, newest)] == [False, False, True, True] and bounded.size() == 200


def test_the_cache_bound_is_a_setting_that_refuses_a_negative_value() -> None:
    assert StorageSettings(kind="s3", bucket="b").cache_max_bytes == 0  # no bound unless set
    with pytest.raises(ValueError, match="cache_max_bytes"):
        StorageSettings(kind="s3", bucket="b", cache_max_bytes=-1)


def test_a_stamp_left_in_the_cache_by_an_older_version_moves_into_the_bucket(s3_org: Org) -> None:
    p = s3_org.platform
    files = p.lake.files
    assert isinstance(files, S3Files)
    body = files.read_small(files.root / STAMP)
    assert body is not None
    files.fs.delete_file(files.key(files.root / STAMP))  # where an older version kept it: the cache folder
    (p.settings.warehouse_dir / STAMP).write_bytes(body)
    again = Platform.open(p.settings.home_dir, storage=s3_storage(p.settings.storage.prefix))
    try:
        assert len(query(again, f"SELECT * FROM {KPIS}", user=s3_org.anna).table) == 5
    finally:
        again.close()
    moved = files.read_small(files.root / STAMP)
    assert moved is not None and json.loads(moved)["home_id"] == json.loads(body)["home_id"]
    # Another home's stamp in the cache is not taken for this one's.
    files.fs.delete_file(files.key(files.root / STAMP))
    (p.settings.warehouse_dir / STAMP).write_text(json.dumps({"home_id": "someone-else"}))
    stranger = Platform.open(p.settings.home_dir, storage=s3_storage(p.settings.storage.prefix))
    try:
        with pytest.raises(ForeignWarehouse, match="holds files but no home stamp"):
            query(stranger, f"SELECT * FROM {KPIS}", user=s3_org.anna)
    finally:
        stranger.close()
    assert files.read_small(files.root / STAMP) is None
