"""Read a table or a query of a source database into Arrow, bounded, through SQLAlchemy and the database's driver.

Why not dlt's `sql_database`: dlt 1.31 installs here, but brings 36 more packages and its own state, schema and
pipeline machinery, and `import dlt` took 5.3 s on the shared machine (docs/sources.md); Threshold keeps writing,
profiling, detection and the cursor state itself, so all it would add is the loop below. SQLAlchemy (already a
dependency) streams with a server-side cursor (`stream_results`) and the rows become Arrow batch by batch.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlalchemy import MetaData, Table, and_, literal_column, select, text, types
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

from threshold.errors import InvalidInput, NotFound, ThresholdError, TooLarge
from threshold.settings import SourcesSettings


@dataclass(frozen=True)
class Request:
    """What to read: a table (`schema.table`) or a query; past `cursor` (a column) when `after` is given."""

    source: str
    table: str | None = None
    query: str | None = None
    cursor: str | None = None
    after: Any = None


@dataclass
class Extracted:
    table: pa.Table
    rows: int
    cursor_max: Any = None


class SourceError(ThresholdError):
    """The source database refused or failed (message scrubbed of the password)."""


def check_query(query: str) -> str:
    """One SELECT (or WITH ... SELECT): a sync reads, it never changes its source."""
    try:
        statements = [s for s in sqlglot.parse(query) if s is not None]
    except sqlglot.errors.ParseError:
        raise InvalidInput("the source query cannot be parsed as SQL") from None
    if len(statements) != 1 or not isinstance(statements[0], sqlglot.exp.Query):
        raise InvalidInput("a source query is one SELECT statement")
    return query.strip().rstrip(";")


def reflect(conn: Connection, req: Request) -> Table:
    """The source table `req` names, as the database describes it; NotFound or InvalidInput (a cursor that is
    not one of its columns) in one line."""
    assert req.table
    schema, _, name = req.table.rpartition(".")
    try:
        t = Table(name, MetaData(), schema=schema or None, autoload_with=conn)
    except NoSuchTableError:
        raise NotFound(f"source {req.source} has no table {req.table!r}") from None
    if req.cursor and req.cursor not in t.c:
        raise InvalidInput(f"the cursor column {req.cursor!r} is not a column of {req.table}")
    return t


def extract(engine: Engine, req: Request, limits: SourcesSettings, *, secret: str | None = None) -> Extracted:
    """All rows of the table or query (past the cursor), as one Arrow table; nothing is written anywhere."""
    try:
        with engine.connect() as conn:
            known: dict[str, pa.DataType] = {}
            if req.table:
                t = reflect(conn, req)
                known = {c.name: a for c in t.columns if (a := arrow_type(c.type)) is not None}
                stmt = select(t)
                cursor_col: Any = t.c[req.cursor] if req.cursor else None
            else:
                sub = text(check_query(req.query or "")).columns().subquery("q")
                stmt = select(literal_column("*")).select_from(sub)
                cursor_col = literal_column(_quote(engine, req.cursor)) if req.cursor else None
            if cursor_col is not None:
                if req.after is not None:
                    # `>=`: rows written in the same instant as the last committed cursor arrive again and are
                    # merged by key; `>` could lose them.
                    stmt = stmt.where(and_(cursor_col >= req.after))
                stmt = stmt.order_by(cursor_col)
            result = conn.execution_options(stream_results=True, yield_per=limits.batch_rows).execute(stmt)
            names = list(result.keys())
            tables: list[pa.Table] = []
            rows = size = 0
            while chunk := result.fetchmany(limits.batch_rows):
                rows += len(chunk)
                if rows > limits.max_rows:
                    raise TooLarge(
                        f"source {req.source}: more than {limits.max_rows:,} rows (THRESHOLD_SOURCES__MAX_ROWS); "
                        "nothing was changed"
                    )
                batch = _to_arrow(names, chunk, known)
                size += batch.nbytes
                if size > limits.max_bytes:
                    raise TooLarge(
                        f"source {req.source}: more than {limits.max_bytes:,} bytes read "
                        "(THRESHOLD_SOURCES__MAX_BYTES); "
                        "nothing was changed"
                    )
                tables.append(batch)
    except SQLAlchemyError as e:
        raise SourceError(f"source {req.source}: {scrub(e, secret)}") from None
    except (ValueError, TypeError, ArithmeticError) as e:  # the driver or SQLAlchemy could not read a value
        raise InvalidInput(
            f"source {req.source}: a value cannot be read as its column's type ({scrub(e, secret)})"
        ) from None
    except OSError as e:
        raise SourceError(f"source {req.source}: {scrub(e, secret)}") from None
    if not tables:
        empty = pa.table({n: pa.array([], type=known.get(n, pa.string())) for n in names})
        return Extracted(empty, 0)
    try:
        table = pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise InvalidInput(f"source {req.source}: a column changes type between rows ({str(e)[:200]})") from None
    top = None
    if req.cursor:
        column = req.cursor if req.cursor in table.column_names else None
        if column is None:
            raise InvalidInput(f"the cursor column {req.cursor!r} is not a column of the source query")
        top = pc.max(table[column]).as_py()
    return Extracted(table, rows, top)


def _quote(engine: Engine, name: str | None) -> str:
    return engine.dialect.identifier_preparer.quote(name or "")


def arrow_type(t: types.TypeEngine[Any]) -> pa.DataType | None:
    """The Arrow type of a reflected column where the source's type says it exactly (else inferred from values)."""
    if isinstance(t, types.Boolean):
        return pa.bool_()
    if isinstance(t, types.BigInteger | types.Integer | types.SmallInteger):
        return pa.int64()
    if isinstance(t, types.Float):
        return pa.float64()
    if isinstance(t, types.Numeric):
        p, s = t.precision, t.scale
        if p and 0 < p <= 38 and s is not None and 0 <= s <= p:
            return pa.decimal128(p, s)
        return None
    if isinstance(t, types.DateTime):
        return pa.timestamp("us", tz="UTC") if t.timezone else pa.timestamp("us")
    if isinstance(t, types.Date):
        return pa.date32()
    if isinstance(t, types.Time):
        return pa.time64("us")
    if isinstance(t, types.String | types.Text | types.Enum):
        return pa.string()
    if isinstance(t, types.LargeBinary | types._Binary):
        return pa.binary()
    return None


