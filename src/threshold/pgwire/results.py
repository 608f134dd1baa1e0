"""Results as the client reads them: RowDescription fields of an Arrow schema and DataRow messages of a batch."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pyarrow as pa

from threshold.gateway.stream import QueryStream
from threshold.pgwire import types

Field = tuple[str, int, int, int]
"""(name, type oid, type size, format) of one result column."""

_INT32 = struct.Struct("!i")
_NULL = b"\xff\xff\xff\xff"


def fields_of(schema: pa.Schema, formats: list[int]) -> list[Field]:
    out = []
    for i, f in enumerate(schema):
        oid = types.oid_of(f.type)
        asked = formats[0] if len(formats) == 1 else formats[i] if i < len(formats) else 0
        fmt = 1 if asked == 1 and oid in types.BINARY else 0
        out.append((f.name, oid, types.SIZES.get(oid, -1), fmt))
    return out


def encode(table: pa.Table | pa.RecordBatch, fields: list[Field]) -> list[bytes]:
    """DataRow messages of a batch: each cell framed once per column, each row joined once."""
    if not fields:
        return []
    pack = _INT32.pack
    cells = [
        [_NULL if v is None else pack(len(v)) + v for v in types.encode_column(table.column(i), oid, fmt == 1)]
        for i, (_n, oid, _s, fmt) in enumerate(fields)
    ]
    head = struct.pack("!h", len(fields))
    out = []
    for parts in zip(*cells, strict=True):
        body = b"".join(parts)
        out.append(b"D" + pack(len(body) + 6) + head + body)
    return out


def next_rows(rows: Iterator[list[bytes]]) -> list[bytes] | None:
    return next(rows, None)


def batches(stream: QueryStream, fields: list[Field]) -> Iterator[list[bytes]]:
    for batch in stream.batches():
        yield encode(batch, fields)
