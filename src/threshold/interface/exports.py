"""Results as files, written batch by batch: CSV, NDJSON, JSON and Arrow IPC streams, and Excel workbooks.

Server memory does not grow with the result: each encoder turns one batch into bytes and lets it go.

Spreadsheet-bound exports (CSV and XLSX) are neutralised against formula injection the way OWASP
recommends: a text value (or column name) that starts with `=`, `+`, `-`, `@`, a tab or a carriage
return gets a leading `'`, so a spreadsheet shows it as text instead of running it. Numbers stay
numbers. An XLSX file writes text cells as strings (never formulas) and says what it did on its
"About" sheet and in its properties; a CSV response says it in the `X-Threshold-Neutralised` header
(a note line inside a CSV would break every program that reads it).
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from threshold.formulas import NEUTRALISED, neutralise  # the one rule of every spreadsheet-bound export


@dataclass
class ExportSummary:
    """What an export did, filled in while it is written: rows, values neutralised, and the stream's end."""

    rows: int = 0
    neutralised: int = 0
    notes: list[str] = field(default_factory=list)
    error: str | None = None


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _flat(t: pa.DataType) -> bool:
    return not (
        pa.types.is_nested(t) or pa.types.is_dictionary(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t)
    )


def neutralise_batch(batch: pa.RecordBatch, summary: ExportSummary | None = None) -> pa.RecordBatch:
    """Text columns with formula starts prefixed (vectorised); nested and binary values as JSON/hex text first."""
    arrays, names = [], []
    for name, col in zip(batch.schema.names, batch.columns, strict=True):
        t = col.type
        if pa.types.is_dictionary(t):
            col = col.cast(t.value_type)
            t = col.type
        if not _flat(t):
            col = pa.array([None if v is None else _text(v) for v in col.to_pylist()], type=pa.string())
            t = col.type
        if _is_text(t):
            text = col.cast(pa.string()) if not pa.types.is_string(t) else col
            hit = pc.fill_null(pc.match_substring_regex(text, "^[=+\\-@\t\r]"), False)
            count = pc.sum(hit).as_py() or 0
            if count:
                col = pc.if_else(hit, pc.binary_join_element_wise("'", text, ""), text)
                if summary is not None:
                    summary.neutralised += count
        arrays.append(col)
        names.append(neutralise(name))
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.hex()
    return json.dumps(jsonable(v), ensure_ascii=False)


def csv_chunks(schema: pa.Schema, batches: Iterable[pa.RecordBatch], summary: ExportSummary) -> Iterator[bytes]:
    """A CSV file (header, then rows), neutralised; one chunk per batch."""
    import pyarrow.csv as pacsv

    header = pa.RecordBatch.from_pylist([], schema=pa.schema([(n, pa.string()) for n in schema.names]))
    buf = io.BytesIO()
    pacsv.write_csv(neutralise_batch(header), buf)
    yield buf.getvalue()
    for batch in batches:
        safe = neutralise_batch(batch, summary)
        buf = io.BytesIO()
        pacsv.write_csv(safe, buf, pacsv.WriteOptions(include_header=False))
        summary.rows += batch.num_rows
        yield buf.getvalue()


_encode = json.JSONEncoder(ensure_ascii=False).encode
"""`json.dumps(value, ensure_ascii=False)` without making an encoder for each call."""


def json_rows(batch: pa.RecordBatch) -> list[str]:
    """Each row of `batch` as the JSON object `json.dumps({name: jsonable(value)}, ensure_ascii=False)` writes,
    byte for byte, made column by column: each value is encoded once, with the column's own rule (integers,
    text and booleans need no `jsonable`), and each row is the column names' encodings and its values' in
    one format string: a dict per row, encoded whole, was most of a large streamed result's CPU (~4 us a row)."""
    names = batch.schema.names
    if not names:
        return ["{}"] * batch.num_rows
    if len(set(names)) != len(names):  # a dict keeps one value per name: as `json.dumps` of one does
        return [_encode({k: jsonable(v) for k, v in zip(names, row, strict=True)}) for row in _rows(batch)]
    template = "{" + ", ".join(_encode(n).replace("%", "%%") + ": %s" for n in names) + "}"
    columns = [_json_values(col) for col in batch.columns]
    return [template % row for row in zip(*columns, strict=True)]


def _rows(batch: pa.RecordBatch) -> Iterator[tuple[Any, ...]]:
    return zip(*(col.to_pylist() for col in batch.columns), strict=True)


def _json_values(col: pa.Array) -> list[str]:
    """The JSON text of each value of `col` (`null` for a missing one)."""
    t, values = col.type, col.to_pylist()
    if pa.types.is_integer(t):
        return ["null" if v is None else int.__repr__(v) for v in values]
    if pa.types.is_boolean(t):
        return ["null" if v is None else "true" if v else "false" for v in values]
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return ["null" if v is None else _encode(v) for v in values]
    return [_encode(jsonable(v)) for v in values]


