"""PostgreSQL types of Arrow columns, their values in text and binary format, and parameters as SQL literals."""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from threshold.errors import InvalidInput

BOOL, BYTEA, NAME, INT8, INT2, INT4, TEXT, OID, JSON = 16, 17, 19, 20, 21, 23, 25, 26, 114
FLOAT4, FLOAT8, UNKNOWN, VARCHAR, DATE, TIME, TIMESTAMP, TIMESTAMPTZ = 700, 701, 705, 1043, 1082, 1083, 1114, 1184
INTERVAL, NUMERIC, UUID = 1186, 1700, 2950

SIZES = {BOOL: 1, INT2: 2, INT4: 4, INT8: 8, FLOAT4: 4, FLOAT8: 8, DATE: 4, TIMESTAMP: 8, TIMESTAMPTZ: 8, OID: 4}
NAMES = {
    BOOL: "boolean",
    BYTEA: "bytea",
    INT8: "bigint",
    INT2: "smallint",
    INT4: "integer",
    TEXT: "text",
    JSON: "json",
    FLOAT4: "real",
    FLOAT8: "double precision",
    DATE: "date",
    TIME: "time",
    TIMESTAMP: "timestamp",
    TIMESTAMPTZ: "timestamptz",
    INTERVAL: "interval",
    NUMERIC: "numeric",
    UUID: "uuid",
}
_EPOCH = date(2000, 1, 1)
_EPOCH_DT = datetime(2000, 1, 1)


def oid_of(t: pa.DataType) -> int:
    """The PostgreSQL type an Arrow column is sent as."""
    if pa.types.is_boolean(t):
        return BOOL
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t):
        return INT2
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return INT4
    if pa.types.is_int64(t) or pa.types.is_uint32(t):
        return INT8
    if pa.types.is_uint64(t) or pa.types.is_decimal(t):
        return NUMERIC
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return FLOAT4
    if pa.types.is_float64(t):
        return FLOAT8
    if pa.types.is_date(t):
        return DATE
    if pa.types.is_timestamp(t):
        return TIMESTAMPTZ if t.tz else TIMESTAMP
    if pa.types.is_time(t):
        return TIME
    if pa.types.is_duration(t) or pa.types.is_interval(t):
        return INTERVAL
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return BYTEA
    if pa.types.is_nested(t):
        return JSON
    return TEXT


BINARY = {
    BOOL,
    INT2,
    INT4,
    INT8,
    FLOAT4,
    FLOAT8,
    TEXT,
    BYTEA,
    DATE,
    TIMESTAMP,
    TIMESTAMPTZ,
    NUMERIC,
    TIME,
    JSON,
    INTERVAL,
}
"""Types sent in binary format when the client asks (every type this module maps to)."""


def encode_column(col: pa.Array | pa.ChunkedArray, oid: int, binary: bool) -> list[bytes | None]:
    """One column's values as the client reads them (text format unless `binary` and the type allows)."""
    if binary and oid in BINARY:
        return _binary(col, oid)
    t = col.type
    if oid == BOOL:
        strings = pc.if_else(col, "t", "f")
    elif oid == BYTEA:
        return [None if v is None else b"\\x" + v.hex().encode() for v in col.to_pylist()]
    elif oid == JSON:
        return [None if v is None else json.dumps(v, default=str).encode() for v in col.to_pylist()]
    elif oid in (INTERVAL, TIME) or pa.types.is_dictionary(t):
        return [None if v is None else str(v).encode() for v in col.to_pylist()]
    else:
        try:
            strings = (
                col
                if oid == TEXT and (pa.types.is_string(t) or pa.types.is_large_string(t))
                else pc.cast(col, pa.string())
            )
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            return [None if v is None else str(v).encode() for v in col.to_pylist()]
        if oid in (FLOAT4, FLOAT8):
            strings = pc.replace_substring_regex(strings, "^inf$", "Infinity")
            strings = pc.replace_substring_regex(strings, "^-inf$", "-Infinity")
            strings = pc.replace_substring_regex(strings, "^nan$", "NaN")
        elif oid == TIMESTAMPTZ:
            strings = pc.replace_substring_regex(strings, "Z$", "+00")
    return [None if v is None else v.encode() for v in strings.to_pylist()]


_PACK: dict[int, Callable[[Any], bytes]] = {
    BOOL: lambda v: b"\x01" if v else b"\x00",
    INT2: struct.Struct("!h").pack,
    INT4: struct.Struct("!i").pack,
    INT8: struct.Struct("!q").pack,
    FLOAT4: struct.Struct("!f").pack,
    FLOAT8: struct.Struct("!d").pack,
    TEXT: lambda v: str(v).encode(),
    BYTEA: bytes,
    DATE: lambda v: struct.pack("!i", (v - _EPOCH).days),
    TIMESTAMP: lambda v: struct.pack("!q", _micros(v.replace(tzinfo=None) - _EPOCH_DT)),
    TIMESTAMPTZ: lambda v: struct.pack("!q", _micros(v.astimezone(UTC).replace(tzinfo=None) - _EPOCH_DT)),
    NUMERIC: lambda v: _numeric(v),
    TIME: lambda v: struct.pack("!q", ((v.hour * 60 + v.minute) * 60 + v.second) * 1_000_000 + v.microsecond),
    JSON: lambda v: json.dumps(v, default=str).encode(),
    INTERVAL: lambda v: _interval(v),
}


