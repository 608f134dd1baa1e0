"""A query result as the pages show it: columns (with whether they are numeric) and JSON-safe rows."""

from __future__ import annotations

from typing import Any

import pyarrow as pa


def result_columns(table: pa.Table) -> list[dict[str, Any]]:
    numeric = (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal)
    return [
        {"name": f.name, "type": str(f.type), "numeric": any(test(f.type) for test in numeric)} for f in table.schema
    ]
