"""A subject's value compared as what a column holds: as an Iceberg value (row filters, manifest bounds) and
as an Arrow value (decoded data files, kept results)."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.types import (
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IcebergType,
    IntegerType,
    LongType,
    StringType,
)

from threshold.erasure.subjects import Subject


def typed(value: str, t: IcebergType) -> Any:
    """`value` as a value of the column type `t`; None when it cannot be one (the column cannot hold it)."""
    try:
        if isinstance(t, StringType):
            return value
        if isinstance(t, (IntegerType, LongType)):
            return int(value)
        if isinstance(t, (FloatType, DoubleType)):
            return float(value)
        if isinstance(t, DecimalType):
            return decimal.Decimal(value)
        if isinstance(t, DateType):
            return dt.date.fromisoformat(value)
    except (ValueError, ArithmeticError):
        return None
    return None


def _arrow_value(value: str, t: pa.DataType) -> Any:
    try:
        if pa.types.is_dictionary(t):
            return _arrow_value(value, t.value_type)
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return value
        if pa.types.is_integer(t):
            return int(value)
        if pa.types.is_floating(t):
            return float(value)
        if pa.types.is_decimal(t):
            return decimal.Decimal(value)
        if pa.types.is_date(t):
            return dt.date.fromisoformat(value)
    except (ValueError, ArithmeticError):
        return None
    return None


def holds(column: pa.ChunkedArray | pa.Array, value: str) -> bool:
    """Whether an Arrow column holds `value` (compared as the column's type)."""
    t = column.type
    if pa.types.is_dictionary(t):
        column = column.cast(t.value_type)
        t = t.value_type
    v = _arrow_value(value, t)
    if v is None:
        return False
    try:
        return bool(pc.any(pc.equal(column, pa.scalar(v, type=t))).as_py())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False


def tables_hold(table: pa.Table, subjects: list[Subject]) -> list[tuple[str, Subject]]:
    """(column, subject) for every top-level column of `table` that holds a subject's value."""
    return [(name, sub) for name in table.column_names for sub in subjects if holds(table.column(name), sub.value)]
