"""Big queries on Daft (on a Ray cluster): the gateway's governed views, compiled for Daft.

The gateway decides and binds a query exactly as for DuckDB (`gateway.service`): each dataset reference
becomes a per-reader view whose body applies the reader's masks and row filters (`access.reading`). This
engine runs those same bodies on Daft:

- the snapshot's data files are read with `daft.read_parquet` (the plan's files, its columns, its types);
- each view body runs through `daft.sql` with that base table bound under a private random name, in a
  call of its own: the governed frame is all that comes out of it;
- the person's SQL then runs through `daft.sql` with only the governed frames bound, under the view names
  the gateway generated. The raw base never shares a namespace with the person's SQL.

A third wall stands behind the parser's allow-list (`sql.check`): before Daft sees any SQL, every table it
names must be one bound for that call (or the query's own CTE), and no file, URL or table function
passes. What Daft cannot run as DuckDB would (a construct its SQL lacks, a mask it cannot compute
identically) raises `NotOnDaft` naming the construct; the gateway then answers on DuckDB when
`engine.fallback` allows it (`gateway.dispatch`).

Daft's runner is per process: Ray when `engine.ray_address` is set, else Daft's own runner on this
machine. One Daft query runs at a time per server process, so that stopping one (time limit, client
gone) can take its whole Ray work down with it.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlglot
from sqlglot import exp

from threshold.engines.duckdb import Interrupted
from threshold.errors import InvalidInput
from threshold.lake import ReadPlan
from threshold.settings import Settings

if TYPE_CHECKING:
    import daft as daft_module

SCALE_EXTRA = "pip install 'threshold[scale]'"
DIALECT = "duckdb"
"""How the SQL is spelt for Daft: its parser reads DuckDB's spelling of the TPC-H queries best (17 of 22
planned as written, against 7 with PostgreSQL's), and the gateway's SQL is DuckDB's already."""

