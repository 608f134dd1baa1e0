"""Microsoft Access files (.mdb, .accdb) read with Debian's mdbtools: `mdb-tables` lists the tables,
`mdb-schema` gives their column types, `mdb-export` writes a table as CSV, which Arrow reads with those types.

Each tool runs with a timeout (the statement timeout) and bounded output (`tool_output_bytes`, enforced by the
kernel's file size limit on the export), never through a shell.
"""

from __future__ import annotations

import csv
import re
import resource
import shutil
import subprocess
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from threshold.connectors.extract import Extracted, Request
from threshold.errors import InvalidInput, NotFound, ThresholdError, TooLarge
from threshold.settings import SourcesSettings

_FORMATS = ("-D", "%Y-%m-%d", "-T", "%Y-%m-%d %H:%M:%S", "-b", "strip")
"""ISO dates and times (mdb-export's default is the US month/day/year), binary columns left out."""
_TYPES: tuple[tuple[str, pa.DataType], ...] = (
    ("BIGINT", pa.int64()),
    ("SERIAL", pa.int64()),
    ("INTEGER", pa.int64()),
    ("SMALLINT", pa.int64()),
    ("INT", pa.int64()),
    ("DOUBLE PRECISION", pa.float64()),
    ("REAL", pa.float64()),
    ("FLOAT", pa.float64()),
    ("TIMESTAMP", pa.timestamp("us")),
    ("DATE", pa.date32()),
    ("BOOL", pa.bool_()),
    ("MONEY", pa.decimal128(19, 4)),
)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ThresholdError(
            f"reading Access files needs {name} from the Debian package mdbtools: apt-get install mdbtools"
        )
    return path


def _run(args: list[str], limits: SourcesSettings, what: str) -> str:
    try:
        done = subprocess.run(
            args, capture_output=True, timeout=limits.statement_timeout_seconds, check=False, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise ThresholdError(
            f"{what} took longer than {limits.statement_timeout_seconds:g} s "
            "(THRESHOLD_SOURCES__STATEMENT_TIMEOUT_SECONDS)"
        ) from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        raise InvalidInput(f"{what} failed: {(reason[0] if reason else 'not an Access file')[:200]}")
    if len(done.stdout) > limits.tool_output_bytes:
        raise TooLarge(f"{what} wrote more than {limits.tool_output_bytes:,} bytes")
    return done.stdout.decode(errors="replace")


def _file(path: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"no Access file {p.name!r} at the connection's path")
    return p


def tables(path: str, limits: SourcesSettings) -> list[str]:
    p = _file(path)
    out = _run([_tool("mdb-tables"), "-1", str(p)], limits, f"listing the tables of {p.name}")
    return sorted(t for t in out.splitlines() if t.strip())[:500]


def column_types(path: str, table: str, limits: SourcesSettings) -> dict[str, pa.DataType]:
    """{column in lower case: Arrow type} from `mdb-schema`'s PostgreSQL rendering of the table (which keeps
    currency and decimal columns exact; it lower-cases names, so they are matched to the export's header)."""
    p = _file(path)
    ddl = _run(
        [_tool("mdb-schema"), "--no-relations", "--no-indexes", "-T", table, str(p), "postgres"],
        limits,
        f"reading the schema of {table}",
    )
    out: dict[str, pa.DataType] = {}
    line = re.compile(r'^\s*"([^"]+)"\s+([A-Za-z ]+?)\s*(?:\((\d+)\s*(?:,\s*(\d+))?\))?\s*(?:NOT NULL)?\s*,?\s*$', re.M)
    for m in line.finditer(ddl):
        name, typ, p1, p2 = m.group(1), m.group(2).upper().strip(), m.group(3), m.group(4)
        if typ.startswith("NUMERIC") and p1:
            out[name.lower()] = pa.decimal128(min(int(p1), 38), int(p2 or 0))
            continue
        out[name.lower()] = next((t for prefix, t in _TYPES if typ.startswith(prefix)), pa.string())
    return out


def extract(path: str, req: Request, limits: SourcesSettings) -> Extracted:
    """One table of an Access file, typed as its schema says; past the cursor (filtered here) when asked."""
    if req.query:
        raise InvalidInput("an Access file is synced table by table (a query is for database servers)")
    table = req.table or ""
    known = tables(path, limits)
    if table not in known:
        raise NotFound(f"source {req.source} has no table {table!r}")
    types = column_types(path, table, limits)
    if req.cursor and req.cursor.lower() not in types:
        raise InvalidInput(f"the cursor column {req.cursor!r} is not a column of {table}")
    with tempfile.TemporaryDirectory(prefix="threshold-mdb-") as tmp:
        out = Path(tmp) / "table.csv"
        limit = limits.tool_output_bytes

        def bounded() -> None:  # in the child: the kernel stops a write past the limit (SIGXFSZ)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        with out.open("wb") as fh:
            try:
                done = subprocess.run(
                    [_tool("mdb-export"), *_FORMATS, _file(path).as_posix(), table],
                    stdout=fh,
                    stderr=subprocess.PIPE,
                    timeout=limits.statement_timeout_seconds,
                    check=False,
                    stdin=subprocess.DEVNULL,
                    preexec_fn=bounded,  # noqa: PLW1509 - no threads are started in between
                )
            except subprocess.TimeoutExpired:
                raise ThresholdError(
                    f"exporting {table} took longer than {limits.statement_timeout_seconds:g} s "
                    "(THRESHOLD_SOURCES__STATEMENT_TIMEOUT_SECONDS)"
                ) from None
        if done.returncode != 0:
            if out.stat().st_size >= limit:
                raise TooLarge(
                    f"exporting {table} wrote more than {limit:,} bytes (THRESHOLD_SOURCES__TOOL_OUTPUT_BYTES)"
                )
            reason = done.stderr.decode(errors="replace").strip().splitlines()
            raise InvalidInput(f"exporting {table} failed: {(reason[0] if reason else 'unknown error')[:200]}")
        with out.open(newline="", encoding="utf-8", errors="replace") as text_file:
            header = next(csv.reader(text_file), [])
        typed = {c: types[c.lower()] for c in header if c.lower() in types}
        try:
            data = pacsv.read_csv(
                out,
                convert_options=pacsv.ConvertOptions(
                    column_types=typed, strings_can_be_null=True, timestamp_parsers=["%Y-%m-%d %H:%M:%S"]
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise InvalidInput(
                f"{table}: a value does not fit its column's type ({str(e).splitlines()[0][:160]})"
            ) from None
    if data.num_rows > limits.max_rows:
        raise TooLarge(f"source {req.source}: more than {limits.max_rows:,} rows (THRESHOLD_SOURCES__MAX_ROWS)")
    if req.cursor and req.after is not None:
        data = data.filter(pc.greater_equal(data[req.cursor], pa.scalar(req.after, type=data[req.cursor].type)))
    top = pc.max(data[req.cursor]).as_py() if req.cursor and data.num_rows else None
    return Extracted(data, data.num_rows, top)
