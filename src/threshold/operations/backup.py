"""`threshold backup DEST`: a consistent copy of a running home, with a manifest of checksums.

Consistent and online: the metadata store (which also holds the Iceberg catalog) is copied in one
snapshot — SQLite's backup API, or `pg_dump` inside a repeatable-read transaction whose snapshot
is also used to read the catalog — while shares go on. The warehouse files that catalog state
references are then copied (or hard-linked; with the warehouse on an object store, downloaded from
the store into the backup, so the backup holds the objects and needs nothing of the bucket): Iceberg
never changes a file once written, so the files are exactly those of that moment. While copying, the
backup holds the home's deletion lock, so snapshot expiry cannot remove a file it still has to copy.
`backup.json`, written last, lists every file with its size and SHA-256, and every dataset with its
published snapshot and rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from threshold import disk, locks, warehouse
from threshold.errors import InvalidInput, ThresholdError
from threshold.identity.service import Person
from threshold.lakefiles import inventory
from threshold.operations.permissions import must_operate_home
from threshold.platform import Platform
from threshold.storage import WarehouseFiles

MANIFEST = "backup.json"
FORMAT = "threshold-backup"
VERSION = 1
SKIP_IN_HOME = {
    "threshold.db",
    "threshold.db-wal",
    "threshold.db-shm",
    "staging",
    "spill",
    "locks",
    "warehouse",
    "journal",
    "run",
}
"""What of the home folder is not copied as it is: the store (copied consistently), the warehouse
(copied by reference), scratch space, the usage journal (flushed into the store first), and the resident
query helpers' sockets and logs (`run/`)."""

Progress = Callable[[str, int, int], None]


@dataclass
class BackupResult:
    path: str
    home_id: str
    store: str
    datasets: int
    files: int
    bytes: int
    linked: int
    missing: list[str] = field(default_factory=list)
    """Files the catalog names that the home does not have (see `threshold doctor`)."""
    seconds: float = 0.0