_HASHABLE = ("VARCHAR", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT")
"""Column types whose text form Daft writes exactly as DuckDB does: the `hash` mask is computed from it and
must give the same value on both engines (a DATE or DOUBLE is written differently: not compiled)."""

_SERIES = ("range", "generate_series", "unnest")
"""The table functions the parser admits (`sql.check`): DuckDB computes them; Daft is not sent them."""
_FORBIDDEN_FUNCTIONS = re.compile(r"^(read_|url_|file|download|upload|write_|glob|list_files|iceberg|delta)", re.I)


class NotOnDaft(InvalidInput):
    """Daft cannot run this query as DuckDB would; the message names the construct, in one line."""


def _no_telemetry() -> None:
    """Daft reports its import and every query it runs to two outside services (Scarf, osstelemetry.io), from
    a thread of its own per query: a self-hosted platform calls no one its operator did not configure. An
    operator's own `DAFT_ANALYTICS_ENABLED` is kept."""
    os.environ.setdefault("DAFT_ANALYTICS_ENABLED", "0")


def available() -> bool:
    """Whether the `scale` extra (Daft, Ray) is installed here."""
    _no_telemetry()
    try:
        import daft  # noqa: F401
    except ImportError:
        return False
    return True


def _daft() -> Any:
    _no_telemetry()
    try:
        import daft
    except ImportError as e:
        raise NotOnDaft(f"Daft is not installed on this server ({SCALE_EXTRA})") from e
    return daft


# -- the runner (one per process) -------------------------------------------------------------------

_RUNNER_LOCK = threading.Lock()
_RUNNER: str | None = None
_TURN = threading.Lock()
"""One Daft query at a time per process (see the module's docstring)."""
_KILL = threading.Lock()
"""Held while a query gives its turn back, and while one is killed: never the next query's work."""


def sha256_udf(daft: Any) -> Any:
    """DuckDB's sha256 (the `hash` mask), which Daft's SQL lacks: the same digest, in Python, as a Daft
    function. It is made here, inside a call, so that Daft ships it to the Ray workers by value: they need
    Daft, not Threshold (a module-level function goes by reference, and every worker that computes a hash
    mask would import this package and its dependencies, or fail where it is not installed)."""

    def sha256(value: str | None) -> str | None:
        return None if value is None else hashlib.sha256(value.encode()).hexdigest()

    return daft.func(return_dtype=daft.DataType.string())(sha256)


def _ensure_runner(settings: Settings) -> str:
    """Set Daft's runner for this process once: Ray at `engine.ray_address`, else Daft's own runner."""
    global _RUNNER
    wanted = settings.engine.ray_address or "native"
    with _RUNNER_LOCK:
        if _RUNNER is None:
            os.environ.setdefault("DAFT_PROGRESS_BAR", "0")  # a server's log is no terminal
            daft = _daft()
            if settings.engine.ray_address:
                daft.set_runner_ray(address=settings.engine.ray_address, noop_if_initialized=True)
            else:
                daft.set_runner_native(num_threads=settings.engine_threads or None)
            daft.attach_function(sha256_udf(daft), "sha256")
            _RUNNER = wanted
        elif _RUNNER != wanted:
            raise NotOnDaft(f"Daft already runs on {_RUNNER} in this process; restart the server to use {wanted}")
    return wanted


# -- compiling ------------------------------------------------------------------------------------


def compile_sql(sql: str, names: set[str]) -> str:
    """`sql` (DuckDB's spelling, as the gateway generates it) as Daft reads it, after the third wall: it may
    name only the tables in `names` (and its own CTEs), and no file, URL or table function."""
    from threshold.sql.check import GatewayDuckDB

    try:
        tree = sqlglot.parse_one(sql, dialect=GatewayDuckDB)
    except sqlglot.errors.ParseError as e:
        raise NotOnDaft("Daft cannot run this query: it could not be compiled") from e
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    wanted = {n.lower() for n in names}
    for table in tree.find_all(exp.Table):
        if isinstance(table.this, exp.Func) and _name(table.this).lower() in _SERIES:
            raise NotOnDaft(f"Daft cannot run this query: the table function {_name(table.this).lower()}")
        if not isinstance(table.this, exp.Identifier):
            raise InvalidInput("only datasets of the catalog can be read")
        if table.args.get("catalog") is not None or (table.db and table.db != "__thr"):
            raise InvalidInput("only datasets of the catalog can be read")
        table.set("db", None)
        if table.name.lower() not in wanted and table.name.lower() not in ctes:
            raise InvalidInput("only datasets of the catalog can be read")
    for fn in tree.find_all(exp.Func):
        name = _name(fn)
        if _FORBIDDEN_FUNCTIONS.match(name):
            raise InvalidInput(f"the function {name.lower()} is not available")
    tree = _respell(tree)
    return tree.sql(dialect=DIALECT)


def _name(fn: exp.Func) -> str:
    return (fn.name if isinstance(fn, exp.Anonymous) else fn.sql_name()) or ""


def _respell(tree: exp.Expr) -> exp.Expr:
    """What Daft spells or types differently from DuckDB, rewritten so that it answers the same."""
    if tree.find(exp.TimestampTrunc, exp.DateTrunc) is not None:
        # Daft truncates by week at most: the `year` mask (date_trunc('year', ...)) is not computed there.
        raise NotOnDaft("Daft cannot run this query: date_trunc (the `year` mask) is not supported there")
    while (pipe := tree.find(exp.DPipe)) is not None:  # outermost first; its operands are visited next
        # `a || b` is `concat(a, b)` (both give NULL when either is NULL)
        concat = exp.Anonymous(this="concat", expressions=[pipe.left.copy(), pipe.right.copy()])
        if pipe is tree:
            return _respell(concat)
        pipe.replace(concat)
    for literal in list(tree.find_all(exp.Literal)):
        if literal.is_string or not _DECIMAL_LITERAL.match(literal.this):
            continue
        if isinstance(literal.parent, exp.Mul | exp.Div | exp.Neg):
            continue
        # DuckDB reads 0.06 as DECIMAL(3,2), Daft as a double: 0.06 + 0.01 would then miss 0.07 (TPC-H Q6). A
        # factor stays a double: Daft refuses a DECIMAL product wider than 38 digits, which DuckDB narrows.
        whole, _, fraction = literal.this.partition(".")
        digits = len(whole.lstrip("-").lstrip("0")) + len(fraction)
        literal.replace(exp.cast(exp.Literal.string(literal.this), f"DECIMAL({max(digits, 1)}, {len(fraction)})"))
    return tree


def _check_masks(body: str, plan: ReadPlan) -> None:
    """A `hash` mask is compiled only where Daft computes the same digest as DuckDB (see `_HASHABLE`)."""
    types = {f.name: f.duckdb_type for f in plan.fields}
    for sha in sqlglot.parse_one(body, read="duckdb").find_all(exp.SHA2):
        for column in sha.find_all(exp.Column):
            kind = types.get(column.name, "")
            if kind not in _HASHABLE:
                raise NotOnDaft(f"Daft cannot run this query: the hash mask on a {kind or 'computed'} column")


_DECIMAL_LITERAL = re.compile(r"^-?\d*\.\d+$")
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")


def _daft_type(daft: Any, duckdb_type: str) -> Any:
    t = daft.DataType
    simple = {
        "BOOLEAN": t.bool(),
        "TINYINT": t.int8(),
        "SMALLINT": t.int16(),
        "INTEGER": t.int32(),
        "BIGINT": t.int64(),
        "FLOAT": t.float32(),
        "REAL": t.float32(),
        "DOUBLE": t.float64(),
        "VARCHAR": t.string(),
        "BLOB": t.binary(),
        "DATE": t.date(),
        "TIMESTAMP": t.timestamp("us"),
        "TIMESTAMP WITH TIME ZONE": t.timestamp("us", "UTC"),
    }
    if duckdb_type in simple:
        return simple[duckdb_type]
    m = _DECIMAL.match(duckdb_type)
    if m:
        return t.decimal128(int(m.group(1)), int(m.group(2)))
    raise NotOnDaft(f"Daft cannot run this query: a {duckdb_type} column is not read there")


def _base(daft: Any, plan: ReadPlan) -> daft_module.DataFrame:
    """The snapshot's rows as Daft reads them: its files, its columns in schema order, its types."""
    if not plan.files:
        raise NotOnDaft("Daft cannot run this query: an empty dataset (no data files) is not read there")
    if plan.direct is None:
        raise NotOnDaft(
            "Daft cannot run this query: a dataset whose columns were renamed or added after its files were "
            "written is not read there"
        )
    frame = daft.read_parquet(list(plan.files))
    columns = []
    for f in plan.fields:
        column = daft.col(f.name)
        if plan.direct.get(f.name) != f.duckdb_type:
            column = column.cast(_daft_type(daft, f.duckdb_type)).alias(f.name)
        else:
            _daft_type(daft, f.duckdb_type)  # a type Daft reads as DuckDB does, or refused here
        columns.append(column)
    return frame.select(*columns)


def _governed(daft: Any, plan: ReadPlan, body: str) -> daft_module.DataFrame:
    """The reader's view of one snapshot on Daft: the gateway's view body over the base bound privately."""
    private = "raw_" + secrets.token_hex(8)
    relation = plan.relation_sql()
    base = _base(daft, plan)
    if body == relation:
        return base
    wrapped = f"({relation}) AS _raw"
    if body.count(wrapped) != 1:
        raise NotOnDaft("Daft cannot run this query: this dataset's view is not compiled there")
    _check_masks(body, plan)
    view = compile_sql(body.replace(wrapped, f"{private} AS _raw"), {private})
    return daft.sql(view, register_globals=False, **{private: base})


# -- errors in plain words ---------------------------------------------------------------------------

_CONSTRUCTS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"Cannot infer supertypes for (\w+) on types: Decimal"),
        "decimal {0} whose result needs more than 38 digits of precision",
    ),
    (re.compile(r"if_else to be castable to the same supertype.*Decimal"), "a CASE mixing DECIMAL and integer results"),
    (re.compile(r"Outer reference columns cannot be bound"), "a correlated subquery filtering on an outer column"),
    (re.compile(r"Function `(\w+)` not found"), "the function {0}"),
    (re.compile(r"Unsupported SQL: '(.{1,120})'\s*(?:\||$)"), "{0}"),
    (re.compile(r"[Nn]ot (?:yet )?(?:supported|implemented):? ?([^|]{1,120})"), "{0}"),
]


