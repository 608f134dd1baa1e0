"""DuckDB types -> the types an Iceberg table can hold, as SQL cast targets."""

from __future__ import annotations

import re

_DIRECT = {
    "BOOLEAN",
    "INTEGER",
    "BIGINT",
    "FLOAT",
    "DOUBLE",
    "DATE",
    "TIME",
    "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE",
    "VARCHAR",
    "BLOB",
}
_WIDEN = {
    "TINYINT": "INTEGER",
    "SMALLINT": "INTEGER",
    "UTINYINT": "INTEGER",
    "USMALLINT": "INTEGER",
    "UINTEGER": "BIGINT",
    "UBIGINT": "DECIMAL(38,0)",
    "HUGEINT": "DECIMAL(38,0)",
    "UHUGEINT": "DECIMAL(38,0)",
    "TIMESTAMP_NS": "TIMESTAMP",
    "TIMESTAMP_MS": "TIMESTAMP",
    "TIMESTAMP_S": "TIMESTAMP",
    "REAL": "FLOAT",
}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")


def lake_type(duckdb_type: str) -> str:
    """The DuckDB type a column is cast to before it is written to the lake.

    Nested types are kept when every part fits, else stored as text; anything Iceberg cannot hold
    (intervals, bit strings, enums, unions, JSON, UUID, all-NULL columns) becomes VARCHAR.
    """
    t = duckdb_type.strip().upper()
    if t in _DIRECT:
        return t
    if t in _WIDEN:
        return _WIDEN[t]
    m = _DECIMAL.match(t)
    if m:
        return t if int(m.group(1)) <= 38 else "DOUBLE"
    if t.startswith(("STRUCT(", "MAP(")) or t.endswith("[]"):
        inner = re.findall(r"[A-Z_]+(?:\(\d+,\s*\d+\))?", t)
        ok = all(
            tok in _DIRECT or tok in ("STRUCT", "MAP", "DECIMAL") or _DECIMAL.match(tok) or tok.isidentifier()
            for tok in inner
        )
        if ok and not any(
            tok in _WIDEN or tok in ("INTERVAL", "UUID", "JSON", "BIT", "UNION", "NULL") for tok in inner
        ):
            return duckdb_type
        return "VARCHAR"
    return "VARCHAR"
