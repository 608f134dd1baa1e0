"""Where the warehouse's files are kept: the local folder, or an S3-compatible object store.

Every file of the lake is named by its path in the warehouse folder (`settings.warehouse_dir`), on
either kind of storage: the Path is the file's name. What is done to a file — listing, stat, removal,
making a written file durable, fetching one to read — goes through `WarehouseFiles`, which does it on
the local disk, or on the object store (`S3Files`, through `pyarrow.fs.S3FileSystem`).

With an object store the warehouse folder is this machine's cache of it. Writers keep writing their
Parquet files into the folder; `Lake.commit` uploads them (`put`) before the Iceberg commit names
them, so a snapshot never names a file the store does not hold. pyiceberg writes metadata, manifests
and its own data files straight to the store (the catalog's FileIO). Readers `fetch` a file into the
cache once: Iceberg never changes a file in place, so a cached copy is never stale. The gateway's
DuckDB then reads the cache exactly as it reads a local warehouse, locked to that folder with
external access off: user SQL reaches the object store no more than it reaches the disk.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from threshold.errors import ThresholdError, TransientError
from threshold.localcache import LocalCache, Pin
from threshold.settings import Settings, StorageSettings

if TYPE_CHECKING:
    from pyarrow.fs import FileSystem


class StoreUnavailable(TransientError):
    """The object store did not answer (network, timeout, overload): trying again can help."""


class StoreRefused(ThresholdError):
    """The object store refused a call (credentials, missing bucket, permissions): the settings must change."""


_REFUSALS = ("accessdenied", "invalidaccesskeyid", "signaturedoesnotmatch", "nosuchbucket", "forbidden")


class WarehouseFiles:
    """The files of a warehouse kept in its local folder (the default: one machine)."""

    remote = False

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def uri(self) -> str:
        """The warehouse root as pyiceberg's FileIO reaches it."""
        return self.root.as_uri()

    def io_properties(self) -> dict[str, str]:
        """Catalog properties the FileIO needs to reach the storage."""
        return {}

    def describe(self) -> str:
        """Where the files are, for messages (never a secret)."""
        return str(self.root)

    def failed(self, doing: str, e: OSError) -> ThresholdError:
        """The one-line error of a storage call that failed."""
        return TransientError(f"the warehouse {self.describe()} failed to {doing}: {e}")

    def put(self, paths: Sequence[Path]) -> None:
        """Make files written into the warehouse folder durable in the storage (before a commit names them)."""

    def pin(self, paths: Iterable[Path]) -> Pin:
        """Keep the local copies of `paths` from being evicted until the pin is released (a query pins its
        plan's files before fetching them, until its stream closes). Nothing to keep on local disk."""
        return Pin(None, ())

    def fetch(self, path: Path) -> Path:
        """A local copy of a warehouse file to read (the file itself, here)."""
        return path

    def download(self, path: Path, dest: Path) -> None:
        """Copy a warehouse file to `dest` outside the warehouse (a backup); FileNotFoundError when it is not held."""
        import shutil

        shutil.copyfile(path, dest)

    def stat(self, path: Path, *, stored: bool = False) -> tuple[int, float] | None:
        """(size, modification time) of a held file, None when it is not held. `stored`: only what the storage
        itself holds (with an object store, a copy only this machine's cache holds does not count)."""
        try:
            st = path.lstat()
        except OSError:
            return None
        return st.st_size, st.st_mtime

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def read_small(self, path: Path) -> bytes | None:
        """The bytes of a small file kept in the storage itself (the home's stamp); None when it is absent."""
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def write_small(self, path: Path, body: bytes) -> None:
        """Replace a small file in the storage atomically: a crash leaves the old one or the new one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
        with open(tmp, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def holds_anything(self) -> bool:
        """Whether the warehouse holds any table's files (a warehouse without a stamp must not)."""
        if not self.root.is_dir():
            return False
        return any(not p.name.startswith(".") for p in self.root.iterdir())

    def listing(self, folder: Path) -> list[Path]:
        """Every file held under `folder` (a table's folder, its `metadata/`)."""
        if not folder.is_dir():
            return []
        return [p for p in folder.rglob("*") if p.is_file()]

    def table_folders(self) -> list[str]:
        """`domain.name` of every table folder held."""
        if not self.root.is_dir():
            return []
        return sorted(
            f"{d.name}.{t.name}"
            for d in self.root.iterdir()
            if d.is_dir() and not d.name.startswith(".")
            for t in d.iterdir()
            if t.is_dir()
        )


