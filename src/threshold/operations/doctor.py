"""`threshold doctor`: the home's health, and `--fix` for what can be fixed without losing anything.

It looks at the home's identity (its warehouse stamp), disk space, staging and upload folders,
writer locks, and every dataset's lake table: tables no dataset was published for, unpublished
commits and abandoned snapshots, files no snapshot references, data files that are missing or
damaged, locations that are still absolute. `--fix` runs the same clean-up a share or a start-up
runs (never touching a dataset being written, nor files younger than the grace period) and points
at `threshold repair` for what only an owner can decide.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from threshold import cleanup, disk, home, locks, staging, warehouse
from threshold.errors import ThresholdError
from threshold.identity.service import Person
from threshold.lakefiles import inventory
from threshold.operations.permissions import must_operate_home
from threshold.operations.repair import check_file, stored_size_problem
from threshold.platform import Platform
from threshold.store.models import Dataset
from threshold.store.published import published_snapshots

LOW_DISK_BYTES = 1024**3
LOW_DISK_FRACTION = 0.05
SMALL_FILES = 32
"""A published snapshot reading more files than this, mostly small, is worth compacting."""

SEVERITIES = ("error", "warning", "info")


@dataclass
class Finding:
    severity: str
    """`error` (data is lost or unreachable), `warning` (debris or risk; `--fix` can act) or `info`."""
    kind: str
    subject: str
    message: str
    fixable: bool = False
    bytes: int = 0


@dataclass
class Report:
    home_id: str | None
    store: str
    warehouse: str
    datasets: int = 0
    lake_tables: int = 0
    data_files: int = 0
    data_bytes: int = 0
    disks: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def healthy(self) -> bool:
        return not any(f.severity in ("error", "warning") for f in self.findings)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.findings if f.severity == s) for s in SEVERITIES}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"healthy": self.healthy, "counts": self.counts()}


def diagnose(
    platform: Platform,
    person: Person,
    *,
    fix: bool = False,
    deep: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """The home's health; with `fix`, clean up what is safe to clean up, then look again."""
    must_operate_home(person, "run the doctor" + (" with --fix" if fix else ""))
    started = time.perf_counter()
    if fix:
        fixed = _fix(platform)
        report = _look(platform, deep=deep, progress=progress)
        report.fixed = fixed
    else:
        report = _look(platform, deep=deep, progress=progress)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _look(platform: Platform, *, deep: bool, progress: Callable[[int, int], None] | None) -> Report:
    settings = platform.settings
    report = Report(None, home.store_locator(settings), platform.lake.files.describe())
    add = report.findings.append
    try:
        report.home_id = home.identity(platform.store).id
        home.verify(settings, platform.store, write=False)
    except ThresholdError as e:
        add(Finding("error", "home.warehouse", str(settings.warehouse_dir), str(e)))
        return report
    _disks(platform, report)
    _staging(platform, report)
    _locks(platform, report)
    _tables(platform, report, deep=deep, progress=progress)
    return report


def _disks(platform: Platform, report: Report) -> None:
    import shutil

    settings = platform.settings
    places = {"warehouse": settings.warehouse_dir, "home": settings.home_dir}
    seen: set[int] = set()
    for what, path in places.items():
        try:
            st = path.stat()
            usage = shutil.disk_usage(path)
        except OSError:
            continue
        if st.st_dev in seen:
            continue
        seen.add(st.st_dev)
        report.disks.append({"what": what, "path": str(path), "free": usage.free, "total": usage.total})
        if usage.free < LOW_DISK_BYTES or usage.free < usage.total * LOW_DISK_FRACTION:
            report.findings.append(
                Finding(
                    "warning",
                    "disk.low",
                    str(path),
                    f"the disk holding the {what} {path} has {disk.human(usage.free)} free of "
                    f"{disk.human(usage.total)}: shares will fail when it is full",
                )
            )


def _staging(platform: Platform, report: Report) -> None:
    for f in staging.staging_folders(platform.settings):
        kind = "upload" if f.path.name.startswith("upload-") else "staging"
        if f.removable:
            why = (
                "its process is gone"
                if f.state == "dead"
                else f"its owner is unknown and it is {f.age_minutes:.0f} min old"
            )
            report.findings.append(
                Finding(
                    "warning", f"{kind}.abandoned", str(f.path), f"{kind} folder left behind ({why})", True, f.bytes
                )
            )
        elif f.state == "alive":
            report.findings.append(
                Finding("info", f"{kind}.running", str(f.path), f"a {kind} in progress ({disk.human(f.bytes)} so far)")
            )


