"""`threshold register show|set|export|history` and `threshold retention run`: the collection register and
retention executed (docs/compliance.md)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from threshold.commands.options import (
    As,
    CollectedFor,
    Controller,
    CsvJson,
    DomainDatasets,
    Format,
    Home,
    LegalBasis,
    Missing,
    Retention,
    RetentionColumn,
    SourceSystem,
    Special,
    Subjects,
)
from threshold.commands.support import (
    acting,
    check_format,
    collection_options,
    emit,
    lazy_module,
    out,
    platform_at,
    say,
)
from threshold.interface.tables import Col, TableSpec, when

if TYPE_CHECKING:  # what mypy checks the calls against; at run time imported on first use
    from threshold.compliance import register, retention
else:
    register = lazy_module("threshold.compliance.register")
    retention = lazy_module("threshold.compliance.retention")

app = typer.Typer()  # registered onto `threshold` by threshold.cli (GROUPS)
register_app = typer.Typer(no_args_is_help=True, help="The collection register: purpose, legal basis, retention.")
retention_app = typer.Typer(no_args_is_help=True, help="Retention executed: rows past their period removed.")
app.add_typer(register_app, name="register")
app.add_typer(retention_app, name="retention")

Dataset = Annotated[str, typer.Argument(help="The dataset, domain.name.")]

RECORDS = TableSpec(
    Col("dataset", "dataset", id=True),
    Col("legal basis", lambda r: r.legal_basis_label or ""),
    Col("purpose", "purpose"),
    Col("subjects", lambda r: ", ".join(r.subjects)),
    Col("retention", lambda r: f"{r.retention} from {r.retention_column}" if r.retention else ""),
    Col("controller", "controller"),
    Col("missing", lambda r: ", ".join(r.missing)),
)
CHANGES = TableSpec(
    Col("when", "at", fmt=when, id=True),
    Col("by", "by"),
    Col("note", "note"),
    Col("changes", lambda c: "; ".join(f"{k}: {v[0]!s} -> {v[1]!s}" for k, v in c.changes.items())),
)
RUNS = TableSpec(
    Col("dataset", "dataset", id=True),
    Col("cutoff", "cutoff"),
    Col("rows removed", "rows_removed", justify="right"),
    Col("rows left", "rows_left", justify="right"),
    Col("snapshots expired", "snapshots_expired", justify="right"),
    Col("files removed", "files_removed", justify="right"),
    Col("note", lambda o: o.skipped or ("dry run" if o.dry_run else "")),
)


@register_app.command("show")
def show_cmd(dataset: Dataset, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """A dataset's entry: purpose, legal basis, subjects, retention, source, controller, what is missing."""
    check_format(fmt)
    p = platform_at(home)
    rec = register.show(p, acting(p, as_user), dataset)
    emit([rec], RECORDS, fmt, data=rec.to_json())


@register_app.command("set")
def set_cmd(
    dataset: Dataset,
    legal_basis: LegalBasis = None,
    special_condition: Special = None,
    retention_text: Retention = None,
    retention_column: RetentionColumn = None,
    subjects: Subjects = None,
    controller: Controller = None,
    source_system: SourceSystem = None,
    purpose: CollectedFor = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Change a dataset's entry (its owners and the governance group); every change is kept with who and when."""
    check_format(fmt)
    p = platform_at(home)
    given = collection_options(
        legal_basis, special_condition, retention_text, retention_column, subjects, controller, source_system, purpose
    )
    rec = register.set_record(p, acting(p, as_user), dataset, **given)
    say(rec, fmt, f"{rec.dataset}: register entry saved")


@register_app.command("history")
def history_cmd(dataset: Dataset, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Every change to a dataset's entry, newest first."""
    check_format(fmt)
    p = platform_at(home)
    emit(register.history(p, acting(p, as_user), dataset), CHANGES, fmt)


@register_app.command("export")
def export_cmd(
    legal_basis: LegalBasis = None,
    domain: DomainDatasets = None,
    missing: Missing = False,
    as_user: As = None,
    home: Home = None,
    fmt: CsvJson = "csv",
) -> None:
    """The register for the data protection officer, as CSV or JSON on stdout (what you may know exists)."""
    check_format(fmt, ("csv", "json"))
    p = platform_at(home)
    text = register.export(
        p, acting(p, as_user), fmt, legal_basis_filter=legal_basis, domain=domain, missing_only=missing
    )
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


@register_app.command("list")
def list_cmd(
    legal_basis: LegalBasis = None,
    domain: DomainDatasets = None,
    missing: Missing = False,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Entries, and datasets holding personal data without one, that you may know exist."""
    check_format(fmt)
    p = platform_at(home)
    rows = register.register(p, acting(p, as_user), legal_basis_filter=legal_basis, domain=domain, missing_only=missing)
    emit(rows, RECORDS, fmt)


@retention_app.command("run")
def run_cmd(
    dataset: Annotated[str | None, typer.Option("--dataset", help="Only this dataset.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be removed; change nothing.")] = False,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Remove rows past their retention period now, expire the snapshots that held them, remove their files."""
    check_format(fmt)
    p = platform_at(home)
    outcomes = retention.run(p, acting(p, as_user), dataset=dataset, dry_run=dry_run)
    emit(outcomes, RUNS, fmt)
    if fmt != "json" and not outcomes:
        out.print("no dataset has a retention period in the register")
