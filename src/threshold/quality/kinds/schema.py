"""The schema kind: expected columns and types, as a contract states them (no rows read)."""

from __future__ import annotations

import re
from typing import Any

from threshold.errors import InvalidInput
from threshold.quality.kinds.base import Context, Kind, Outcome, try_literals

_LOGICAL = {
    "text": ("VARCHAR",),
    "varchar": ("VARCHAR",),
    "int": ("INTEGER",),
    "long": ("BIGINT",),
    "double": ("DOUBLE",),
    "float": ("FLOAT", "DOUBLE"),
    "decimal": ("DECIMAL",),
    "bool": ("BOOLEAN",),
    "datetime": ("TIMESTAMP", "TIMESTAMPTZ"),
    "binary": ("BLOB",),
    "uuid": ("UUID",),
}
"""Family names besides the ODCS logical types (`ODCS_LOGICAL`), each with the lake types it accepts."""


class SchemaKind(Kind):
    name = "schema"
    label = "schema"

    def normalise(self, options: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
        raw = options.get("columns")
        if isinstance(raw, str):
            raw = [part for part in raw.split(",") if part.strip()]
        expected: list[dict[str, str]] = []
        for c in raw or []:
            if isinstance(c, dict):
                expected.append({"name": str(c.get("name") or "").strip(), "type": str(c.get("type") or "").strip()})
            else:  # "name" or "name:TYPE"
                name, _, typ = str(c).partition(":")
                expected.append({"name": name.strip(), "type": typ.strip()})
        if any(not c["name"] for c in expected):
            raise InvalidInput("every expected column needs a name")
        if raw is None or raw == []:  # the schema as it is now
            expected = [{"name": n, "type": t} for n, t in types.items()]
        if not expected:
            raise InvalidInput("list the expected columns, e.g. --expect plant:VARCHAR,day:DATE")
        for c in expected:
            if c["type"] and not _known_type(c["type"]):
                raise InvalidInput(f"unknown type {c['type']!r} for {c['name']}")
        return {"columns": expected, "allow_extra": bool(options.get("allow_extra", True))}

    def columns(self, options: dict[str, Any]) -> list[str]:
        return []

    def needs_rows(self, options: dict[str, Any]) -> bool:
        return False

    def title(self, options: dict[str, Any]) -> str:
        n = len(options["columns"])
        return f"schema has the {n} expected column{'s' if n != 1 else ''}" + (
            "" if options.get("allow_extra", True) else " and no others"
        )

    def evaluate(self, options: dict[str, Any], values: list[Any], ctx: Context) -> Outcome:
        problems, columns = [], []
        for c in options["columns"]:
            actual = ctx.types.get(c["name"])
            if actual is None:
                problems.append(f"{c['name']} is missing")
            elif c["type"] and not type_matches(c["type"], actual):
                problems.append(f"{c['name']} is {actual}, expected {c['type']}")
            columns.append(
                {
                    "name": c["name"],
                    "expected": c["type"] or None,
                    "actual": actual,
                    "ok": actual is not None and (not c["type"] or type_matches(c["type"], actual)),
                }
            )
        if not options.get("allow_extra", True):
            known = {c["name"] for c in options["columns"]}
            problems.extend(f"{n} is not expected" for n in ctx.types if n not in known)
        message = "; ".join(problems) if problems else "every expected column is there with its type"
        return Outcome(
            "fail" if problems else "pass",
            failing=len(problems),
            message=message,
            detail={"problems": problems, "columns": columns},
        )


def _known_type(expected: str) -> bool:
    """A logical type of ODCS, or a type DuckDB knows (tried on an empty database)."""
    if expected.strip().lower() in _LOGICAL or expected.strip().lower() in ODCS_LOGICAL:
        return True
    if not re.fullmatch(r"[A-Za-z0-9_(), \[\]]+", expected):
        return False
    try:
        try_literals([f"CAST(NULL AS {expected})"])
    except InvalidInput:
        return False
    return True


ODCS_LOGICAL = ("string", "integer", "number", "boolean", "date", "timestamp", "time", "object", "array")
"""The logical types of ODCS v3: a lake type has exactly one (`logical_type`)."""


def logical_type(lake_type: str) -> str:
    """The ODCS logical type of a lake (DuckDB) column type."""
    t = lake_type.upper()
    if t.endswith("[]") or t.startswith("LIST"):
        return "array"
    if t.startswith(("STRUCT", "MAP")):
        return "object"
    if t.startswith(("DECIMAL", "NUMERIC")) or t in ("DOUBLE", "FLOAT", "REAL"):
        return "number"
    if t in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT"):
        return "integer"
    if t == "BOOLEAN":
        return "boolean"
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t.startswith("TIME"):
        return "time"
    return "string"


def type_matches(expected: str, actual: str) -> bool:
    """A contract's type against the lake's: an ODCS logical type (the lake type's `logical_type`; an
    integer is a number too), another family name (`text`, `long`, `datetime`...), or an exact DuckDB type
    (`DECIMAL(15,2)`), case and spaces ignored."""
    key = expected.strip().lower()
    norm_actual = "".join(actual.upper().split())
    if key in ODCS_LOGICAL:
        have = logical_type(actual)
        return have == key or (key == "number" and have == "integer")
    if key in _LOGICAL:
        for family in _LOGICAL[key]:
            if family == "[]" and norm_actual.endswith("]"):
                return True
            if norm_actual == family or norm_actual.startswith(family + "("):  # DECIMAL(15,2), STRUCT(...)
                return True
        return False
    aliases = {
        "INT": "INTEGER",
        "INT4": "INTEGER",
        "INT8": "BIGINT",
        "LONG": "BIGINT",
        "STRING": "VARCHAR",
        "TEXT": "VARCHAR",
        "FLOAT8": "DOUBLE",
        "BOOL": "BOOLEAN",
        "TIMESTAMPWITHTIMEZONE": "TIMESTAMPTZ",
    }
    norm_expected = "".join(expected.upper().split())
    return aliases.get(norm_expected, norm_expected) == aliases.get(norm_actual, norm_actual)