def construct(e: BaseException, hide: tuple[str, ...] = ()) -> str:
    """The one line telling what Daft could not do, with no path of this machine in it."""
    text = " | ".join(str(e).split("\n"))
    for path in sorted(hide, key=len, reverse=True):
        text = text.replace(path, "…")
    for pattern, words in _CONSTRUCTS:
        m = pattern.search(text)
        if m:
            return words.format(*(g.strip() for g in m.groups()))[:200]
    first = text.split(" | ")[0]
    return re.sub(r"DaftError::\w+\s*", "", first).strip()[:200] or type(e).__name__


# -- running ----------------------------------------------------------------------------------------


class DaftEngine:
    """The engine for big queries: `prepare(views)` then `start(sql)`, as `engines.duckdb.Engine`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def prepare(self, views: Mapping[str, ReadPlan | tuple[ReadPlan, str]]) -> DaftRunning:
        """The governed frames of a query's views (nothing runs yet)."""
        _ensure_runner(self.settings)
        daft = _daft()
        frames = {}
        try:
            for name, view in views.items():
                plan, body = view if isinstance(view, tuple) else (view, view.relation_sql())
                frames[name] = _governed(daft, plan, body)
        except InvalidInput:
            raise
        except Exception as e:
            raise NotOnDaft(f"Daft cannot run this query: {construct(e, self._hide())}") from e
        return DaftRunning(self, frames)

    def _hide(self) -> tuple[str, ...]:
        return (str(self.settings.warehouse_dir), str(self.settings.home_dir))


