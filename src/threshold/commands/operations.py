"""`threshold backup`, `restore`, `move-warehouse`, `doctor`, `repair` and `maintenance compact|expire|history`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from threshold.commands.options import As, EveryDataset, Format, Home
from threshold.commands.support import acting, check_format, err, lazy_module, platform_at, show
from threshold.interface.rendering import View
from threshold.interface.tables import Col, TableSpec, count

if TYPE_CHECKING:  # what mypy checks the calls against; at run time imported on first use
    from threshold.operations import backup as backup_
    from threshold.operations import doctor as doctor_
    from threshold.operations import maintenance as maintenance_
    from threshold.operations import move as move_
    from threshold.operations import record as record_
    from threshold.operations import repair as repair_
    from threshold.operations import restore as restore_
else:
    backup_ = lazy_module("threshold.operations.backup")
    restore_ = lazy_module("threshold.operations.restore")
    doctor_ = lazy_module("threshold.operations.doctor")
    move_ = lazy_module("threshold.operations.move")
    repair_ = lazy_module("threshold.operations.repair")
    maintenance_ = lazy_module("threshold.operations.maintenance")
    record_ = lazy_module("threshold.operations.record")

app = typer.Typer()  # registered onto `threshold` by threshold.cli (GROUPS)
maintenance_app = typer.Typer(no_args_is_help=True, help="Table maintenance: compaction and snapshot expiry.")
app.add_typer(maintenance_app, name="maintenance")


def _progress(label: str) -> Any:
    """A Rich progress bar on stderr (only on a terminal) and the callback services report to."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    task = bar.add_task(label, total=None)

    def report(phase: str, done: int, total: int) -> None:
        bar.update(task, description=f"{label}: {phase}", completed=done, total=total or None)

    return bar, report


def _size(n: float) -> str:
    from threshold.disk import human

    return human(n)


