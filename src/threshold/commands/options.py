"""The options many commands share, declared once as `Annotated` types: a command names its parameter's
type (`home: Home = None`, `fmt: Format = "table"`) instead of repeating a `typer.Option(...)` block, so an
option reads and is spelled the same on every command that has it. Options one command group alone uses
stay in its module. Importing this costs only Typer (`threshold --help` imports no command module)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# --- on (almost) every command ---

Home = Annotated[
    Path | None,
    typer.Option("--home", envvar="THRESHOLD_HOME", help="Threshold home folder (default ./.threshold)."),
]
As = Annotated[str | None, typer.Option("--as", help="Act as this user (default: the admin).")]

FORMATS = ("table", "json")
"""What `--format` takes on a command that prints a listing or an outcome."""

Format = Annotated[str, typer.Option("--format", help="table or json.")]
TableCsvJson = Annotated[str, typer.Option("--format", help="table, csv or json.")]
"""`--format` of a command whose rows also leave as CSV (`threshold query`)."""
CsvJson = Annotated[str, typer.Option("--format", help="csv or json.")]
"""`--format` of an export (`threshold register export`)."""

# --- listings ---

Limit = Annotated[int, typer.Option("--limit")]
PerPage = Annotated[int, typer.Option("--per-page")]
DomainFilter = Annotated[str | None, typer.Option("--domain")]
DomainDatasets = Annotated[str | None, typer.Option("--domain", help="Only this domain's datasets.")]
Missing = Annotated[bool, typer.Option("--missing", help="Only entries lacking a required field.")]
EveryDataset = Annotated[bool, typer.Option("--all", help="Every dataset (admins).")]

# --- what a person says with an action ---

Reason = Annotated[str, typer.Option("--reason")]
Description = Annotated[str, typer.Option("--description")]
Title = Annotated[str, typer.Option("--title")]
Purpose = Annotated[str | None, typer.Option("--purpose")]
Note = Annotated[str, typer.Option("--note")]

# --- a server ---

Host = Annotated[str, typer.Option("--host", envvar="THRESHOLD_HOST")]
Port = Annotated[int, typer.Option("--port", envvar="THRESHOLD_PORT", min=0, max=65535)]

# --- the collection register (threshold share and threshold register set) ---

CollectedFor = Annotated[str | None, typer.Option("--purpose", help="Why the data was collected.")]
LegalBasis = Annotated[
    str | None,
    typer.Option(
        "--legal-basis",
        help="GDPR Art. 6(1): consent, contract, legal_obligation, vital_interests, public_task, legitimate_interests.",
    ),
]
Special = Annotated[
    str | None,
    typer.Option(
        "--special-condition", help="GDPR Art. 9(2) condition, for special categories (explicit_consent ...)."
    ),
]
Retention = Annotated[str | None, typer.Option("--retention", help="How long rows are kept: 90d, 6w, 18m, 2y.")]
RetentionColumn = Annotated[
    str | None, typer.Option("--retention-column", help="The date column the retention runs from.")
]
Subjects = Annotated[
    str | None, typer.Option("--subjects", help="Categories of data subjects, comma-separated (customers, employees).")
]
Controller = Annotated[str | None, typer.Option("--controller", help="The controller's contact (dpo@example.com).")]
SourceSystem = Annotated[str | None, typer.Option("--source-system", help="The system the data was collected in.")]
