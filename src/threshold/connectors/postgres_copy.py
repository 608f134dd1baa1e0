"""Read a PostgreSQL table through `COPY (SELECT ...) TO STDOUT`: the server writes CSV, psycopg streams it into a
file in the home's staging area, and pyarrow's CSV reader parses it with the Arrow types `extract` derives from
reflection. No Python object is made per value (except for JSON, normalised as the driver would, and bytea).

Why: turning the driver's rows into Arrow in Python cost most of a 1M-row sync (BENCHMARKS.md). The answer is
the same Arrow table as `extract.extract` gives; a table with a column this path cannot read exactly (arrays,
intervals, unbounded numerics, time with time zone ...), or a value that does not parse (infinite timestamps,
dates BC, NaN numerics), returns None and the caller reads it the ordinary way, which keeps its own messages.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from sqlalchemy import Table, and_, select, types
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from threshold.connectors.extract import Extracted, Request, SourceError, arrow_type, reflect, scrub
from threshold.errors import TooLarge
from threshold.settings import SourcesSettings
from threshold.staging import own_folder

SESSION = (  # extra_float_digits stays the session's: the driver path reads floats from the same text
    "SET LOCAL TimeZone = 'UTC'",  # timestamptz as +00, read as UTC
    "SET LOCAL DateStyle = 'ISO, YMD'",
    "SET LOCAL bytea_output = 'hex'",
)


def extract(
    engine: Engine, req: Request, limits: SourcesSettings, staging: Path, *, secret: str | None = None
) -> Extracted | None:
    """The table's rows (past the cursor) as `extract.extract` would read them, or None: read them that way."""
    if engine.dialect.name != "postgresql" or not req.table:
        return None
    folder = staging / f"source-copy-{uuid.uuid4().hex}"
    try:
        with engine.connect() as conn:
            t = reflect(conn, req)
            plan = _plan(t)
            if plan is None:
                return None
            stmt: Any = select(*plan.columns)
            if req.cursor:
                if req.after is not None:
                    stmt = stmt.where(and_(t.c[req.cursor] >= req.after))
                stmt = stmt.order_by(t.c[req.cursor])
            stmt = stmt.limit(limits.max_rows + 1)  # the row bound, kept by the server
            compiled = stmt.compile(dialect=engine.dialect)
            raw: Any = conn.connection.driver_connection
            if raw.info.encoding != "utf-8":
                return None
            own_folder(folder)
            path = folder / "rows.csv"
            written = 0
            with raw.cursor() as cur:
                for sql in SESSION:
                    cur.execute(sql)
                copy_sql = f"COPY ({compiled}) TO STDOUT (FORMAT csv, HEADER false, FORCE_QUOTE *)"
                with cur.copy(copy_sql, compiled.params) as copy, path.open("wb") as out:
                    for data in copy:
                        written += len(data)
                        if written > limits.max_bytes:
                            raise _too_many_bytes(req, limits)
                        out.write(data)
            conn.rollback()
            table = _read(path, plan)
    except SQLAlchemyError as e:
        raise SourceError(f"source {req.source}: {scrub(e, secret)}") from None
    except OSError as e:
        raise SourceError(f"source {req.source}: {scrub(e, secret)}") from None
    except Exception as e:
        if type(e).__module__.startswith("psycopg"):  # the driver, under SQLAlchemy's connection
            raise SourceError(f"source {req.source}: {scrub(e, secret)}") from None
        raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if table is None:
        return None
    if table.num_rows > limits.max_rows:
        raise TooLarge(
            f"source {req.source}: more than {limits.max_rows:,} rows (THRESHOLD_SOURCES__MAX_ROWS); "
            "nothing was changed"
        )
    if table.nbytes > limits.max_bytes:
        raise _too_many_bytes(req, limits)
    top = pc.max(table[req.cursor]).as_py() if req.cursor and table.num_rows else None
    return Extracted(table, table.num_rows, top)


def _too_many_bytes(req: Request, limits: SourcesSettings) -> TooLarge:
    return TooLarge(
        f"source {req.source}: more than {limits.max_bytes:,} bytes read (THRESHOLD_SOURCES__MAX_BYTES); "
        "nothing was changed"
    )


@dataclass
class Plan:
    """How each column of a table is read from CSV. JSON and bytea arrive as text and are converted after
    (`_read`); UUIDs and JSON are text, the type the driver path infers from their values (`inferred`)."""

    columns: list[Any] = field(default_factory=list)
    arrow: dict[str, pa.DataType] = field(default_factory=dict)
    jsons: list[str] = field(default_factory=list)
    binaries: list[str] = field(default_factory=list)
    inferred: list[str] = field(default_factory=list)


def _plan(t: Table) -> Plan | None:
    """The columns and their Arrow types as read from CSV; None when a column cannot be read exactly."""
    plan = Plan()
    columns, arrow, jsons, binaries, inferred = (plan.columns, plan.arrow, plan.jsons, plan.binaries, plan.inferred)
    for c in t.columns:
        typ = c.type
        if isinstance(typ, types.Time) and typ.timezone:
            return None  # psycopg gives times with a tzinfo: no plain CSV form gives the same
        if isinstance(typ, types.JSON):
            jsons.append(c.name)
            inferred.append(c.name)
            arrow[c.name] = pa.string()
        elif isinstance(typ, types.Uuid):
            inferred.append(c.name)
            arrow[c.name] = pa.string()
        elif isinstance(typ, types.ARRAY):
            return None
        elif (a := arrow_type(typ)) is None:
            return None
        elif a == pa.binary():
            binaries.append(c.name)
            arrow[c.name] = pa.string()
        else:
            arrow[c.name] = a
        columns.append(c)
    return plan


def _read(path: Path, plan: Plan) -> pa.Table | None:
    """The CSV file as Arrow: unquoted empty is NULL (every value is quoted), `""` the empty string."""
    arrow, binaries = plan.arrow, plan.binaries
    names = list(arrow)
    if path.stat().st_size == 0:
        return pa.table({n: pa.array([], pa.binary() if n in binaries else arrow[n]) for n in names})
    try:
        table = pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(column_names=names, block_size=16 << 20),
            parse_options=pcsv.ParseOptions(newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                column_types=arrow,
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                true_values=["t"],
                false_values=["f"],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # a value this path cannot read exactly: the ordinary path reads it, or says why not
    for name in plan.jsons:
        docs = [None if v is None else json.loads(v) for v in table[name].to_pylist()]
        if any(d is not None and not isinstance(d, dict | list) for d in docs):
            return None  # scalar documents: the ordinary path types them by value; let it
        # as psycopg loads a document and `extract` writes it back (json.dumps): the same text on both paths
        texts = [None if d is None else json.dumps(d, default=str) for d in docs]
        table = table.set_column(names.index(name), name, pa.array(texts, pa.string()))
    for name in binaries:
        values = [None if v is None else bytes.fromhex(v[2:]) for v in table[name].to_pylist()]
        table = table.set_column(names.index(name), name, pa.array(values, pa.binary()))
    for name in plan.inferred:
        if table.num_rows and table[name].null_count == table.num_rows:
            # the ordinary path infers these columns' type from their values: no value, no type
            table = table.set_column(names.index(name), name, pa.nulls(table.num_rows))
    return table