_END = object()


class DaftRunning:
    """One query in progress on Daft, read batch by batch; `interrupt()` stops it from any thread. On Ray its
    work on the cluster is cancelled at once with the plan runner actor that holds it; Daft's own runner
    stops at its next batch."""

    MAX_QUEUED = 2
    """Batches produced ahead of the reader: a slow client holds back the cluster, not the server's memory."""

    def __init__(self, engine: DaftEngine, frames: dict[str, daft_module.DataFrame]) -> None:
        self.engine = engine
        self.frames = frames
        self.interrupted = False
        self._cond = threading.Condition()
        self._queue: deque[Any] = deque()
        self._schema: pa.Schema | None = None
        self._thread: threading.Thread | None = None
        self._producing = False
        self._closed = False

    @property
    def schema(self) -> pa.Schema:
        assert self._schema is not None
        return self._schema

    def start(self, sql: str, batch_rows: int) -> None:
        """Plan the query and run it as far as its first batch: what fails before that raises `NotOnDaft`
        (the gateway may still answer on DuckDB), later failures raise `InvalidInput`."""
        daft = _daft()
        try:
            compiled = compile_sql(sql, set(self.frames))
            frame = daft.sql(compiled, register_globals=False, **self.frames)
            self._schema = _plain_schema(frame.schema().to_pyarrow_schema())
        except InvalidInput:
            raise
        except Exception as e:
            raise NotOnDaft(f"Daft cannot run this query: {construct(e, self.engine._hide())}") from e
        while not _TURN.acquire(timeout=0.05):
            if self.interrupted:
                raise Interrupted()
        self._producing = True
        self._thread = threading.Thread(target=self._produce, args=(frame, batch_rows), daemon=True)
        self._thread.start()
        with self._cond:
            while not self._queue and not self.interrupted:
                self._cond.wait()
            if self._queue and isinstance(self._queue[0], BaseException):
                failure = self._queue.popleft()
                why = construct(failure, self.engine._hide())
                raise NotOnDaft(f"Daft cannot run this query: {why}") from failure
        if self.interrupted:
            raise Interrupted()

    def _produce(self, frame: daft_module.DataFrame, batch_rows: int) -> None:
        schema = self.schema
        batches = None
        try:
            batches = frame.to_arrow_iter(results_buffer_size=1)
            for batch in batches:
                if self.interrupted:
                    break
                for piece in pa.Table.from_batches([batch]).cast(schema).to_batches(max_chunksize=batch_rows):
                    if not self._put(piece):
                        break
            else:
                self._put(_END)
        except BaseException as e:
            self._put(e)
        finally:
            if batches is not None:
                try:
                    batches.close()  # type: ignore[attr-defined]
                except Exception:
                    pass
            with _KILL:
                self._producing = False
                _TURN.release()

    def _put(self, item: Any) -> bool:
        with self._cond:
            while len(self._queue) >= self.MAX_QUEUED and not self.interrupted:
                self._cond.wait()
            if self.interrupted:
                return False
            self._queue.append(item)
            self._cond.notify_all()
            return True

    def next_batch(self) -> pa.RecordBatch | None:
        """The next batch, None at the end; an interrupted query raises `Interrupted`."""
        with self._cond:
            while not self._queue and not self.interrupted:
                self._cond.wait()
            if self.interrupted:
                raise Interrupted()
            item = self._queue.popleft()
            self._cond.notify_all()
        if item is _END:
            self._queue.appendleft(_END)
            return None
        if isinstance(item, BaseException):
            raise InvalidInput(f"the query failed on Daft: {construct(item, self.engine._hide())}")
        assert isinstance(item, pa.RecordBatch)
        return item

    def interrupt(self) -> None:
        """Stop the query where it is (safe from any thread, any number of times)."""
        with self._cond:
            done = bool(self._queue) and self._queue[0] is _END
            if done:
                return
            self.interrupted = True
            self._cond.notify_all()
        if self.engine.settings.engine.ray_address:
            with _KILL:  # now, not after the partition it waits for: its tasks stop on the cluster
                if self._producing:
                    _cancel_ray_work()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.interrupt()