def _plain(v: Any) -> Any:
    """Values Arrow cannot hold as they come, made plain: UUIDs and addresses as text, JSON documents as text."""
    if v is None or isinstance(
        v, str | int | float | bool | decimal.Decimal | dt.date | dt.time | dt.timedelta | bytes
    ):
        return v
    if isinstance(v, memoryview | bytearray):
        return bytes(v)
    if isinstance(v, dict | list):
        return json.dumps(v, default=str)
    if isinstance(v, uuid.UUID):
        return str(v)
    return str(v)


def _to_arrow(names: Sequence[str], chunk: Sequence[Any], known: dict[str, pa.DataType]) -> pa.Table:
    arrays = []
    for i, name in enumerate(names):
        values = [row[i] for row in chunk]
        typ = known.get(name)
        sample = next((v for v in values if v is not None), None)
        if sample is not None and _plain(sample) is not sample:  # JSON documents, UUIDs ...: as text, always
            values = [_plain(v) for v in values]
        try:
            arrays.append(pa.array(values, type=typ))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            try:
                arrays.append(pa.array([_plain(v) for v in values], type=typ))
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError) as e:
                sample = next((v for v in values if v is not None), None)
                raise InvalidInput(
                    f"column {name!r}: values of type {type(sample).__name__} cannot be converted ({str(e)[:120]})"
                ) from None
    return pa.Table.from_arrays(arrays, names=list(names))


def scrub(e: BaseException, secret: str | None) -> str:
    """One line from a driver's error, without the password (drivers may quote a URL or a connection string)."""
    orig = getattr(e, "orig", None) or e
    lines = [ln.strip() for ln in str(orig).splitlines() if ln.strip()]
    line = " ".join(lines[:2]) if lines else type(orig).__name__
    if secret:
        line = line.replace(secret, "***")
    return line[:300]


def cursor_state(value: Any) -> str | None:
    """The committed cursor as JSON (type and value), read back by `cursor_value`."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return json.dumps({"type": "datetime", "value": value.isoformat()})
    if isinstance(value, dt.date):
        return json.dumps({"type": "date", "value": value.isoformat()})
    if isinstance(value, decimal.Decimal):
        return json.dumps({"type": "decimal", "value": str(value)})
    if isinstance(value, bool | int | float | str):
        return json.dumps({"type": type(value).__name__, "value": value})
    return json.dumps({"type": "str", "value": str(value)})


def cursor_value(state: str | None) -> Any:
    if not state:
        return None
    data = json.loads(state)
    kind, value = data["type"], data["value"]
    if kind == "datetime":
        return dt.datetime.fromisoformat(value)
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "decimal":
        return decimal.Decimal(value)
    return value
