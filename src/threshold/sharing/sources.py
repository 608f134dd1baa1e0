"""What a share reads: the tables of a file (through its reader) or of a frame, with the person's options.

`share` and `preview` both read through here, so a preview shows exactly what the share will store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from threshold.errors import InvalidInput
from threshold.limits.settings import LimitSettings
from threshold.names import check_name
from threshold.sharing import readers


def read_source(
    con: duckdb.DuckDBPyConnection, staging: Path, source: Any, options: readers.ReadOptions
) -> tuple[list[readers.SourceTable], dict[str, Any]]:
    """The tables of a file (its reader) or of a frame, and what to record about the source."""
    fmt = readers.format_of(source) if isinstance(source, Path) else "arrow"
    if fmt not in ("excel", "csv"):
        asked = [
            what
            for what, given in (
                ("a sheet", options.sheet is not None),
                ("a header row", options.header is not None),
                ("rows to skip", options.skip_rows > 0),
                ("a range of cells", options.cell_range is not None),
                ("keeping totals", not options.totals),
            )
            if given
        ]
        if asked:
            name = source.name if isinstance(source, Path) else "a frame"
            raise InvalidInput(f"{asked[0]} applies to spreadsheets and CSV files; {name} is {fmt}")
    if isinstance(source, Path):
        tables = readers.read(source, con, staging, options)
        info: dict[str, Any] = {"source_name": source.name, "source_format": fmt}
    else:
        frame = to_arrow(source)
        if not frame.schema.names:  # DuckDB refuses a frame without columns with an error of its own
            raise InvalidInput(f"the {type(source).__name__} has no columns to share")
        tables = [readers.SourceTable(con.from_arrow(frame), notes=["in-memory frame"])]
        info = {"source_name": f"<{type(source).__module__}.{type(source).__name__}>", "source_format": "arrow"}
    if not tables:
        raise InvalidInput(f"{source.name if isinstance(source, Path) else 'the frame'} holds no table to share")
    return tables, info


def dataset_name(base_name: str, src: readers.SourceTable, tables: int) -> str:
    """The dataset a source table becomes: the name, or `<name>_<sheet>` when a workbook gives several."""
    if tables > 1 and src.name_hint:
        from threshold.names import identifier

        name = f"{base_name}_{identifier(src.name_hint, 'sheet')}"[:63].rstrip("_")
        return check_name("dataset", name)
    return base_name


def read_options(
    sheet: str | None,
    encoding: str | None,
    delimiter: str | None,
    header_row: int | str | None,
    skip_rows: int,
    cell_range: str | None,
    keep_totals: bool,
    limits: LimitSettings,
) -> readers.ReadOptions:
    """The readers' options from what a person gave (text from a form or a command line, or Python values),
    with the platform's file limits."""
    from threshold.sharing.readers.layout import CellRange, HeaderRows

    if not isinstance(skip_rows, int) or isinstance(skip_rows, bool) or skip_rows < 0:
        raise InvalidInput("skip rows must be a whole number, 0 or more")
    return readers.ReadOptions(
        sheet=sheet or None,
        encoding=encoding or None,
        delimiter=delimiter or None,
        header=HeaderRows.parse(header_row),
        skip_rows=skip_rows,
        cell_range=CellRange.parse(cell_range),
        totals=not keep_totals,
        limits=limits,
    )


def to_arrow(obj: Any) -> pa.Table | pa.RecordBatchReader:
    if isinstance(obj, (pa.Table, pa.RecordBatchReader)):
        return obj
    if hasattr(obj, "to_arrow") and type(obj).__module__.startswith("polars"):
        return obj.to_arrow()
    if type(obj).__module__.startswith("pandas"):
        return pa.Table.from_pandas(obj, preserve_index=False)
    if hasattr(obj, "__arrow_c_stream__"):
        return pa.RecordBatchReader.from_stream(obj)
    raise InvalidInput(f"cannot share a {type(obj).__name__}; give a file path or an Arrow, pandas or polars frame")
