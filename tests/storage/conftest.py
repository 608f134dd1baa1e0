"""A home whose warehouse is on a real S3-compatible server (moto_server, started by
scripts/test-services.sh and named by THRESHOLD_TEST_S3_ENDPOINT); each home in its own prefix."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orgs import PLANT_KPIS_CSV, Org, _build_org
from threshold.identity.service import ADMIN, ensure_admin, get_person
from threshold.platform import Platform

S3_ENDPOINT = os.environ.get("THRESHOLD_TEST_S3_ENDPOINT")
BUCKET = "threshold-tests"
KEY_ID, SECRET = "threshold-test-key", "threshold-test-secret-value"


def s3_storage(prefix: str, **overrides: Any) -> dict[str, Any]:
    """The `storage` settings of a home on the test server, in `prefix`."""
    return {
        "kind": "s3",
        "endpoint": S3_ENDPOINT,
        "bucket": BUCKET,
        "prefix": prefix,
        "access_key_id": KEY_ID,
        "secret_access_key": SECRET,
        **overrides,
    }


@pytest.fixture(scope="session")
def s3_bucket() -> str:
    if not S3_ENDPOINT:
        pytest.skip("THRESHOLD_TEST_S3_ENDPOINT not set (scripts/test-services.sh starts moto_server)")
    # The bucket: an operator creates it once (Threshold never does); here the test does.
    _fs().create_dir(BUCKET)
    return BUCKET


def _fs() -> Any:
    """The test server, as the tests' own client (allowed to create the bucket)."""
    from urllib.parse import urlparse

    from pyarrow.fs import S3FileSystem

    return S3FileSystem(
        access_key=KEY_ID,
        secret_key=SECRET,
        endpoint_override=urlparse(S3_ENDPOINT or "").netloc,
        scheme="http",
        allow_bucket_creation=True,
    )


@pytest.fixture
def s3_prefix(s3_bucket: str) -> str:
    return f"t/{uuid.uuid4().hex[:12]}"


def open_s3_home(home: Path, prefix: str) -> Platform:
    platform = Platform.open(home, must_exist=False, storage=s3_storage(prefix))
    platform.init()
    ensure_admin(platform)
    return platform


@pytest.fixture(scope="session")
def s3_org_at_rest(tmp_path_factory: pytest.TempPathFactory, s3_bucket: str) -> tuple[Path, str]:
    """The home of `s3_org` and `module_s3_org`, built once per session and closed: (its folder, its prefix).
    Never opened again: every user gets a copy."""
    tmp = tmp_path_factory.mktemp("s3_org_at_rest")
    prefix = f"t/{uuid.uuid4().hex[:12]}"
    platform = open_s3_home(tmp / "home", prefix)
    try:
        _build_org(platform, tmp)
    finally:
        platform.close()
    return tmp / "home", prefix


def _copy_of(at_rest: tuple[Path, str], tmp_path: Path, to_prefix: str) -> Iterator[Org]:
    """The org of a copy of `at_rest` in `tmp_path` (its folder copied, its objects copied on the server into
    `to_prefix`, the copy's warehouse claimed as `threshold init` does); closed after."""
    from pyarrow.fs import FileSelector, FileType

    from threshold import home as homes

    home, prefix = at_rest
    fs = _fs()
    for info in fs.get_file_info(FileSelector(f"{BUCKET}/{prefix}", recursive=True)):
        if info.type == FileType.File:
            fs.copy_file(info.path, f"{BUCKET}/{to_prefix}/{info.path[len(BUCKET) + len(prefix) + 2 :]}")
    shutil.copytree(home, tmp_path / "home", symlinks=True)
    platform = Platform.open(tmp_path / "home", storage=s3_storage(to_prefix))
    try:
        homes.claim(platform.settings, platform.store)
        csv = tmp_path / "plant_kpis.csv"
        csv.write_text(PLANT_KPIS_CSV, encoding="utf-8")
        yield Org(platform, *(get_person(platform, name) for name in (ADMIN, "anna", "ben", "carla")), csv)
    finally:
        platform.close()


@pytest.fixture
def s3_org(tmp_path: Path, s3_prefix: str, s3_org_at_rest: tuple[Path, str]) -> Iterator[Org]:
    """The organisation of `org` (tests/conftest.py), its warehouse on the S3 server: a copy of
    `s3_org_at_rest` in `s3_prefix`, so the test may change it freely."""
    yield from _copy_of(s3_org_at_rest, tmp_path, s3_prefix)


@pytest.fixture(scope="module")
def module_s3_org(tmp_path_factory: pytest.TempPathFactory, s3_org_at_rest: tuple[Path, str]) -> Iterator[Org]:
    """`s3_org` once per test module (a copy of `s3_org_at_rest`, as building it on the S3 server costs about
    a second), for the tests that only read it; they must not change what the others read."""
    yield from _copy_of(s3_org_at_rest, tmp_path_factory.mktemp("module_s3_org"), f"t/{uuid.uuid4().hex[:12]}")