def _cancel_ray_work() -> None:
    """Kill Daft's plan runner on the Ray cluster (and with it the stopped query's tasks); the next query
    starts a new one. Only this process's runner: one Daft query runs at a time per process."""
    try:
        import ray

        if not ray.is_initialized():
            return
        from daft.runners import get_or_create_runner
        from daft.runners.flotilla import FLOTILLA_RUNNER_NAMESPACE, get_flotilla_runner_actor_name

        ray.kill(ray.get_actor(get_flotilla_runner_actor_name(), namespace=FLOTILLA_RUNNER_NAMESPACE))
        runner: Any = get_or_create_runner()
        if hasattr(runner, "flotilla_plan_runner"):
            runner.flotilla_plan_runner = None
    except Exception:
        pass  # nothing left to cancel


def _plain_schema(schema: pa.Schema) -> pa.Schema:
    """Daft answers with large strings and lists; DuckDB (and every interface) with the plain ones."""

    def plain(t: pa.DataType) -> pa.DataType:
        if pa.types.is_large_string(t):
            return pa.string()
        if pa.types.is_large_binary(t):
            return pa.binary()
        if pa.types.is_large_list(t):
            return pa.list_(plain(t.value_type))
        return t

    return pa.schema([pa.field(f.name, plain(f.type), f.nullable) for f in schema])