class S3Files(WarehouseFiles):
    """The files of a warehouse kept in an S3-compatible object store; the warehouse folder is the cache."""

    remote = True

    def __init__(self, root: Path, storage: StorageSettings, *, grace_seconds: float = 3600.0) -> None:
        super().__init__(root)
        self.settings = storage
        self.base = "/".join(p for p in (storage.bucket, storage.prefix) if p)
        self._fs: FileSystem | None = None
        self.cache = LocalCache(root, storage.cache_max_bytes, grace_seconds)
        """This machine's copies: their byte bound and the pins of running queries (`threshold.localcache`)."""

    @property
    def uri(self) -> str:
        return f"s3://{self.base}"

    def describe(self) -> str:
        where = f" at {self.settings.endpoint}" if self.settings.endpoint else ""
        return f"s3://{self.base}{where}"

    def io_properties(self) -> dict[str, str]:
        s = self.settings
        props = {
            "s3.region": s.region,
            "s3.force-virtual-addressing": "false" if s.path_style else "true",
            "s3.connect-timeout": str(s.timeout_seconds),
            "s3.request-timeout": str(s.timeout_seconds),
        }
        if s.endpoint:
            props["s3.endpoint"] = s.endpoint
        if s.access_key_id.get_secret_value():
            props["s3.access-key-id"] = s.access_key_id.get_secret_value()
            props["s3.secret-access-key"] = s.secret_access_key.get_secret_value()
        return props

    @property
    def fs(self) -> FileSystem:
        if self._fs is None:
            from pyarrow.fs import S3FileSystem

            s = self.settings
            kwargs: dict[str, Any] = {
                "region": s.region,
                "connect_timeout": s.timeout_seconds,
                "request_timeout": s.timeout_seconds,
                "force_virtual_addressing": not s.path_style,
            }
            if s.endpoint:
                url = urlparse(s.endpoint)
                kwargs["endpoint_override"] = url.netloc or url.path
                kwargs["scheme"] = url.scheme or "https"
            if s.access_key_id.get_secret_value():
                kwargs["access_key"] = s.access_key_id.get_secret_value()
                kwargs["secret_key"] = s.secret_access_key.get_secret_value()
            self._fs = S3FileSystem(**kwargs)
        return self._fs

    def key(self, path: Path) -> str:
        rel = path.relative_to(self.root).as_posix()
        return self.base if rel == "." else f"{self.base}/{rel}"

    def failed(self, doing: str, e: OSError) -> ThresholdError:
        reason = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        flat = reason.lower().replace(" ", "").replace("_", "")
        if any(r in flat for r in _REFUSALS):
            return StoreRefused(
                f"the object store {self.describe()} refused to {doing}: {reason}; nothing was changed: check "
                "THRESHOLD_STORAGE__BUCKET and the access key (THRESHOLD_STORAGE__ACCESS_KEY_ID)"
            )
        return StoreUnavailable(f"the object store {self.describe()} failed to {doing}: {reason}; try again")

    def put(self, paths: Sequence[Path]) -> None:
        from pyarrow.fs import LocalFileSystem, copy_files

        done: list[Path] = []
        try:
            for p in paths:
                copy_files(str(p), self.key(p), source_filesystem=LocalFileSystem(), destination_filesystem=self.fs)
                done.append(p)
        except OSError as e:
            for p in done:  # a failed upload leaves nothing in the store
                self._delete(p)
            raise self.failed(f"store {len(paths)} file(s)", e) from e
        self.cache.added(paths)  # uploaded: a copy the bound may evict now

    def pin(self, paths: Iterable[Path]) -> Pin:
        return self.cache.pin(paths)

    def fetch(self, path: Path) -> Path:
        for _ in range(3):
            self._fetch(path)
            if self.cache.hold(path):
                return path
        raise StoreUnavailable(
            f"this machine's cache of {self.describe()} keeps losing {path.relative_to(self.root)} "
            "(storage.cache_max_bytes too small for the queries running?); try again"
        )

    def download(self, path: Path, dest: Path) -> None:
        from pyarrow.fs import FileType, LocalFileSystem, copy_files

        key = self.key(path)
        try:
            if self.fs.get_file_info(key).type == FileType.NotFound:
                raise FileNotFoundError(f"{path.relative_to(self.root)} is not in {self.describe()}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            part = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
            try:
                copy_files(key, str(part), source_filesystem=self.fs, destination_filesystem=LocalFileSystem())
                os.replace(part, dest)  # readers never see half a file
            finally:
                part.unlink(missing_ok=True)
        except FileNotFoundError:
            raise
        except OSError as e:
            raise self.failed(f"read {path.relative_to(self.root)}", e) from e

    def _fetch(self, path: Path) -> None:
        """Download `path` unless the cache holds it."""
        if path.is_file():
            return
        self.download(path, path)
        with self.cache.pin([path]):  # the bound never evicts the copy just fetched for its reader
            self.cache.added([path])

    def stat(self, path: Path, *, stored: bool = False) -> tuple[int, float] | None:
        from pyarrow.fs import FileType

        try:
            info = self.fs.get_file_info(self.key(path))
        except OSError as e:
            raise self.failed(f"look up {path.relative_to(self.root)}", e) from e
        if info.type != FileType.File:
            return None if stored else super().stat(path)  # a copy left in this machine's cache only
        mtime = info.mtime.timestamp() if info.mtime is not None else 0.0
        return int(info.size or 0), mtime

    def _delete(self, path: Path) -> None:
        try:
            self.fs.delete_file(self.key(path))
        except FileNotFoundError:
            pass

    def remove(self, path: Path) -> None:
        try:
            self._delete(path)
        except OSError as e:
            raise self.failed(f"remove {path.relative_to(self.root)}", e) from e
        path.unlink(missing_ok=True)

    def read_small(self, path: Path) -> bytes | None:
        try:
            with self.fs.open_input_stream(self.key(path)) as f:
                return bytes(f.read())
        except FileNotFoundError:
            return None
        except OSError as e:
            raise self.failed(f"read {path.relative_to(self.root)}", e) from e

    def write_small(self, path: Path, body: bytes) -> None:
        try:  # one PUT: an object is replaced whole or not at all
            with self.fs.open_output_stream(self.key(path)) as f:
                f.write(body)
        except OSError as e:
            raise self.failed(f"write {path.relative_to(self.root)}", e) from e

    def holds_anything(self) -> bool:
        return bool(self.table_folders())

    def listing(self, folder: Path) -> list[Path]:
        from pyarrow.fs import FileSelector, FileType

        try:
            infos = self.fs.get_file_info(FileSelector(self.key(folder), recursive=True, allow_not_found=True))
        except OSError as e:
            raise self.failed(f"list {folder.relative_to(self.root)}", e) from e
        start = len(self.base) + 1
        held = {self.root / info.path[start:] for info in infos if info.type == FileType.File}
        # Copies only this machine's cache holds (of files the store no longer has) are held too: the
        # clean-up and an erasure's verification must see them.
        held.update(p for p in super().listing(folder) if not _partial(p))
        return sorted(held)

    def table_folders(self) -> list[str]:
        from pyarrow.fs import FileSelector, FileType

        try:
            infos = self.fs.get_file_info(FileSelector(self.base, recursive=True, allow_not_found=True))
        except OSError as e:
            raise self.failed("list the warehouse", e) from e
        start = len(self.base) + 1
        names = set()
        for info in infos:
            parts = info.path[start:].split("/")
            if info.type == FileType.File and len(parts) > 2 and not parts[0].startswith("."):
                names.add(f"{parts[0]}.{parts[1]}")
        return sorted(names)


def _partial(path: Path) -> bool:
    """A download in progress (`fetch` writes `.<name>.<id>.part`, then renames it)."""
    return path.name.startswith(".") and path.name.endswith(".part")


def open_files(settings: Settings) -> WarehouseFiles:
    """The warehouse's files as the settings place them."""
    if settings.storage.kind == "s3":
        return S3Files(settings.warehouse_dir, settings.storage, grace_seconds=settings.cleanup_grace_minutes * 60)
    return WarehouseFiles(settings.warehouse_dir)
