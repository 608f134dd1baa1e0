"""What every command module shares: the common options, the consoles, opening the home, and output in the
chosen format. Nothing here imports a heavy library at import time: `threshold --help` imports the command
modules (to list them) and should cost almost nothing; a command pays for what it uses when it runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from threshold.interface.tables import TableSpec

Home = Annotated[
    Path | None,
    typer.Option("--home", envvar="THRESHOLD_HOME", help="Threshold home folder (default ./.threshold)."),
]
As = Annotated[str | None, typer.Option("--as", help="Act as this user (default: the admin).")]
Format = Annotated[str, typer.Option("--format", help="table or json.")]


class lazy_module:  # noqa: N801  (reads like the module it stands for)
    """A module imported on first use: command modules name their services at the top without making
    `threshold --help` pay for importing pyiceberg, pyarrow and SQLAlchemy."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        import importlib

        return getattr(importlib.import_module(self._name), attr)


class _LazyConsole:
    """A Rich console made on first use (importing Rich costs more than all of `threshold --help`)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def __getattr__(self, attr: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return getattr(self._console, attr)


out: Console = _LazyConsole(soft_wrap=True)  # type: ignore[assignment]
err: Console = _LazyConsole(stderr=True)  # type: ignore[assignment]


def platform_at(home: Path | None) -> Any:
    from threshold.platform import Platform

    return Platform.open(home)


def acting(platform: Any, name: str | None) -> Any:
    from threshold.identity.service import ADMIN, get_person

    return get_person(platform, name or ADMIN)


def emit_json(data: Any) -> None:
    """JSON on stdout: the service's own keys (the REST API answers with the same)."""
    sys.stdout.write(json.dumps(jsonable(data), indent=2, default=str, ensure_ascii=False) + "\n")


def jsonable(data: Any) -> Any:
    """Dataclasses (typed results) as their fields; everything else as it is."""
    import dataclasses

    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        return dataclasses.asdict(data)
    if isinstance(data, list | tuple):
        return [jsonable(x) for x in data]
    return data


def check_format(fmt: str, allowed: tuple[str, ...] = ("table", "json")) -> None:
    if fmt not in allowed:
        from threshold.errors import InvalidInput

        raise InvalidInput(f"unknown format {fmt!r}; use one of {', '.join(allowed)}")


def emit(rows: Any, spec: TableSpec, fmt: str, *, title: str | None = None, data: Any = None) -> None:
    """The one way a listing leaves the CLI: `--format json` prints `data` (default: the rows) as JSON,
    `--format table` renders the rows with `spec` to fit the terminal."""
    check_format(fmt)
    if fmt == "json":
        emit_json(rows if data is None else data)
        return
    out.print(spec.rich(rows, title=title))


def say(result: Any, fmt: str, sentence: str) -> None:
    """An action's outcome: a sentence for people, or with `--format json` the service's own result."""
    if fmt == "json":
        emit_json(result)
        return
    out.print(sentence)


def Table(*headers: str, **options: Any) -> Any:  # noqa: N802  (stands for rich.table.Table, imported late)
    """A free-form Rich table for the few outputs that are not a listing (a matrix, a query's rows)."""
    from rich.table import Table as RichTable

    return RichTable(*headers, **options)


def escape(markup: str) -> str:
    """Text shown as it is in Rich output (rich.markup.escape, imported late)."""
    from rich.markup import escape as rich_escape

    return rich_escape(markup)


# --- the collection register's options (threshold share and threshold register set) ---

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


def collection_options(
    legal_basis: str | None,
    special_condition: str | None,
    retention_text: str | None,
    retention_column: str | None,
    subjects: str | None,
    controller: str | None,
    source_system: str | None,
    purpose: str | None = None,
) -> dict[str, Any]:
    """The register's fields given on a command line (left out: None)."""
    given = {
        "legal_basis": legal_basis,
        "special_condition": special_condition,
        "retention": retention_text,
        "retention_column": retention_column,
        "subjects": subjects,
        "controller": controller,
        "source_system": source_system,
        "purpose": purpose,
    }
    return {k: v for k, v in given.items() if v is not None}
