"""A home whose warehouse is on a real S3-compatible server (moto_server, started by
scripts/test-services.sh and named by THRESHOLD_TEST_S3_ENDPOINT); each home in its own prefix."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orgs import Org, _build_org
from threshold.identity.service import ensure_admin
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
    from urllib.parse import urlparse

    from pyarrow.fs import S3FileSystem

    # The bucket: an operator creates it once (Threshold never does); here the test does.
    fs = S3FileSystem(
        access_key=KEY_ID,
        secret_key=SECRET,
        endpoint_override=urlparse(S3_ENDPOINT).netloc,
        scheme="http",
        allow_bucket_creation=True,
    )
    fs.create_dir(BUCKET)
    return BUCKET


@pytest.fixture
def s3_prefix(s3_bucket: str) -> str:
    return f"t/{uuid.uuid4().hex[:12]}"


def open_s3_home(home: Path, prefix: str) -> Platform:
    platform = Platform.open(home, must_exist=False, storage=s3_storage(prefix))
    platform.init()
    ensure_admin(platform)
    return platform


@pytest.fixture
def s3_org(tmp_path: Path, s3_prefix: str) -> Iterator[Org]:
    """The organisation of `org` (tests/conftest.py), its warehouse on the S3 server."""
    platform = open_s3_home(tmp_path / "home", s3_prefix)
    try:
        yield _build_org(platform, tmp_path)
    finally:
        platform.close()


@pytest.fixture(scope="module")
def module_s3_org(tmp_path_factory: pytest.TempPathFactory, s3_bucket: str) -> Iterator[Org]:
    """`s3_org` built once per test module, for the tests that only read it (building it on the S3 server
    costs about a second); they must not change what the others read."""
    tmp = tmp_path_factory.mktemp("module_s3_org")
    platform = open_s3_home(tmp / "home", f"t/{uuid.uuid4().hex[:12]}")
    try:
        yield _build_org(platform, tmp)
    finally:
        platform.close()
