"""JSON rows of a result (the `json` and `ndjson` formats), made column by column: the same bytes as encoding
each row's dict with `json.dumps`, for every kind of column a result can hold."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any

import pyarrow as pa
import pytest

from threshold.interface.exports import ExportSummary, json_chunks, json_rows, jsonable, ndjson_chunks


def _reference(batch: pa.RecordBatch) -> list[str]:
    """How a row was written before: its dict, each value made `jsonable`, through `json.dumps`."""
    return [json.dumps({k: jsonable(v) for k, v in row.items()}, ensure_ascii=False) for row in batch.to_pylist()]


CASES: dict[str, tuple[list[Any], pa.DataType | None]] = {
    "int64": ([0, -1, 2**62, None], pa.int64()),
    "uint8": ([0, 255, None, 7], pa.uint8()),
    "bool": ([True, False, None, True], pa.bool_()),
    "text": (["plain", 'quote " and \\ back', "é ü 中 \U0001f600 \u2028", None], pa.string()),
    "control": (["tab\tnew\nline", "\x00\x1f", "%s %d %%", ""], pa.large_string()),
    "view": (["a", None, "=1+1", "b"], pa.string_view()),
    "float": ([1.5, float("nan"), float("inf"), None], pa.float64()),
    "float32": ([0.1, -0.0, float("-inf"), 1e300 * 10], pa.float32()),
    "decimal": ([decimal.Decimal("1.50"), decimal.Decimal("12345678901234567.25"), None, decimal.Decimal(3)], None),
    "date": ([dt.date(2024, 2, 29), None, dt.date(1, 1, 1), dt.date(9999, 12, 31)], pa.date32()),
    "timestamp": ([dt.datetime(2024, 1, 1, 12, 30, tzinfo=dt.UTC), None] * 2, pa.timestamp("us", "UTC")),
    "naive": ([dt.datetime(2024, 1, 1, 0, 0, 1, 5), None] * 2, pa.timestamp("ns")),
    "time": ([dt.time(1, 2, 3), None] * 2, pa.time64("us")),
    "duration": ([dt.timedelta(seconds=90), None] * 2, pa.duration("ms")),
    "binary": ([b"\x00\xff", None, b"", b"abc"], pa.binary()),
    "list": ([[1, 2], None, [], [None]], pa.list_(pa.int64())),
    "struct": ([{"a": 1, "b": "x"}, None, {"a": None, "b": "\u00e9"}, {"a": 2, "b": None}], None),
    "map": ([[("k", 1.5)], None, [], [("n", float("nan"))]], pa.map_(pa.string(), pa.float64())),
    "dictionary": (["Berlin", "Lyon", None, "Berlin"], pa.dictionary(pa.int8(), pa.string())),
    "null": ([None] * 4, pa.null()),
}


def _column(values: list[Any], kind: pa.DataType | None) -> pa.Array:
    return pa.array(values, type=kind) if kind is not None else pa.array(values)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_column_of_each_kind_is_written_as_json_dumps_writes_it(name: str) -> None:
    batch = pa.RecordBatch.from_arrays([_column(*CASES[name]), pa.array([1, 2, 3, 4])], names=[name, "n"])
    assert json_rows(batch) == _reference(batch)


def test_every_kind_in_one_batch_and_names_that_need_escaping() -> None:
    names = [f'{name} "%s" é' for name in sorted(CASES)]
    batch = pa.RecordBatch.from_arrays([_column(*CASES[n]) for n in sorted(CASES)], names=names)
    assert json_rows(batch) == _reference(batch)


def test_a_repeated_column_name_keeps_one_value_as_a_dict_does() -> None:
    batch = pa.RecordBatch.from_arrays([pa.array([1, 2]), pa.array(["a", None]), pa.array([3, 4])], names=list("xyx"))
    assert json_rows(batch) == _reference(batch) == ['{"x": 3, "y": "a"}', '{"x": 4, "y": null}']


def test_rows_without_columns_and_a_batch_without_rows() -> None:
    no_columns = pa.table({"a": [1, 2, 3]}).select([]).to_batches()[0]
    assert json_rows(no_columns) == _reference(no_columns) == ["{}"] * 3
    empty = pa.RecordBatch.from_arrays([pa.array([], pa.int64())], names=["a"])
    assert json_rows(empty) == _reference(empty) == []


def test_the_json_and_ndjson_chunks_hold_the_same_rows() -> None:
    batches = [
        pa.RecordBatch.from_arrays([pa.array(range(k, k + 3)), pa.array(["a", "b", None])], names=["i", "t"])
        for k in (0, 3)
    ]
    lines = [line for b in batches for line in _reference(b)]
    summary = ExportSummary()
    assert b"".join(ndjson_chunks(batches, summary)).decode() == "".join(f"{line}\n" for line in lines)
    assert summary.rows == 6
    document = b"".join(json_chunks(batches[0].schema, batches, ExportSummary(), lambda: {"row_count": 6})).decode()
    assert document == '{"columns": ["i", "t"], "rows": [' + ", ".join(lines) + '], "row_count": 6}'
