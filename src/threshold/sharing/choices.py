"""What a person may correct before publishing: a column's name and its type, and the visibility of a new dataset.

Choices are keyed by the name the preview proposed for the column (`scrap_rate`, `column_2`). A new
type is applied with a checked cast: a value that does not convert, or would change on the way
(2.5 as a whole number, a time of day dropped from a date), fails the share with the column and the
value named, never turns silently into NULL or a rounded number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from threshold.access import VISIBILITIES
from threshold.errors import InvalidInput, ThresholdError
from threshold.identity.service import Person
from threshold.names import RESERVED, identifier
from threshold.platform import Platform

TYPE_MENU: tuple[tuple[str, str], ...] = (
    ("text", "VARCHAR"),
    ("whole number", "BIGINT"),
    ("number", "DOUBLE"),
    ("date", "DATE"),
    ("date & time", "TIMESTAMP"),
    ("time", "TIME"),
    ("yes/no", "BOOLEAN"),
)
"""The types a person can choose, as shown (friendly name) and as stored (DuckDB spelling)."""

_ALIASES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "int": "BIGINT",
    "float": "DOUBLE",
    "decimal": "DOUBLE",
    "datetime": "TIMESTAMP",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
    "bool": "BOOLEAN",
}
_BY_NAME = dict(TYPE_MENU) | {sql.lower(): sql for _, sql in TYPE_MENU} | _ALIASES


@dataclass(frozen=True)
class ColumnChoice:
    name: str | None = None
    """The name to store the column under (any text: it is made a safe identifier, the text kept as label)."""
    type: str | None = None
    """A type from `TYPE_MENU` (friendly or SQL spelling, or an alias such as `integer`)."""


def stored_type(text: str) -> str:
    """A chosen type as stored, or a clear refusal listing the choices."""
    found = _BY_NAME.get(" ".join(str(text).strip().lower().split()))
    if found is None:
        choices = ", ".join(friendly for friendly, _ in TYPE_MENU)
        raise InvalidInput(f"unknown column type {str(text)[:40]!r}; choose one of {choices}")
    return found


def parse_columns(value: Mapping[str, Any] | None) -> dict[str, ColumnChoice]:
    """`{"column_2": {"name": "energy_eur", "type": "number"}}` (or ColumnChoice values) -> choices."""
    out: dict[str, ColumnChoice] = {}
    for key, choice in (value or {}).items():
        if isinstance(choice, ColumnChoice):
            parsed = choice
        elif isinstance(choice, Mapping):
            unknown = set(choice) - {"name", "type"}
            if unknown:
                raise InvalidInput(f"column {key!r}: only 'name' and 'type' can be chosen, not {sorted(unknown)}")
            parsed = ColumnChoice(name=choice.get("name") or None, type=choice.get("type") or None)
        else:
            raise InvalidInput(f"column {key!r}: give a name and/or a type, e.g. {{'name': 'x', 'type': 'number'}}")
        if parsed.type is not None:
            stored_type(parsed.type)
        out[str(key)] = parsed
    return out


def parse_pairs(renames: list[str], types: list[str]) -> dict[str, ColumnChoice]:
    """CLI pairs `old=new` and `name=type` (names as the preview shows them) -> choices."""
    names: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for target, pairs, what in ((names, renames, "--rename OLD=NEW"), (kinds, types, "--type NAME=TYPE")):
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise InvalidInput(f"{pair!r} is not {what}")
            target[key.strip()] = value.strip()
    return parse_columns({k: {"name": names.get(k), "type": kinds.get(k)} for k in {*names, *kinds}})


def apply(
    choices: Mapping[str, ColumnChoice],
    names: list[str],
    labels: list[str],
    types: list[str],
    exprs: list[str],
    source_types: list[str],
) -> list[str]:
    """Apply choices to the incoming columns in place; returns notes of what changed."""
    unknown = [k for k in choices if k not in names]
    if unknown:
        listed = ", ".join(names[:30]) + (" ..." if len(names) > 30 else "")
        raise InvalidInput(f"no column {unknown[0]!r} to change; the columns are {listed}")
    notes = []
    for key, choice in choices.items():
        i = names.index(key)
        if choice.type is not None:
            target = stored_type(choice.type)
            if target != types[i]:
                exprs[i] = checked_cast(exprs[i], source_types[i], target, labels[i])
                notes.append(f"column {key!r} stored as {_friendly(target)}, as chosen")
                types[i] = target
        if choice.name is not None and choice.name.strip() and choice.name.strip() != key:
            text = choice.name.strip()
            new = identifier(text, "")
            if not new or new in RESERVED:
                raise InvalidInput(f"column name {text[:40]!r} cannot be used: give letters, digits and '_'")
            names[i] = new
            if new != text:
                labels[i] = text
            notes.append(f"column {key!r} renamed {new!r}")
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise InvalidInput(f"two columns would be named {name!r} (columns {seen[name] + 1} and {i + 1})")
        seen[name] = i
    return notes


def checked_cast(expr: str, source_type: str, target: str, label: str) -> str:
    """SQL that casts `expr` to `target`, or fails on the first value that does not fit unchanged."""
    if target == "VARCHAR":
        return f"CAST({expr} AS VARCHAR)"
    converted = f"TRY_CAST({expr} AS {target})"
    wrong = f"{converted} IS NULL"
    if source_type.upper() not in ("VARCHAR", "TEXT", "STRING"):
        wrong += f" OR CAST({converted} AS {source_type}) <> {expr}"  # the value would change on the way
    what = _friendly(target)
    article = "an" if what[0] in "aeiou" else "a"
    message = f'column "{label}": the value \''
    tail = f"' is not {article} {what}"
    return (
        f"CASE WHEN {expr} IS NOT NULL AND ({wrong}) "
        f"THEN error({_literal(message)} || CAST({expr} AS VARCHAR) || {_literal(tail)}) "
        f"ELSE {converted} END"
    )


def _friendly(sql_type: str) -> str:
    return next((friendly for friendly, t in TYPE_MENU if t == sql_type), sql_type.lower())


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def apply_visibility(platform: Platform, user: Person, ident: str, visibility: str) -> str:
    """The person's visibility, set by governance's own function (its rule, its audit record)."""
    from threshold.governance.controls import set_visibility

    try:
        set_visibility(platform, user, ident, visibility)
    except ThresholdError as e:  # checked before the share began; if it fails now the dataset stays restricted
        return f"visibility not set ({e}); {ident} stays restricted until an owner sets it"
    return f"visibility {visibility}"


def check_visibility(user: Person, domain: str, mode: str, visibility: str | None) -> None:
    """A visibility chosen with a share: a known one, on a new dataset, by someone governance lets set it."""
    if visibility is None:
        return
    from threshold.governance.controls import check_may_set_visibility

    if visibility not in VISIBILITIES:
        raise InvalidInput(f"visibility must be one of {', '.join(VISIBILITIES)}")
    if mode != "create":
        raise InvalidInput(
            "a visibility is chosen when a dataset is created; an existing dataset's visibility is set by its owners"
        )
    check_may_set_visibility(user, domain)
