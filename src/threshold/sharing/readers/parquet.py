"""Parquet files, read lazily by DuckDB (columns and types as the file has them)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from threshold.errors import InvalidInput
from threshold.sharing.readers.source import ReadOptions, SourceTable


def read_parquet(path: Path, con: duckdb.DuckDBPyConnection, staging: Path, options: ReadOptions) -> list[SourceTable]:
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"PAR1":
        raise InvalidInput(f"{path.name} is not a Parquet file")
    try:
        rel = con.sql("SELECT * FROM read_parquet($path)", params={"path": str(path)})
        rel.limit(0).fetchall()
    except duckdb.Error as e:
        reason = str(e).split("\n")[0].split(": ", 1)[-1][:200]
        raise InvalidInput(f"cannot read {path.name} as Parquet: {reason}") from e
    return [SourceTable(rel, notes=["parquet"])]