@dataclass
class _Catalog:
    """The catalog state the backup holds: table -> metadata pointer, dataset -> published snapshot."""

    pointers: dict[str, str]
    datasets: dict[str, dict[str, Any]]
    home_id: str


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 * 1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def copy_file(src: Path, dest: Path, *, link: bool) -> tuple[str, int, bool]:
    """Copy (or hard-link) `src` to `dest`; returns (sha256, size, linked). A failed copy leaves no file.
    The copy reaches the disk with `sync_folder` once everything is copied (one flush, not one per file)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if link:
        try:
            os.link(src, dest)
            return sha256_of(dest), dest.stat().st_size, True
        except OSError:
            pass  # another file system: copy instead
    h = hashlib.sha256()
    size = 0
    try:
        with open(src, "rb") as fin, open(dest, "wb") as fout:
            while chunk := fin.read(4 * 1024 * 1024):
                h.update(chunk)
                fout.write(chunk)
                size += len(chunk)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    shutil.copystat(src, dest)
    return h.hexdigest(), size, False


def backup(
    platform: Platform, person: Person, dest: Path, *, link: bool = False, progress: Progress | None = None
) -> BackupResult:
    """Back up the home into the new folder `dest` (see the module's docstring)."""
    must_operate_home(person, "back up the home")
    started = time.perf_counter()
    dest = dest.expanduser().resolve()
    settings = platform.settings
    if dest == settings.home_dir or settings.home_dir in dest.parents or settings.warehouse_dir in dest.parents:
        raise InvalidInput(f"back up to a folder outside the home ({settings.home_dir}), e.g. on another disk")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InvalidInput(f"{dest} exists and is not empty; back up into a new folder")
    report = progress or (lambda phase, done, total: None)
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    from threshold.usage.service import flush

    flush(platform)  # usage events on their way to the store are in the copy too
    try:
        with locks.deletions(platform, exclusive=True):
            report("metadata", 0, 1)
            with _metadata(platform, dest) as (catalog, store_kind, metadata_file):
                report("metadata", 1, 1)
                manifest = _copy_lake(platform, dest, catalog, link=link, report=report)
        manifest |= {
            "warehouse": platform.lake.files.describe(),
            "format": FORMAT,
            "version": VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "home_id": catalog.home_id,
            "store": store_kind,
            "metadata": metadata_file,
        }
        manifest["home_files"] = _copy_home_files(platform, dest)
        sync_folder(dest)  # every copied file on disk before the manifest says the backup is complete
        _write_json(dest / MANIFEST, manifest)
    except BaseException as e:
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        else:
            for p in dest.iterdir():
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        if isinstance(e, OSError) and disk.is_full(e):
            raise disk.full_error(dest, "the backup folder", need=_lake_bytes(platform)) from e
        raise
    files = manifest["files"]
    return BackupResult(
        path=str(dest),
        home_id=catalog.home_id,
        store=store_kind,
        datasets=len(manifest["datasets"]),
        files=len(files),
        bytes=sum(f["size"] for f in files.values()),
        linked=manifest["linked"],
        missing=manifest["missing"],
        seconds=round(time.perf_counter() - started, 3),
    )


def _lake_bytes(platform: Platform) -> int:
    from threshold.staging import folder_size

    return folder_size(platform.settings.warehouse_dir)


@contextmanager
def _metadata(platform: Platform, dest: Path) -> Iterator[tuple[_Catalog, str, str]]:
    """Copy the metadata store in one consistent snapshot; yield the catalog state of that snapshot."""
    settings = platform.settings
    if settings.is_sqlite:
        source = Path(make_url(settings.db_url).database or "")
        target = dest / "threshold.db"
        src = sqlite3.connect(str(source), timeout=settings.lock_timeout_seconds)
        dst = sqlite3.connect(str(target))
        try:
            src.backup(dst)  # one step: a read transaction on a WAL database never blocks writers
        finally:
            dst.close()
            src.close()
        engine = _sqlite_engine(target)
        try:
            with engine.connect() as c:
                yield _read_catalog(c), "sqlite", target.name
        finally:
            engine.dispose()
        return
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise ThresholdError(
            "pg_dump is not installed, and a PostgreSQL home is backed up with it: install the PostgreSQL "
            "client tools of the server's version (Debian: apt install postgresql-client)"
        )
    with platform.store.engine.connect() as c:
        c.execute(text("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        snapshot = c.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        catalog = _read_catalog(c)
        url, env = _libpq(settings.db_url)
        done = subprocess.run(
            [
                pg_dump,
                "--format=custom",
                "--no-owner",
                f"--snapshot={snapshot}",
                "--file",
                str(dest / "metadata.pgdump"),
            ]
            + [url],
            env=env,
            capture_output=True,
            text=True,
            timeout=24 * 3600,
        )
        c.execute(text("COMMIT"))
    if done.returncode != 0:
        raise ThresholdError(f"pg_dump failed: {_first_line(done.stderr)}")
    yield catalog, "postgresql", "metadata.pgdump"


def _sqlite_engine(path: Path) -> Any:
    from sqlalchemy import create_engine

    return create_engine(f"sqlite:///{path}")


def _libpq(db_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL for pg_dump / pg_restore, the password passed in the environment, never on the command line."""
    url = make_url(db_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _first_line(text_: str) -> str:
    lines = [line for line in text_.strip().splitlines() if line.strip()]
    return lines[0][:300] if lines else "no message"


def _read_catalog(c: Connection) -> _Catalog:
    try:
        rows = c.execute(
            text(
                "SELECT table_namespace, table_name, metadata_location FROM iceberg_tables "
                "WHERE catalog_name = 'threshold'"
            )
        ).all()
    except Exception:
        rows = []  # a home nothing was ever shared into has no catalog tables yet
    pointers = {f"{ns}.{name}": str(loc) for ns, name, loc in rows if loc}
    datasets = {
        str(name): {"snapshot_id": sid, "rows": int(rows_ or 0), "id": int(did)}
        for did, name, sid, rows_ in c.execute(
            text("SELECT id, full_name, snapshot_id, row_count FROM datasets WHERE snapshot_id IS NOT NULL")
        )
    }
    home_id = str(c.execute(text("SELECT id FROM home_identity")).scalar_one())
    return _Catalog(pointers, datasets, home_id)


def _copy_lake(platform: Platform, dest: Path, catalog: _Catalog, *, link: bool, report: Progress) -> dict[str, Any]:
    lake = platform.lake
    root = platform.settings.warehouse_dir
    files: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    datasets: list[dict[str, Any]] = []
    linked = 0
    tables = sorted(catalog.pointers.items())
    for i, (name, pointer) in enumerate(tables):
        report("files", i, len(tables))
        try:
            table = lake.load_at(name, pointer)
        except FileNotFoundError:
            missing.append(pointer)
            continue
        inv = inventory(lake, table)
        for path in sorted(inv.paths()):
            rel = warehouse.relative_to_root(str(path), root)
            if rel is None:
                missing.append(str(path))
                continue
            if rel in files:
                continue
            if lake.files.remote:
                try:  # straight from the object store into the backup (this machine's cache is no authority)
                    digest, size = _download(lake.files, path, dest / "warehouse" / rel)
                except FileNotFoundError:
                    missing.append(rel)
                    continue
                files[rel] = {"size": size, "sha256": digest}
                continue
            if not path.exists():
                missing.append(rel)
                continue
            digest, size, was_linked = copy_file(path, dest / "warehouse" / rel, link=link)
            files[rel] = {"size": size, "sha256": digest}
            linked += int(was_linked)
        ds = catalog.datasets.get(name)
        if ds is not None:
            sid = int(ds["snapshot_id"])
            live = sorted(
                warehouse.relative_to_root(str(ref.path), root) or str(ref.path)
                for ref in inv.data.values()
                if sid in ref.snapshots
            )
            datasets.append(
                {
                    "name": name,
                    "snapshot_id": str(sid),
                    "rows": ds["rows"],
                    "files": live,
                    "checksum": _dataset_checksum(live, files),
                }
            )
    report("files", len(tables), len(tables))
    return {"files": files, "missing": missing, "datasets": datasets, "linked": linked}


def _download(files: WarehouseFiles, path: Path, dest: Path) -> tuple[str, int]:
    """Copy an object of the store into the backup; its (sha256, size)."""
    files.download(path, dest)
    return sha256_of(dest), dest.stat().st_size


def _dataset_checksum(live: list[str], files: dict[str, dict[str, Any]]) -> str:
    """One checksum over the dataset's published data: the SHA-256 of its files' SHA-256s, in order."""
    h = hashlib.sha256()
    for rel in live:
        h.update((files.get(rel, {}).get("sha256") or "missing").encode())
    return h.hexdigest()


def _copy_home_files(platform: Platform, dest: Path) -> dict[str, dict[str, Any]]:
    """The rest of the home (server secret, quarantined files, ...), each with its checksum."""
    home = platform.settings.home_dir
    out: dict[str, dict[str, Any]] = {}
    for top in sorted(home.iterdir()):
        if top.name in SKIP_IN_HOME or top.resolve() == platform.settings.warehouse_dir:
            continue
        for path in [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file()):
            rel = path.relative_to(home).as_posix()
            digest, size, _ = copy_file(path, dest / "home" / rel, link=False)
            out[rel] = {"size": size, "sha256": digest}
    return out


def sync_folder(path: Path) -> None:
    """Flush everything written to the file system holding `path` (Linux `syncfs`; elsewhere `sync`)."""
    import ctypes

    fd = os.open(path, os.O_RDONLY)
    try:
        syncfs = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
        if syncfs is None or syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
