"""Names: domain and dataset names are checked, column names are normalised to safe SQL identifiers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from threshold.errors import InvalidInput

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

# SQL keywords that cannot stand unquoted as a column name in DuckDB (reserved category).
RESERVED = frozenset(
    """all analyse analyze and any array as asc asymmetric both case cast check collate column constraint
    create default deferrable desc describe distinct do else end except false fetch for foreign from grant
    group having in initially intersect into lateral leading limit localtime localtimestamp not null offset
    on only or order pivot pivot_longer pivot_wider placing primary qualify references returning select
    show summarize symmetric table then to trailing true union unique unpivot using variadic when where
    window with""".split()
)


def check_name(kind: str, name: str) -> str:
    """A domain or dataset name as given by a person: accepted as-is or refused with the rule."""
    if not isinstance(name, str) or not NAME_RE.match(name) or name in RESERVED:
        shown = name if len(str(name)) <= 40 else str(name)[:40] + "…"
        raise InvalidInput(
            f"invalid {kind} name {shown!r}: use lower-case letters, digits and '_', starting with a letter"
            " (at most 63 characters, not an SQL keyword)"
        )
    return name


def identifier(text: str, fallback: str) -> str:
    """Any text -> a lower-case SQL identifier (ASCII letters, digits, '_'), or `fallback` when nothing is left."""
    folded = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    ident = re.sub(r"[^a-z0-9]+", "_", folded.lower()).strip("_")
    if not ident:
        return fallback
    if ident[0].isdigit():
        ident = f"c_{ident}"
    ident = ident[:63].rstrip("_")
    if ident in RESERVED:
        ident = f"{ident}_"
    return ident


def name_from_file(path: Path) -> str:
    stem = path.name
    for suffix in reversed(path.suffixes):
        stem = stem[: -len(suffix)] if stem.endswith(suffix) else stem
    return identifier(stem, "dataset")


def column_names(labels: Sequence[str]) -> list[str]:
    """Normalised, unique column names for source labels. Exact duplicate labels are refused."""
    seen_labels: dict[str, int] = {}
    for i, label in enumerate(labels):
        if label in seen_labels:
            raise InvalidInput(
                f"duplicate column name {label!r} (columns {seen_labels[label] + 1} and {i + 1}); "
                "rename one and share again"
            )
        seen_labels[label] = i
    names: list[str] = []
    used: set[str] = set()
    for i, label in enumerate(labels):
        base = identifier(label, f"column_{i + 1}")
        name, n = base, 2
        while name in used:
            name = f"{base[:59]}_{n}"
            n += 1
        used.add(name)
        names.append(name)
    return names
