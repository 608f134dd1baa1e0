"""File readers for sharing: one module per format, one registration line each.

A reader turns a source (a path, or an in-memory frame) into one or more lazy DuckDB
relations with the *original* column names and inferred types. The sharing service then
normalises names, casts to Iceberg types and streams the rows to Parquet, so a reader
never materialises a large file in Python.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from pathlib import Path

import duckdb

from threshold.errors import InvalidInput
from threshold.sharing.readers.source import ReaderFn, ReadOptions, SourceTable

READERS: dict[str, ReaderFn] = {}
"""File format name -> reader. Filled by `_register` below."""

EXTENSIONS: dict[str, str] = {}
"""Lower-case file suffix -> format name."""


def register(fmt: str, suffixes: tuple[str, ...], reader: ReaderFn) -> None:
    READERS[fmt] = reader
    for suffix in suffixes:
        EXTENSIONS[suffix] = fmt


def format_of(path: Path) -> str:
    """The format of a file from its name, or a clear error listing what can be shared."""
    suffix = path.suffix.lower()
    if suffix == ".gz" and len(path.suffixes) >= 2:
        suffix = path.suffixes[-2].lower()
    fmt = EXTENSIONS.get(suffix)
    if fmt is None:
        known = ", ".join(sorted(EXTENSIONS))
        raise InvalidInput(f"cannot share '{path.name}': unknown file type '{suffix or '(none)'}'; known: {known}")
    return fmt


def check_ahead(source: object, options: ReadOptions) -> ReadOptions:
    """`options` with the size check of a spreadsheet file already running on its own thread (`sheet_size.Ahead`),
    or as they are for anything else; the caller cancels it (`options.ahead.cancel()`) when its share fails."""
    if not isinstance(source, (str, os.PathLike)):
        return options
    path = Path(source)
    try:
        fmt = format_of(path)
        size = path.stat().st_size if path.is_file() else 0
    except (InvalidInput, OSError):
        return options  # the share's own checks say what is wrong
    if fmt != "excel" or not 0 < size <= options.limits.upload_bytes:
        return options
    from threshold.sharing.readers.sheet_size import Ahead

    return dataclasses.replace(options, ahead=Ahead(path, options.limits))


def read(path: Path, con: duckdb.DuckDBPyConnection, staging: Path, options: ReadOptions) -> list[SourceTable]:
    return READERS[format_of(path)](path, con, staging, options)


def _builtin(module: str, function: str) -> ReaderFn:
    """A reader of this package, imported on its first read: a CSV share never imports the spreadsheet readers
    (pyarrow's compute functions, fastexcel, the size check's compression library)."""

    def reader(path: Path, con: duckdb.DuckDBPyConnection, staging: Path, options: ReadOptions) -> list[SourceTable]:
        fn: ReaderFn = getattr(importlib.import_module(f"threshold.sharing.readers.{module}"), function)
        return fn(path, con, staging, options)

    reader.__qualname__ = reader.__name__ = function
    return reader


# Adding a format = one module + one line.
register("csv", (".csv", ".tsv", ".txt", ".tab"), _builtin("csv", "read_csv"))
register("excel", (".xlsx", ".xlsm", ".xls", ".ods"), _builtin("excel", "read_excel"))
register("json", (".json", ".ndjson", ".jsonl"), _builtin("json", "read_json"))
register("parquet", (".parquet", ".pq"), _builtin("parquet", "read_parquet"))
