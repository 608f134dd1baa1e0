"""What a detector looks at (`Column`: a label, a sample of values, a type) and what it says (`Detection`).

Shared by every detector and by `detection.detect_column`, which runs them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

MAX_SAMPLE = 1000
"""Values looked at per column; longer samples are thinned evenly, so detection stays fast."""


@dataclass(frozen=True)
class Detection:
    tag: str
    """What the column holds, e.g. "personal.email"."""
    confidence: float
    """0..1: how sure the detector is, from the share of matching values and whether the label agreed."""
    reason: str
    """One line for a person, e.g. "97% of 200 sampled values look like e-mail addresses"; never a value."""


# Letters that Unicode does not decompose into a base letter plus accents.
_UNDECOMPOSED = str.maketrans(
    {"ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ł": "l", "Ł": "L", "đ": "d"}
    | {"Đ": "D", "ð": "d", "þ": "th", "ı": "i"}
)


def fold(text: str) -> str:
    """Lower-case text without accents, so labels and names compare across spellings: "Prénom" -> "prenom"."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSED))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


_NOT_TEXT = (
    "DOUBLE",
    "FLOAT",
    "REAL",
    "DECIMAL",
    "NUMERIC",
    "DATE",
    "TIME",
    "INTERVAL",
    "BOOL",
    "BLOB",
    "UUID",
)
"""Type names (and prefixes: TIMESTAMP WITH TIME ZONE, BOOLEAN) whose values cannot be text identifiers."""


@dataclass(frozen=True)
class Column:
    """What a detector sees: the original label, a sample of non-null values and the engine type."""

    name: str
    values: Sequence[object]
    dtype: str | None = None

    @cached_property
    def words(self) -> tuple[str, ...]:
        """The label as folded lower-case words: "dateOfBirth" -> (date, of, birth), "Prénom" -> (prenom,)."""
        return tuple(w for w in _NOT_WORD.split(fold(_CAMEL.sub(" ", self.name))) if w)

    @cached_property
    def compact(self) -> str:
        """The words run together, to find compounds and phrases: "Telefon-Nummer" -> "telefonnummer"."""
        return "".join(self.words)

    @cached_property
    def sample(self) -> list[object]:
        """Non-empty values, thinned evenly to at most `MAX_SAMPLE`."""
        kept = [v for v in self.values if v is not None and not (isinstance(v, str) and not v.strip())]
        if len(kept) > MAX_SAMPLE:
            step = len(kept) / MAX_SAMPLE
            kept = [kept[int(i * step)] for i in range(MAX_SAMPLE)]
        return kept

    @cached_property
    def size(self) -> int:
        """How many sampled values there are: the denominator of every share."""
        return len(self.sample)

    @cached_property
    def texts(self) -> list[str]:
        """Text forms of the string and integer values (stripped); other types have no text form here."""
        out: list[str] = []
        for v in self.sample:
            if isinstance(v, str):
                out.append(v.strip())
            elif isinstance(v, int) and not isinstance(v, bool):
                out.append(str(v))
        return out

    @cached_property
    def textual(self) -> bool:
        """False when the engine type says the values are not text or integers (DOUBLE, DATE, BOOLEAN ...)."""
        kind = (self.dtype or "").split("(")[0].strip().upper()
        return not kind.startswith(_NOT_TEXT)