def _locks(platform: Platform, report: Report) -> None:
    if platform.settings.is_sqlite:
        folder = platform.settings.home_dir / "locks"
        names = []
        if folder.is_dir():
            for p in folder.glob("*.lock"):
                try:
                    names.append(p.read_text()[:200] or p.stem)
                except OSError:
                    continue
        held = locks.held_locks(platform, [n for n in names if n])
        if _store_locked(platform):
            report.findings.append(
                Finding(
                    "info",
                    "lock.store",
                    platform.settings.db_url,
                    "another process is writing to the metadata store right now; writes wait up to "
                    f"{platform.settings.lock_timeout_seconds:g} s for it",
                )
            )
    else:
        with platform.store.session() as s:
            names = list(s.scalars(select(Dataset.full_name)))
        held = locks.held_locks(platform, [*names, locks.DELETIONS])
    for name in held:
        what = "a backup is copying the home" if name == locks.DELETIONS else f"{name} is being written"
        report.findings.append(Finding("info", "lock.held", name, f"{what} (a live process holds its lock)"))


def _store_locked(platform: Platform) -> bool:
    import sqlite3

    path = platform.settings.home_dir / "threshold.db"
    url = platform.settings.db_url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
    try:
        con = sqlite3.connect(str(path), timeout=0)
    except sqlite3.Error:
        return False
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as e:
        return "locked" in str(e)
    finally:
        con.close()


def _tables(platform: Platform, report: Report, *, deep: bool, progress: Callable[[int, int], None] | None) -> None:
    lake = platform.lake
    with platform.store.session() as s:
        datasets = {d.full_name: d for d in s.scalars(select(Dataset))}
        published = {d.full_name: {p.snapshot_id for p in published_snapshots(s, d.id)} for d in datasets.values()}
    pointers = _catalog_pointers(platform)
    folders = set(cleanup.table_folders(platform))
    names = sorted(set(datasets) | set(pointers) | folders)
    report.datasets = sum(1 for d in datasets.values() if d.snapshot_id is not None)
    report.lake_tables = len(pointers)
    add = report.findings.append
    for i, name in enumerate(names):
        if progress is not None:
            progress(i, len(names))
        ds = datasets.get(name)
        if name not in pointers:
            if ds is not None and ds.snapshot_id is not None:
                add(
                    Finding(
                        "error", "dataset.no-table", name, "published, but its lake table is gone: restore a backup"
                    )
                )
            elif name in folders:
                size = _held_bytes(lake, name)
                add(Finding("warning", "folder.orphan", name, "a table folder no lake table owns", True, size))
            continue
        if ds is None or ds.snapshot_id is None:
            size = _held_bytes(lake, name)
            add(
                Finding(
                    "warning", "table.unpublished", name, "a lake table never published (a killed share)", True, size
                )
            )
            continue
        try:
            _table(platform, report, name, ds.snapshot_id, published.get(name, set()), pointers[name], deep=deep)
        except ThresholdError as e:
            add(Finding("error", "table.unreadable", name, str(e)))
        except (OSError, ValueError) as e:
            add(
                Finding(
                    "error", "table.unreadable", name, f"its metadata cannot be read: {str(e).splitlines()[0][:200]}"
                )
            )


def _catalog_pointers(platform: Platform) -> dict[str, str]:
    """Every lake table and the metadata file its catalog row points at, in one query."""
    lake = platform.lake
    lake.catalog  # noqa: B018 (creates the catalog tables on a fresh store)
    with platform.store.engine.connect() as c:
        rows = c.execute(
            text("SELECT table_namespace, table_name, metadata_location FROM iceberg_tables WHERE catalog_name = :n"),
            {"n": "threshold"},
        ).all()
    return {f"{ns}.{name}": str(loc) for ns, name, loc in rows if loc}