def ndjson_chunks(batches: Iterable[pa.RecordBatch], summary: ExportSummary) -> Iterator[bytes]:
    """One JSON object per line."""
    for batch in batches:
        lines = json_rows(batch)
        summary.rows += batch.num_rows
        if lines:
            yield ("\n".join(lines) + "\n").encode()


def json_chunks(
    schema: pa.Schema, batches: Iterable[pa.RecordBatch], summary: ExportSummary, tail: Any
) -> Iterator[bytes]:
    """`{"columns": [...], "rows": [...], <tail()>}`: what the result came to is known at the end, so it is
    written there (`tail` is called after the last row; a limit that stopped the stream lands in `error`)."""
    yield (json.dumps({"columns": schema.names}, ensure_ascii=False)[:-1] + ', "rows": [').encode()
    first = True
    try:
        for batch in batches:
            rows = json_rows(batch)
            summary.rows += batch.num_rows
            if rows:
                yield (("" if first else ", ") + ", ".join(rows)).encode()
                first = False
    except Exception as e:  # a limit or a failure after the first row: say it at the end, in the document
        summary.error = str(e)
    yield ("], " + json.dumps(tail(), ensure_ascii=False)[1:]).encode()


def arrow_chunks(
    schema: pa.Schema, batches: Iterable[pa.RecordBatch], summary: ExportSummary, tail: Any
) -> Iterator[bytes]:
    """An Arrow IPC stream; its last batch has no rows and carries `tail()` as JSON in its custom metadata
    (`threshold`): rows, truncated, notes and any error that stopped the stream."""
    sink = io.BytesIO()
    writer = pa.ipc.new_stream(sink, schema)

    def take() -> bytes:
        data = sink.getvalue()
        sink.seek(0)
        sink.truncate()
        return data

    yield take()
    try:
        for batch in batches:
            writer.write_batch(batch)
            summary.rows += batch.num_rows
            yield take()
    except Exception as e:
        summary.error = str(e)
    end = pa.RecordBatch.from_pylist([], schema=schema)
    writer.write_batch(end, custom_metadata={"threshold": json.dumps(tail(), ensure_ascii=False)})
    writer.close()
    yield take()


def read_arrow_tail(reader: pa.RecordBatchStreamReader) -> tuple[list[pa.RecordBatch], dict[str, Any]]:
    """The batches of a stream written by `arrow_chunks`, and its closing summary (empty if it has none)."""
    batches: list[pa.RecordBatch] = []
    tail: dict[str, Any] = {}
    while True:
        try:
            batch, meta = reader.read_next_batch_with_custom_metadata()
        except StopIteration:
            return batches, tail
        if meta is not None and b"threshold" in meta:
            tail = json.loads(meta[b"threshold"])
        if batch.num_rows:
            batches.append(batch)


def write_xlsx(
    target: Path,
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    summary: ExportSummary,
    about: Any,
    sheet: str = "result",
) -> None:
    """An Excel workbook: text as strings (never formulas), numbers as numbers, and an About sheet."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])
    ws.append([_string_cell(ws, WriteOnlyCell, neutralise(n)) for n in schema.names])
    for batch in batches:
        safe = neutralise_batch(batch, summary)
        for row in zip(*(c.to_pylist() for c in safe.columns), strict=True):
            ws.append([_string_cell(ws, WriteOnlyCell, v) if isinstance(v, str) else excel_value(v) for v in row])
        summary.rows += batch.num_rows
    lines = about()
    info = wb.create_sheet("About")
    for line in lines:
        info.append([_string_cell(info, WriteOnlyCell, neutralise(line))])
    wb.properties.title = "Threshold query result"
    wb.properties.description = " ".join(lines)[:2000]
    wb.properties.created = datetime.now(UTC).replace(tzinfo=None)
    wb.save(target)


def _string_cell(ws: Any, cell_type: Any, value: str) -> Any:
    cell = cell_type(ws, value=value)
    cell.data_type = "s"  # openpyxl would otherwise store a text starting with "=" as a formula
    return cell


def about_lines(summary: ExportSummary, datasets: list[str], notes: list[str]) -> list[str]:
    lines = [
        f"Exported by Threshold at {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"Datasets: {', '.join(datasets) or '-'}; rows: {summary.rows:,}",
        f"Formula injection: {NEUTRALISED}; values changed: {summary.neutralised:,}",
    ]
    lines.extend(notes)
    if summary.error:
        lines.append(f"Incomplete: {summary.error}")
    return lines


def jsonable(v: Any) -> Any:
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, decimal.Decimal):
        return float(v) if v == v.to_integral_value() or abs(v) < 1e15 else str(v)
    if isinstance(v, (dt.date, dt.datetime, dt.time)):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return v.total_seconds()
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return v


def excel_value(v: Any) -> Any:
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.replace(tzinfo=None)
    if isinstance(v, (list, dict)):
        return json.dumps(jsonable(v), ensure_ascii=False)
    if isinstance(v, bytes):
        return v.hex()
    return v
