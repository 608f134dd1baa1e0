"""JSON (an array of objects, or one object per line) through DuckDB's streaming JSON reader."""

from __future__ import annotations

from pathlib import Path

import duckdb

from threshold.errors import InvalidInput
from threshold.sharing.readers.source import ReadOptions, SourceTable


def read_json(path: Path, con: duckdb.DuckDBPyConnection, staging: Path, options: ReadOptions) -> list[SourceTable]:
    if path.stat().st_size == 0:
        raise InvalidInput(f"{path.name} is empty")
    with open(path, "rb") as f:
        head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] not in (b"[", b"{"):
        raise InvalidInput(f"{path.name} does not look like JSON (it should start with '[' or '{{')")
    fmt = "array" if head[:1] == b"[" else "newline_delimited"
    try:
        rel = con.sql(
            "SELECT * FROM read_json($path, format = $fmt, records = true, sample_size = 20480, "
            "maximum_object_size = 67108864)",
            params={"path": str(path), "fmt": fmt},
        )
        rel.limit(1).fetchall()  # surface parse errors now, with a clear message
    except duckdb.Error as e:
        reason = str(e).split("\n")[0].split(": ", 1)[-1][:200]
        raise InvalidInput(f"cannot read {path.name} as JSON: {reason}") from e
    return [SourceTable(rel, notes=[f"json {fmt.replace('_', '-')}"])]