def _table(
    platform: Platform,
    report: Report,
    name: str,
    current: int,
    recorded: set[int],
    pointer: str,
    *,
    deep: bool,
) -> None:
    from threshold.cleanup import _ancestors

    lake = platform.lake
    add = report.findings.append
    table = lake.load_at(name, pointer)
    if not warehouse.is_relative(pointer) or not warehouse.is_relative(table.metadata.location):
        add(
            Finding(
                "warning",
                "table.absolute",
                name,
                "its locations are absolute (made before homes were relocatable): it works here, but not "
                "if the home is moved or copied",
                True,
            )
        )
    if table.snapshot_by_id(current) is None:
        add(Finding("error", "dataset.snapshot-gone", name, f"its published snapshot {current} is not in its table"))
        return
    head = table.current_snapshot()
    if head is not None and head.snapshot_id != current:
        add(
            Finding(
                "warning", "table.unpublished-commit", name, "an unpublished commit is current (a killed share)", True
            )
        )
    keep = recorded | {current} | set(_ancestors(table, current))
    abandoned = [s.snapshot_id for s in table.snapshots() if s.snapshot_id not in keep]
    inv = inventory(lake, table)
    if abandoned:
        only = [r for r in inv.data.values() if r.snapshots and r.snapshots <= set(abandoned)]
        add(
            Finding(
                "warning",
                "table.abandoned-snapshots",
                name,
                f"{len(abandoned)} snapshot(s) never published, holding {len(only)} file(s) nobody reads",
                True,
                sum(r.size for r in only),
            )
        )
    for path in sorted(inv.metadata | inv.manifests):
        if lake.files.stat(path, stored=True) is None:
            add(
                Finding(
                    "error", "table.metadata-missing", name, f"metadata file {path.name} is missing: restore a backup"
                )
            )
    live = [r for r in inv.data.values() if current in r.snapshots]
    report.data_files += len(live)
    report.data_bytes += sum(r.size for r in live)
    lost = []
    for ref in inv.data.values():
        if not ref.snapshots:
            continue
        reason = check_file(ref, lake.files, deep=True) if deep else stored_size_problem(ref, lake.files)
        if reason is not None:
            lost.append((ref, reason))
    if lost:
        rows = sum(r.records for r, _ in lost if current in r.snapshots)
        sample = "; ".join(f"{r.path.name}: {why}" for r, why in lost[:3])
        add(
            Finding(
                "error",
                "dataset.lost-files",
                name,
                f"{len(lost)} data file(s) missing or damaged ({rows:,} rows of the published snapshot; {sample}); "
                f"an owner can run `threshold repair {name}`",
            )
        )
    referenced = inv.paths()
    orphans = [p for p in _held(lake, name) if p not in referenced]
    if orphans:
        grace = platform.settings.cleanup_grace_minutes * 60
        now = time.time()
        held = {p: lake.files.stat(p) or (0, 0.0) for p in orphans}
        old = [p for p in orphans if now - held[p][1] >= grace]
        if old:
            add(
                Finding(
                    "warning",
                    "table.orphan-files",
                    name,
                    f"{len(old)} file(s) no snapshot references (left by killed or failed writes)",
                    True,
                    sum(held[p][0] for p in old),
                )
            )
        if len(old) < len(orphans):
            add(
                Finding(
                    "info",
                    "table.young-files",
                    name,
                    f"{len(orphans) - len(old)} unreferenced file(s) younger than the grace period "
                    "(a write in progress?)",
                )
            )
    target = platform.settings.operations.compact_target_mb * 1024 * 1024
    if len(live) > SMALL_FILES and sum(r.size for r in live) / len(live) < target / 8:
        add(
            Finding(
                "info",
                "table.small-files",
                name,
                f"reads {len(live)} files of {disk.human(sum(r.size for r in live) / len(live))} on average: "
                f"`threshold maintenance compact {name}` makes queries faster",
            )
        )


def _held_bytes(lake: Any, name: str) -> int:
    """Bytes of a table's folder where its files are kept (on an object store: its objects, not the cache)."""
    if not lake.files.remote:
        return int(staging.folder_size(lake.table_dir(name)))
    return sum((lake.files.stat(p) or (0, 0.0))[0] for p in _held(lake, name))


def _held(lake: Any, name: str) -> list[Path]:
    from threshold.lakefiles import held_files

    return held_files(lake, name)


def _fix(platform: Platform) -> list[str]:
    """The safe fixes: clean up after dead writers; make legacy absolute locations relative."""
    from threshold.operations import relocate

    done: list[str] = []
    for f in staging.clean_staging(platform.settings):
        done.append(f"removed {f.path.name} from staging ({disk.human(f.bytes)})")
    for sweep in cleanup.sweep_home(platform):
        if sweep.busy:
            done.append(f"skipped {sweep.dataset}: being written")
            continue
        parts = []
        if sweep.dropped_table:
            parts.append("dropped a table that was never published")
        if sweep.rolled_back:
            parts.append(f"rolled back unpublished snapshot {sweep.rolled_back}")
        if sweep.expired:
            parts.append(f"expired {len(sweep.expired)} abandoned snapshot(s)")
        if sweep.removed:
            parts.append(f"removed {len(sweep.removed)} unreferenced file(s) ({disk.human(sweep.removed_bytes)})")
        if parts:
            done.append(f"{sweep.dataset}: " + ", ".join(parts))
    for name in relocate.absolute_tables(platform):
        relocate.relocate(platform, name)
        done.append(f"{name}: locations made relative to the warehouse")
    return done
