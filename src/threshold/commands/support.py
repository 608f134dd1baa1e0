"""What every command module shares: the consoles, opening the home, and output in the
chosen format. Nothing here imports a heavy library at import time: `threshold --help` imports the command
modules (to list them) and should cost almost nothing; a command pays for what it uses when it runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threshold.commands.options import As as As  # the shared options, still importable from here
from threshold.commands.options import Format as Format
from threshold.commands.options import Home as Home

if TYPE_CHECKING:
    from rich.console import Console

    from threshold.identity.service import Person
    from threshold.interface.rendering import View
    from threshold.interface.tables import TableSpec
    from threshold.platform import Platform


class lazy_module:  # noqa: N801  (reads like the module it stands for)
    """A module imported on first use: command modules name their services at the top without making
    `threshold --help` pay for importing pyiceberg, pyarrow and SQLAlchemy. Its attributes are `Any`, so each
    use stands in the `else:` of an `if TYPE_CHECKING:` that imports the real module under the same name:
    mypy checks every call against the service's signature, and nothing is imported before it is used."""

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


def platform_at(home: Path | None) -> Platform:
    from threshold.platform import Platform

    return Platform.open(home)


def acting(platform: Platform, name: str | None) -> Person:
    from threshold.identity.service import ADMIN, get_person

    return get_person(platform, name or ADMIN)


def show(result: Any, fmt: str, view: View | None = None, *, formats: tuple[str, ...] = ("table", "json")) -> None:
    """The one way a result leaves the CLI: rendered by `threshold.interface.rendering` (the JSON the API
    sends, or the declared table and lines) and printed on stdout."""
    from threshold.interface.rendering import Plain, render

    shown = render(result, fmt, view, formats=formats)
    if fmt != "table":
        sys.stdout.write(shown[0])
        return
    for piece in shown:
        if isinstance(piece, Plain):
            out.print(piece.text, markup=False, highlight=piece.highlight)
        else:
            out.print(piece)


def emit_json(data: Any) -> None:
    """JSON on stdout: the service's own keys (the REST API answers with the same)."""
    from threshold.interface.rendering import json_text

    sys.stdout.write(json_text(data))


def jsonable(data: Any) -> Any:
    """Typed results as their JSON form; everything else as it is (`threshold.interface.rendering`)."""
    from threshold.interface.rendering import jsonable as as_json

    return as_json(data)


def check_format(fmt: str, allowed: tuple[str, ...] = ("table", "json")) -> None:
    if fmt not in allowed:
        from threshold.errors import InvalidInput

        raise InvalidInput(f"unknown format {fmt!r}; use one of {', '.join(allowed)}")


def emit(rows: Any, spec: TableSpec, fmt: str, *, title: str | None = None, data: Any = None) -> None:
    """A listing: `--format json` prints `data` (default: the rows) as JSON, `--format table` renders the
    rows with `spec` to fit the terminal."""
    from threshold.interface.rendering import View

    show(rows, fmt, View(table=spec, title=title, json=None if data is None else (lambda _: data)))


def say(result: Any, fmt: str, sentence: str) -> None:
    """An action's outcome: a sentence for people, or with `--format json` the service's own result."""
    from threshold.interface.rendering import View

    show(result, "json" if fmt == "json" else "table", View(lines=lambda _: [sentence]))


def Table(*headers: str, **options: Any) -> Any:  # noqa: N802  (stands for rich.table.Table, imported late)
    """A free-form Rich table for the few outputs that are not a listing (a matrix, a query's rows)."""
    from rich.table import Table as RichTable

    return RichTable(*headers, **options)


def escape(markup: str) -> str:
    """Text shown as it is in Rich output (rich.markup.escape, imported late)."""
    from rich.markup import escape as rich_escape

    return rich_escape(markup)


# --- the collection register (its options: `threshold.commands.options`) ---


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