def _numeric(v: Any) -> bytes:
    """PostgreSQL's binary numeric: base-10000 digits with a weight, a sign and a display scale."""
    d = v if isinstance(v, Decimal) else Decimal(v)
    if d.is_nan():
        return struct.pack("!hhHh", 0, 0, 0xC000, 0)
    if not d.is_finite():
        return struct.pack("!hhHh", 0, 0, 0xF000 if d.is_signed() else 0xD000, 0)
    exponent = d.as_tuple().exponent
    scale = max(-exponent, 0) if isinstance(exponent, int) else 0
    whole, _, fraction = format(abs(d), "f").partition(".")
    whole = whole.lstrip("0")
    whole = whole.zfill(-(-len(whole) // 4) * 4) if whole else ""
    fraction += "0" * (-len(fraction) % 4)
    groups = [int(whole[i : i + 4]) for i in range(0, len(whole), 4)]
    groups += [int(fraction[i : i + 4]) for i in range(0, len(fraction), 4)]
    weight = len(whole) // 4 - 1
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    head = struct.pack("!hhHh", len(groups), weight, 0x4000 if d.is_signed() and groups else 0, scale)
    return head + b"".join(struct.pack("!H", g) for g in groups)


def _interval(v: Any) -> bytes:
    if isinstance(v, timedelta):
        return struct.pack("!qii", _micros(v), 0, 0)
    return struct.pack("!qii", int(v.nanoseconds) // 1000, int(v.days), int(v.months))


def _micros(d: timedelta) -> int:
    return (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds


def _binary(col: pa.Array | pa.ChunkedArray, oid: int) -> list[bytes | None]:
    pack = _PACK[oid]
    return [None if v is None else pack(v) for v in col.to_pylist()]


# -- parameters -----------------------------------------------------------------------------------

_INTS = {INT2, INT4, INT8, OID}


def literal(value: bytes | None, oid: int, binary: bool) -> str:
    """A parameter's value as a SQL literal of its declared type, quoted so no value can become SQL."""
    if value is None:
        return "NULL"
    if binary:
        return _binary_literal(value, oid)
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("a parameter is not UTF-8 text") from None
    if oid in _INTS:
        if not text.strip().lstrip("+-").isdigit():
            raise InvalidInput(f"parameter {text[:40]!r} is not an integer")
        return str(int(text))
    if oid in (FLOAT4, FLOAT8, NUMERIC):
        try:
            number = Decimal(text.strip())
        except InvalidOperation:
            raise InvalidInput(f"parameter {text[:40]!r} is not a number") from None
        if not number.is_finite():
            return f"CAST({quote(text.strip())} AS DOUBLE)"
        return f"CAST({quote(str(number))} AS {'DOUBLE' if oid != NUMERIC else 'DECIMAL(38, 10)'})"
    if oid == BOOL:
        word = text.strip().lower()
        if word in ("t", "true", "1", "yes", "on", "y"):
            return "TRUE"
        if word in ("f", "false", "0", "no", "off", "n"):
            return "FALSE"
        raise InvalidInput(f"parameter {text[:40]!r} is not a boolean")
    if oid in (DATE, TIMESTAMP, TIMESTAMPTZ, TIME):
        kind = {DATE: "DATE", TIMESTAMP: "TIMESTAMP", TIMESTAMPTZ: "TIMESTAMPTZ", TIME: "TIME"}[oid]
        return f"CAST({quote(text)} AS {kind})"
    return quote(text)


def _binary_literal(value: bytes, oid: int) -> str:
    formats = {INT2: "!h", INT4: "!i", INT8: "!q", OID: "!I", FLOAT4: "!f", FLOAT8: "!d"}
    try:
        if oid in formats:
            (number,) = struct.unpack(formats[oid], value)
            if isinstance(number, float) and not math.isfinite(number):
                return f"CAST('{number}' AS DOUBLE)"
            return repr(number) if isinstance(number, float) else str(number)
        if oid == BOOL and len(value) == 1:
            return "TRUE" if value != b"\x00" else "FALSE"
        if oid in (TEXT, VARCHAR, UNKNOWN, NAME, JSON, 0):
            return quote(value.decode("utf-8"))
        if oid == DATE:
            (days,) = struct.unpack("!i", value)
            return f"DATE '{(_EPOCH + timedelta(days=days)).isoformat()}'"
        if oid in (TIMESTAMP, TIMESTAMPTZ):
            (micros,) = struct.unpack("!q", value)
            at = _EPOCH_DT + timedelta(microseconds=micros)
            if oid == TIMESTAMPTZ:
                return f"TIMESTAMPTZ '{at.isoformat(sep=' ')}+00'"
            return f"TIMESTAMP '{at.isoformat(sep=' ')}'"
    except (struct.error, UnicodeDecodeError, OverflowError):
        raise InvalidInput(f"a binary parameter does not hold a {NAMES.get(oid, 'value')}") from None
    raise InvalidInput(f"binary parameters of type {NAMES.get(oid, oid)} are not supported: send them as text")


def quote(text: str) -> str:
    """A SQL string literal: quotes doubled (DuckDB and standard PostgreSQL strings know no backslash escape)."""
    if "\x00" in text:
        raise InvalidInput("a parameter holds a NUL character")
    return "'" + text.replace("'", "''") + "'"
