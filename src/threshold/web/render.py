"""Turning results into what people read: JSON rows, CSV, Excel."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from threshold.interface.exports import jsonable as _jsonable


def rows(table: pa.Table) -> list[dict[str, Any]]:
    return [{k: _jsonable(v) for k, v in row.items()} for row in table.to_pylist()]


def rows_as_json(table: pa.Table) -> str:
    """An array of row objects (column name -> value)."""
    return json.dumps(rows(table), ensure_ascii=False)
