"""JSON (an array of objects, or one object per line) through DuckDB's streaming JSON reader."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from threshold.errors import InvalidInput, TooLarge
from threshold.limits.settings import LimitSettings
from threshold.sharing.readers.source import ReadOptions, SourceTable

SCAN_BYTES = 16 << 20
"""The nesting depth is measured over this much of the file; past it DuckDB's reader itself refuses
anything nested deeper than 128 levels (`limits.json_depth` is at most 128)."""
_TOKENS = re.compile(rb'[\[\]{}"\\]')


def read_json(path: Path, con: duckdb.DuckDBPyConnection, staging: Path, options: ReadOptions) -> list[SourceTable]:
    if path.stat().st_size == 0:
        raise InvalidInput(f"{path.name} is empty")
    with open(path, "rb") as f:
        head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] not in (b"[", b"{"):
        raise InvalidInput(f"{path.name} does not look like JSON (it should start with '[' or '{{')")
    fmt = "array" if head[:1] == b"[" else "newline_delimited"
    check_depth(path, options.limits)
    try:
        rel = con.sql(
            "SELECT * FROM read_json($path, format = $fmt, records = true, sample_size = 20480, "
            "maximum_object_size = 67108864)",
            params={"path": str(path), "fmt": fmt},
        )
        rel.limit(1).fetchall()  # surface parse errors now, with a clear message
    except duckdb.Error as e:
        if too_deep := depth_error(path.name, e):
            raise too_deep from e
        reason = str(e).split("\n")[0].split(": ", 1)[-1][:200]
        raise InvalidInput(f"cannot read {path.name} as JSON: {reason}") from e
    return [SourceTable(rel, notes=[f"json {fmt.replace('_', '-')}"])]


def check_depth(path: Path, limits: LimitSettings) -> None:
    """Refuse arrays and objects nested deeper than `limits.json_depth` (strings are skipped, escapes too)."""
    most = limits.json_depth
    depth, in_string, escaped = 0, False, False
    with path.open("rb") as f:
        data = f.read(SCAN_BYTES)
    for m in _TOKENS.finditer(data):
        ch = m.group()
        if in_string:
            if escaped:
                escaped = False
            elif ch == b"\\":
                escaped = m.end() < len(data) and data[m.end() : m.end() + 1] in (b'"', b"\\")
                if not escaped:
                    continue
            elif ch == b'"':
                in_string = False
            continue
        if ch == b'"':
            in_string = True
        elif ch in (b"[", b"{"):
            depth += 1
            if depth > most:
                raise _too_deep(path.name, limits)
        elif ch in (b"]", b"}"):
            depth -= 1


def depth_error(name: str, error: Exception) -> TooLarge | None:
    """DuckDB's own depth refusal (past 128 levels, past the part `check_depth` measured), said as a limit."""
    if "maximum recursion depth" not in str(error):
        return None
    return TooLarge(
        f"{name} nests arrays or objects more than 128 levels deep, the most JSON may be nested "
        "(limits.json_depth, THRESHOLD_LIMITS__JSON_DEPTH, sets it lower)"
    )


def _too_deep(name: str, limits: LimitSettings) -> TooLarge:
    return TooLarge(
        f"{name} nests arrays or objects more than {limits.json_depth} levels deep ({limits.setting('json_depth')})"
    )
