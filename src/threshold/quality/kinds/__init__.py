"""Check kinds: a registry, one small class each (add a kind = one class + one registration line).

A kind validates its options against the dataset's schema and says how it is evaluated:
- *row kinds* (not null, accepted values, range, regular expression) are a predicate that marks failing
  rows: one `count_if(...)` in the dataset's single scan, and the same predicate samples
  failing rows. At an append they judge the appended rows only;
- *scan kinds* (unique, row count, freshness of a column) add aggregates to the same single scan;
- *metadata kinds* (schema, freshness of the last snapshot) read no rows at all;
- the *custom SQL* kind runs its own query (the failing rows), through the same parse wall as anyone's.

Failing counts, exactly: not null, accepted values, range, regex count the rows that break the rule
(NULLs pass every rule but not null); unique counts the rows that repeat a key seen before
(`count(key) - count(DISTINCT key)`, rows with a NULL in the key ignored); schema counts the problems
(missing columns, wrong types, unexpected columns); custom SQL counts the rows its query returns.
"""

from __future__ import annotations

from threshold.errors import InvalidInput
from threshold.quality.kinds.base import SAMPLE_ROWS, CheckSpec, Context, Kind, Outcome, RowRule
from threshold.quality.kinds.rows import AcceptedValues, NotNull, Range, Regex
from threshold.quality.kinds.schema import SchemaKind, type_matches
from threshold.quality.kinds.sql import CustomSql
from threshold.quality.kinds.table import Freshness, RowCount, Unique

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        NotNull(),
        Unique(),
        AcceptedValues(),
        Range(),
        Regex(),
        RowCount(),
        Freshness(),
        SchemaKind(),
        CustomSql(),
    )
}
"""Kind name -> kind. Register a new kind here."""

_ALIASES = {
    "notnull": "not_null",
    "not_null": "not_null",
    "required": "not_null",
    "unique": "unique",
    "uniqueness": "unique",
    "accepted_values": "accepted_values",
    "accepted": "accepted_values",
    "values": "accepted_values",
    "in": "accepted_values",
    "enum": "accepted_values",
    "range": "range",
    "between": "range",
    "regex": "regex",
    "regexp": "regex",
    "pattern": "regex",
    "regular_expression": "regex",
    "row_count": "row_count",
    "rowcount": "row_count",
    "rows": "row_count",
    "freshness": "freshness",
    "fresh": "freshness",
    "schema": "schema",
    "sql": "sql",
    "custom_sql": "sql",
    "custom": "sql",
    "assertion": "sql",
}


def kind_of(name: str) -> Kind:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key in _ALIASES:
        return KINDS[_ALIASES[key]]
    raise InvalidInput(f"unknown check kind {name[:40]!r}; use one of {', '.join(KINDS)}")


__all__ = [
    "KINDS",
    "SAMPLE_ROWS",
    "CheckSpec",
    "Context",
    "CustomSql",
    "Kind",
    "Outcome",
    "RowRule",
    "kind_of",
    "type_matches",
]
