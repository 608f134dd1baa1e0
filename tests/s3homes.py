"""The behaviour suite with the warehouse on the local S3 server: `THRESHOLD_TEST_WAREHOUSE=s3`.

Every test home then keeps its warehouse in a prefix of its own on the server named by
THRESHOLD_TEST_S3_ENDPOINT (scripts/test-services.sh starts it), recorded in the home as `PREFIX_FILE`.
A copy of a home (the session's prepared homes are copied per test) gets a new prefix holding a
server-side copy of the original's objects, so a test never touches another's files; opening a home
in-process again finds its prefix. Homes opened by a subprocess (CLI tests) do not: those tests fail
in this mode, which says nothing about the object store.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ENABLED = os.environ.get("THRESHOLD_TEST_WAREHOUSE", "local") == "s3"
ENDPOINT = os.environ.get("THRESHOLD_TEST_S3_ENDPOINT", "")
BUCKET = "threshold-suite"
KEY_ID, SECRET = "threshold-test-key", "threshold-test-secret-value"
PREFIX_FILE = ".test-s3-prefix"


def _fs() -> Any:
    from pyarrow.fs import S3FileSystem

    url = urlparse(ENDPOINT)
    return S3FileSystem(
        access_key=KEY_ID,
        secret_key=SECRET,
        endpoint_override=url.netloc,
        scheme=url.scheme,
        allow_bucket_creation=True,
    )


def storage(prefix: str) -> dict[str, Any]:
    return {
        "kind": "s3",
        "endpoint": ENDPOINT,
        "bucket": BUCKET,
        "prefix": prefix,
        "access_key_id": KEY_ID,
        "secret_access_key": SECRET,
    }


def overrides(home: Path, *, copied: bool = False) -> dict[str, Any]:
    """The `storage` setting of `home` (nothing unless enabled): its own prefix, a new one for a new home,
    and for a `copied` home a new one holding a copy of the original's objects."""
    if not ENABLED:
        return {}
    if not ENDPOINT:
        raise RuntimeError("THRESHOLD_TEST_WAREHOUSE=s3 needs THRESHOLD_TEST_S3_ENDPOINT (scripts/test-services.sh)")
    marker = Path(home) / PREFIX_FILE
    old = marker.read_text().strip() if marker.is_file() else None
    if old is not None and not copied:
        return {"storage": storage(old)}
    prefix = f"suite/{uuid.uuid4().hex[:16]}"
    if old is not None:
        from pyarrow.fs import FileSelector, FileType

        fs = _fs()
        for info in fs.get_file_info(FileSelector(f"{BUCKET}/{old}", recursive=True, allow_not_found=True)):
            if info.type == FileType.File:
                fs.copy_file(info.path, f"{BUCKET}/{prefix}/{info.path[len(BUCKET) + len(old) + 2 :]}")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(prefix)
    return {"storage": storage(prefix)}


def install() -> None:
    """Create the bucket, and make `Platform.open` of a test home use its prefix unless told otherwise."""
    if not ENABLED:
        return
    if not ENDPOINT:
        raise RuntimeError("THRESHOLD_TEST_WAREHOUSE=s3 needs THRESHOLD_TEST_S3_ENDPOINT (scripts/test-services.sh)")
    _fs().create_dir(BUCKET)
    from threshold.platform import Platform

    plain = Platform.open.__func__  # type: ignore[attr-defined]

    def open_on_s3(cls: type[Platform], home: Any = None, **kwargs: Any) -> Platform:
        if home is not None and "storage" not in kwargs:
            kwargs.update(overrides(Path(home)))
        return plain(cls, home, **kwargs)  # type: ignore[no-any-return]

    Platform.open = classmethod(open_on_s3)  # type: ignore[method-assign, assignment]


def subprocess_env(settings: Any) -> dict[str, str]:
    """`THRESHOLD_STORAGE__*` for a `threshold` subprocess on a home opened with `settings` (its prefix
    included); nothing for a home on local disk."""
    s = settings.storage
    if s.kind != "s3":
        return {}
    return {
        "THRESHOLD_STORAGE__KIND": "s3",
        "THRESHOLD_STORAGE__ENDPOINT": s.endpoint,
        "THRESHOLD_STORAGE__BUCKET": s.bucket,
        "THRESHOLD_STORAGE__PREFIX": s.prefix,
        "THRESHOLD_STORAGE__ACCESS_KEY_ID": s.access_key_id.get_secret_value(),
        "THRESHOLD_STORAGE__SECRET_ACCESS_KEY": s.secret_access_key.get_secret_value(),
    }