@app.command()
def backup(
    dest: Annotated[Path, typer.Argument(help="A new (or empty) folder, best on another disk.")],
    link: Annotated[
        bool, typer.Option("--link", help="Hard-link warehouse files instead of copying (same disk only).")
    ] = False,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Back up the home while it runs: metadata store, catalog, warehouse files, a manifest of checksums."""
    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    bar, report = _progress("backup")
    with bar:
        result = backup_.backup(platform, acting(platform, as_user), dest, link=link, progress=report)
    show(result, fmt, BACKED_UP)
    if fmt == "table":  # warnings for the person, on stderr
        for m in result.missing[:20]:
            err.print(f"  missing in the home (not in the backup): {m}")


BACKED_UP = View(
    lines=lambda r: [
        f"backed up home {r.home_id} ({r.store}) to {r.path}: {r.datasets} datasets, {r.files:,} files, "
        f"{_size(r.bytes)}" + (f" ({r.linked:,} hard-linked)" if r.linked else "") + f", {r.seconds:.1f} s"
    ],
    json=asdict,
)
"""`threshold backup`: one line (what is missing in the home goes to stderr)."""


@app.command()
def restore(
    src: Annotated[Path, typer.Argument(help="A folder written by `threshold backup`.")],
    new_home: Annotated[Path, typer.Option("--home", help="The new home's folder (new or empty).")],
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="An empty PostgreSQL database (for a PostgreSQL backup).")
    ] = None,
    warehouse: Annotated[
        Path | None, typer.Option("--warehouse", help="Warehouse folder (default: in the home).")
    ] = None,
    link: Annotated[bool, typer.Option("--link", help="Hard-link files from the backup instead of copying.")] = False,
    fmt: Format = "table",
) -> None:
    """Restore a backup as a new home anywhere, then verify every dataset (snapshot, checksums, rows)."""
    check_format(fmt, ("table", "json"))
    bar, report = _progress("restore")
    with bar:
        result = restore_.restore(
            src, new_home, database_url=database_url, warehouse_dir=warehouse, link=link, progress=report
        )
    show(result, fmt, View(lines=lambda r: [_restored_line(src, r)], json=lambda r: asdict(r) | {"ok": r.ok}))
    if fmt == "table":  # what failed verification, on stderr
        for d in result.datasets:
            if not d.ok:
                err.print(f"  {d.name}: {d.problem}")
    if not result.ok:
        sys.exit(1)


def _restored_line(src: Path, r: Any) -> str:
    good = sum(1 for d in r.datasets if d.ok)
    return (
        f"restored {src} as home {r.home_id} at {r.home} (from home {r.restored_from}): {r.files:,} files, "
        f"{_size(r.bytes)}, {good} of {len(r.datasets)} datasets verified, {r.seconds:.1f} s"
    )


@app.command("move-warehouse")
def move_warehouse(
    bucket: Annotated[str | None, typer.Option("--bucket", help="The bucket to move to (default: the same).")] = None,
    prefix: Annotated[str | None, typer.Option("--prefix", help="The prefix to move to (default: the same).")] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Copy a warehouse on an object store to another bucket or prefix (stop the servers first), then claim it."""
    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    result = move_.move_warehouse(platform, acting(platform, as_user), bucket=bucket, prefix=prefix)
    show(result, fmt, MOVED)


MOVED = View(
    lines=lambda r: [
        f"copied {r.objects:,} objects ({_size(r.bytes)}) from {r.source} to {r.target} in {r.seconds:.1f} s; "
        "the home's warehouse is there now: set THRESHOLD_STORAGE__BUCKET and THRESHOLD_STORAGE__PREFIX to it "
        "before the next start, then remove the old objects"
    ],
    json=asdict,
)


_SEVERITY = {"error": "[red]error[/red]", "warning": "[yellow]warning[/yellow]", "info": "info"}


@app.command()
def doctor(
    fix: Annotated[bool, typer.Option("--fix", help="Clean up what dead writers left, then look again.")] = False,
    deep: Annotated[bool, typer.Option("--deep", help="Decode every data file, not only check it is whole.")] = False,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """The home's health: orphans, abandoned snapshots, lost files, locks, disk space. Exit 1 if not healthy."""
    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    bar, _ = _progress("doctor")
    with bar:
        task = bar.tasks[0].id
        report = doctor_.diagnose(
            platform,
            acting(platform, as_user),
            fix=fix,
            deep=deep,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    show(report, fmt, HEALTH)
    if not report.healthy:
        sys.exit(1)


@app.command()
def repair(
    dataset: str,
    how: Annotated[
        str | None,
        typer.Option(
            "--how", help="rollback (to the last fully readable snapshot) or drop-lost (keep all other rows)."
        ),
    ] = None,
    deep: Annotated[bool, typer.Option("--deep", help="Decode every page to find damaged files.")] = False,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Show what a lost data file costs DATASET; with --how, repair it (history, audit and owners told)."""
    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    person = acting(platform, as_user)
    if how is None:
        show(repair_.examine(platform, person, dataset, deep=deep), fmt, DAMAGE)
        return
    show(repair_.repair(platform, person, dataset, how=how, deep=deep), fmt, REPAIRED)


def _health_lines(report: Any) -> Iterator[Any]:
    for line in report.fixed:
        yield f"fixed: {line}"
    for d in report.disks:
        yield f"{d['what']} disk {d['path']}: {_size(d['free'])} free of {_size(d['total'])}"
    if report.findings:
        yield FINDINGS.rich(report.findings)
    c = report.counts()
    yield (
        f"home {report.home_id}: {report.datasets:,} datasets, {report.data_files:,} data files "
        f"({_size(report.data_bytes)}); {c['error']} errors, {c['warning']} warnings, {c['info']} notes "
        f"in {report.seconds:.1f} s"
    )


FINDINGS = TableSpec(
    Col("", "severity", fmt=lambda v: _SEVERITY[v], markup=True),
    Col("what", "kind"),
    Col("where", "subject", fold=True),
    Col("detail", "message"),
    Col("size", "bytes", fmt=lambda n: _size(n) if n else ""),
    Col("fix", lambda f: "--fix" if f.fixable else ""),
)
HEALTH = View(lines=_health_lines, json=lambda report: report.as_dict())
"""`threshold doctor`: what was fixed, the disks, the findings, then the counts."""


def _damage_lines(damage: Any) -> Iterator[Any]:
    if damage.healthy:
        yield f"{damage.dataset} reads fully: no data file is missing or damaged"
        return
    yield LOST.rich(damage.lost, title=f"{damage.dataset}: {len(damage.lost)} lost file(s)")
    yield BROKEN.rich(damage.affected, title="published snapshots it breaks")
    if damage.last_readable is not None:
        yield (
            f"--how rollback: back to snapshot {damage.last_readable}, {damage.rows_at_last_readable:,} rows "
            f"(of {damage.rows:,})"
        )
    else:
        yield "--how rollback: impossible, no published snapshot reads fully"
    yield f"--how drop-lost: keep {damage.rows_after_drop:,} rows (of {damage.rows:,}), drop the lost ones"


LOST = TableSpec(Col("lost file", "location", id=True), Col("rows", "rows", fmt=count), Col("why", "reason"))
BROKEN = TableSpec(
    Col("snapshot", "snapshot_id", id=True),
    Col("at", "at"),
    Col("made by", "kind"),
    Col("rows", "rows", fmt=count),
    Col("rows lost", "rows_lost", fmt=count),
    Col("", lambda s: "current" if s.current else ""),
)
DAMAGE = View(lines=_damage_lines, json=lambda damage: damage.as_dict())
REPAIRED = View(
    lines=lambda r: [
        f"repaired {r.dataset} ({r.how}): {r.rows_after:,} rows (was {r.rows_before:,}), "
        f"snapshot {r.snapshot_id}; {r.owners_told} owner(s) told"
    ],
    json=asdict,
)


@maintenance_app.command("compact")
def compact(
    dataset: Annotated[str | None, typer.Argument(help="A dataset; with --all, every dataset.")] = None,
    every: EveryDataset = False,
    target_mb: Annotated[int | None, typer.Option("--target-mb", help="Size of the merged files.")] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Merge a dataset's small files (same rows, one new snapshot; time travel keeps the old files)."""
    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    person = acting(platform, as_user)
    results = (
        maintenance_.maintain_all(platform, person, expire_snapshots=False)
        if every
        else [maintenance_.compact(platform, person, _one(dataset), target_mb=target_mb)]
    )
    show(results, fmt, COMPACTED)


def _compacted_lines(results: list[Any]) -> Iterator[str]:
    for r in results:
        if r.skipped:
            yield f"{r.dataset}: {r.skipped}"
        else:
            yield (
                f"{r.dataset}: {r.files_before:,} files ({_size(r.bytes_before)}) -> {r.files_after:,} "
                f"({_size(r.bytes_after)}), {r.rows:,} rows, snapshot {r.snapshot_id}"
            )


COMPACTED = View(lines=_compacted_lines, json=lambda results: [asdict(r) for r in results])


@maintenance_app.command("expire")
def expire(
    dataset: Annotated[str | None, typer.Argument(help="A dataset; with --all, every dataset.")] = None,
    every: EveryDataset = False,
    older_than: Annotated[
        float | None,
        typer.Option("--older-than", help="Days; not fewer than THRESHOLD_TIME_TRAVEL_DAYS promises."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would go, change nothing.")] = False,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Expire snapshots no promise needs (never the published one) and remove the files only they read."""
    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    person = acting(platform, as_user)
    if every:
        results = [
            r
            for r in maintenance_.maintain_all(platform, person, compact_files=False)
            if isinstance(r, maintenance_.ExpireResult)
        ]
    else:
        results = [maintenance_.expire(platform, person, _one(dataset), older_than_days=older_than, dry_run=dry_run)]
    show(
        results,
        fmt,
        View(
            lines=lambda rs: _expired_lines(rs, dry_run=dry_run),
            json=lambda rs: [asdict(r) | {"expired": [str(i) for i in r.expired]} for r in rs],
        ),
    )


def _expired_lines(results: list[Any], *, dry_run: bool) -> Iterator[str]:
    for r in results:
        if r.skipped:
            yield f"{r.dataset}: {r.skipped}"
            continue
        verb = "would expire" if dry_run else "expired"
        yield (
            f"{r.dataset}: {verb} {len(r.expired)} snapshot(s), {r.kept} kept; {r.removed_files:,} files "
            f"({_size(r.removed_bytes)}) {'would be ' if dry_run else ''}removed"
        )


@maintenance_app.command("history")
def history(dataset: str, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """A dataset's maintenance: compactions, expiries, repairs."""
    from threshold.operations.permissions import dataset_for

    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    with platform.store.session() as s:
        dataset_id = dataset_for(s, acting(platform, as_user), dataset, "see the maintenance of").id
    show(record_.history(platform, dataset_id), fmt, View(table=HISTORY))


HISTORY = TableSpec(
    Col("at", "at", id=True),
    Col("what", "kind"),
    Col("by", "by"),
    Col("snapshot", "snapshot_id"),
    Col("rows before", "rows_before", fmt=count, justify="right"),
    Col("rows after", "rows_after", fmt=count, justify="right"),
    Col("detail", "summary", fold=True),
)
"""`threshold maintenance history`: a dataset's maintenance, newest first."""


def _one(dataset: str | None) -> str:
    if not dataset:
        from threshold.errors import InvalidInput

        raise InvalidInput("name a dataset, or give --all")
    return dataset
