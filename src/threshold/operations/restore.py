"""`threshold restore SRC --home NEW`: a backup becomes a new home, anywhere, and every dataset is verified.

The backup is checked first (every file against its SHA-256), then the store is restored (a SQLite
file, or `pg_restore` into an empty PostgreSQL database), the warehouse files copied (with the warehouse
on an object store: uploaded under its bucket and prefix, which must be empty; a failed restore removes
every object it put there), the store
migrated to this version's schema, and the home given a new id (it is a new home; `restored_from`
names the old one). Anything the backup caught half-done (a share committed but not yet published)
is cleaned up as at any start. Finally every dataset is read: its published snapshot, its files'
checksums and its row count must be those the backup recorded.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import inspect, select, update

from threshold import cleanup, home, warehouse
from threshold.errors import Conflict, InvalidInput, NotFound, ThresholdError
from threshold.operations.backup import (
    FORMAT,
    MANIFEST,
    Progress,
    _first_line,
    _libpq,
    copy_file,
    sha256_of,
    sync_folder,
)
from threshold.platform import Platform
from threshold.store.models import Dataset, HomeIdentity


@dataclass
class DatasetCheck:
    name: str
    snapshot_id: str
    rows_expected: int
    rows_found: int | None
    ok: bool
    problem: str | None = None


@dataclass
class RestoreResult:
    home: str
    home_id: str
    restored_from: str
    datasets: list[DatasetCheck] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(d.ok for d in self.datasets)


def read_manifest(src: Path) -> dict[str, Any]:
    path = src / MANIFEST
    if not path.is_file():
        raise NotFound(f"{src} is no complete Threshold backup: it has no {MANIFEST} (a backup writes it last)")
    try:
        manifest = json.loads(path.read_text())
    except ValueError as e:
        raise InvalidInput(f"{path} is damaged: {e}") from e
    if manifest.get("format") != FORMAT:
        raise InvalidInput(f"{path} is not a Threshold backup manifest")
    return dict(manifest)


def verify_backup(src: Path, manifest: dict[str, Any], progress: Progress | None = None) -> None:
    """Every file the manifest lists is in the backup, whole (size and SHA-256)."""
    report = progress or (lambda phase, done, total: None)
    entries = [("warehouse", rel, f) for rel, f in manifest["files"].items()]
    entries += [("home", rel, f) for rel, f in manifest.get("home_files", {}).items()]
    for i, (where, rel, f) in enumerate(entries):
        report("checking", i, len(entries))
        path = src / where / rel
        if not path.is_file():
            raise Conflict(f"the backup {src} is damaged: {where}/{rel} is missing")
        if path.stat().st_size != f["size"] or sha256_of(path) != f["sha256"]:
            raise Conflict(f"the backup {src} is damaged: {where}/{rel} does not match its checksum")
    report("checking", len(entries), len(entries))
    metadata = src / str(manifest["metadata"])
    if not metadata.is_file():
        raise Conflict(f"the backup {src} is damaged: its metadata store {metadata.name} is missing")


def restore(
    src: Path,
    home_dir: Path,
    *,
    database_url: str | None = None,
    warehouse_dir: Path | None = None,
    storage: dict[str, Any] | None = None,
    link: bool = False,
    progress: Progress | None = None,
) -> RestoreResult:
    """Restore the backup `src` as a new home at `home_dir` and verify every dataset. `storage`: where the
    warehouse's files go (the `storage` settings; default: `THRESHOLD_STORAGE__*`): with an object store,
    into its bucket and prefix, which must hold no warehouse yet."""
    started = time.perf_counter()
    src = src.expanduser().resolve()
    home_dir = home_dir.expanduser().resolve()
    manifest = read_manifest(src)
    verify_backup(src, manifest, progress)
    store_kind = manifest["store"]
    if store_kind == "sqlite" and database_url:
        raise InvalidInput("this backup holds a SQLite store; restore it without --database-url")
    if store_kind == "postgresql" and not database_url:
        raise InvalidInput("this backup holds a PostgreSQL store; give --database-url of an empty database")
    for folder in (home_dir, warehouse_dir):
        if folder is not None and folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise InvalidInput(f"{folder} exists and is not empty; restore into a new folder")
    created = [p for p in (home_dir, warehouse_dir) if p is not None and not p.exists()]
    overrides: dict[str, Any] = {}
    if database_url:
        overrides["database_url"] = database_url
    if warehouse_dir is not None:
        overrides["warehouse"] = warehouse_dir
    if storage is not None:
        overrides["storage"] = storage
    home_dir.mkdir(parents=True, exist_ok=True)
    try:
        platform = Platform.open(home_dir, must_exist=False, **overrides)
        try:
            result = _restore_into(platform, src, manifest, link=link, progress=progress)
        finally:
            platform.close()
    except BaseException:
        for p in created:
            shutil.rmtree(p, ignore_errors=True)
        raise
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _restore_into(
    platform: Platform, src: Path, manifest: dict[str, Any], *, link: bool, progress: Progress | None
) -> RestoreResult:
    files = platform.lake.files
    if files.remote and (files.read_small(files.root / home.STAMP) is not None or files.holds_anything()):
        raise InvalidInput(
            f"{files.describe()} already holds a warehouse; restore into an empty bucket or prefix "
            "(THRESHOLD_STORAGE__BUCKET, THRESHOLD_STORAGE__PREFIX)"
        )
    try:
        return _restore_files(platform, src, manifest, link=link, progress=progress)
    except BaseException:
        if files.remote:  # the prefix was empty: whatever is in it now is this restore's, half-done
            for path in files.listing(files.root):
                files.remove(path)
            files.remove(files.root / home.STAMP)
        raise


def _restore_files(
    platform: Platform, src: Path, manifest: dict[str, Any], *, link: bool, progress: Progress | None
) -> RestoreResult:
    settings = platform.settings
    report = progress or (lambda phase, done, total: None)
    if manifest["store"] == "sqlite":
        shutil.copyfile(src / manifest["metadata"], settings.home_dir / "threshold.db")
    else:
        _pg_restore(platform, src / manifest["metadata"])
    total = len(manifest["files"])
    size = 0
    for i, (rel, f) in enumerate(sorted(manifest["files"].items())):
        report("files", i, total)
        copy_file(src / "warehouse" / rel, settings.warehouse_dir / rel, link=link)
        size += f["size"]
    report("files", total, total)
    if platform.lake.files.remote:  # into the object store before anything names them
        report("uploading", 0, total)
        platform.lake.files.put([settings.warehouse_dir / rel for rel in sorted(manifest["files"])])
        report("uploading", total, total)
    for rel in manifest.get("home_files", {}):
        target = settings.home_dir / rel
        copy_file(src / "home" / rel, target, link=False)
        if rel == "secret_key":
            target.chmod(0o600)
    sync_folder(settings.warehouse_dir)
    platform.store.migrate()  # a backup of an older version: bring its schema up to this one
    new_id = str(uuid.uuid4())
    with platform.store.session() as s:
        s.execute(
            update(HomeIdentity).values(
                id=new_id,
                restored_from=manifest["home_id"],
                warehouse=platform.lake.files.uri,
                claimed_at=datetime.now(UTC),
            )
        )
    home.write_stamp(platform.lake.files, new_id, home.store_locator(settings))
    for d in (settings.staging_dir,):
        d.mkdir(parents=True, exist_ok=True)
    cleanup.sweep_home(platform)  # a share the backup caught between commit and publish
    result = RestoreResult(str(settings.home_dir), new_id, manifest["home_id"], files=total, bytes=size)
    result.datasets = verify_datasets(platform, manifest, progress)
    return result


def _pg_restore(platform: Platform, dump: Path) -> None:
    if inspect(platform.store.engine).get_table_names():
        raise InvalidInput("the database at --database-url is not empty; restore into an empty database")
    pg_restore = shutil.which("pg_restore")
    if pg_restore is None:
        raise ThresholdError(
            "pg_restore is not installed, and a PostgreSQL backup is restored with it: install the PostgreSQL "
            "client tools (Debian: apt install postgresql-client)"
        )
    url, env = _libpq(platform.settings.db_url)
    done = subprocess.run(
        [pg_restore, "--no-owner", "--exit-on-error", "--dbname", url, str(dump)],
        env=env,
        capture_output=True,
        text=True,
        timeout=24 * 3600,
    )
    if done.returncode != 0:
        raise ThresholdError(f"pg_restore failed: {_first_line(done.stderr)}")


def verify_datasets(
    platform: Platform, manifest: dict[str, Any], progress: Progress | None = None
) -> list[DatasetCheck]:
    """Read every dataset the backup recorded: same published snapshot, same files, same rows."""
    report = progress or (lambda phase, done, total: None)
    lake = platform.lake
    root = platform.settings.warehouse_dir
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    checks = []
    try:
        with platform.store.session() as s:
            published = {d.full_name: d.snapshot_id for d in s.scalars(select(Dataset))}
        for i, d in enumerate(manifest["datasets"]):
            report("verifying", i, len(manifest["datasets"]))
            check = DatasetCheck(d["name"], d["snapshot_id"], int(d["rows"]), None, False)
            checks.append(check)
            if str(published.get(d["name"])) != d["snapshot_id"]:
                check.problem = f"publishes snapshot {published.get(d['name'])}, the backup recorded {d['snapshot_id']}"
                continue
            try:
                plan = lake.plan(d["name"], int(d["snapshot_id"]))
            except ThresholdError as e:
                check.problem = str(e)
                continue
            files = sorted(warehouse.relative_to_root(p, root) or p for p in plan.files)
            if files != sorted(d["files"]):
                check.problem = "reads other files than the backup recorded"
                continue
            h = hashlib.sha256()
            for rel in d["files"]:
                h.update(sha256_of(root / rel).encode() if (root / rel).is_file() else b"missing")
            if h.hexdigest() != d["checksum"]:
                check.problem = "its files do not match the backup's checksums"
                continue
            try:
                check.rows_found = int(con.execute(f"SELECT count(*) FROM ({plan.relation_sql()})").fetchall()[0][0])
            except duckdb.Error as e:
                check.problem = f"cannot be read: {str(e).splitlines()[0][:200]}"
                continue
            if check.rows_found != check.rows_expected:
                check.problem = f"holds {check.rows_found:,} rows, the backup recorded {check.rows_expected:,}"
                continue
            check.ok = True
        report("verifying", len(manifest["datasets"]), len(manifest["datasets"]))
    finally:
        con.close()
    return checks
