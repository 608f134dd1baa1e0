"""The governed catalog: what `pg_catalog` and `information_schema` show a person over the front door.

Each session keeps a private in-memory DuckDB database holding one *empty* table per dataset the person may
know exists (schema = domain, table = dataset, its columns with their types, its title as a comment), built
from the one decision point's filter (`access.knowable`). DuckDB's own PostgreSQL-compatible catalog
views then answer the queries tools send when they connect and browse, from that and nothing else: the
gateway's engine, its views and every other dataset are absent. The database is rebuilt when the
store's metadata version moves. It has no data to leak and is locked like the gateway's engine (no
external access, no extensions, configuration locked), so a catalog query cannot reach a file either.

PostgreSQL spellings DuckDB does not parse (`OPERATOR(pg_catalog.~)`, `COLLATE pg_catalog.default`, `::regclass`,
`current_setting`) are rewritten first; a catalog query that still fails (a system view DuckDB does not
have, such as `pg_policy` or `pg_publication`) answers no rows with the columns it asked for: those
objects do not exist here.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping

import duckdb
import pyarrow as pa
import sqlglot
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from threshold.access import knowable
from threshold.identity.service import Person
from threshold.limits import Allowance
from threshold.pgwire.statements import code_only, code_words, strip_comments
from threshold.pgwire.types import quote
from threshold.platform import Platform
from threshold.store.models import Dataset

DATABASE = "threshold"

_CATALOG_WORDS = {
    "pg_catalog",
    "information_schema",
    "current_schema",
    "current_schemas",
    "current_database",
    "current_catalog",
    "current_setting",
    "has_table_privilege",
    "has_schema_privilege",
    "has_database_privilege",
    "regclass",
    "regtype",
    "regproc",
    "regnamespace",
    "current_role",
    "current_user",
    "session_user",
    "obj_description",
    "col_description",
    "shobj_description",
    "format_type",
    "set_config",
    # PostgreSQL's system relations and functions tools name without `pg_catalog.` (a dataset column named
    # like one of these would send its query here, where it finds no rows: none is likely)
    "pg_am",
    "pg_attrdef",
    "pg_attribute",
    "pg_auth_members",
    "pg_authid",
    "pg_cast",
    "pg_class",
    "pg_collation",
    "pg_constraint",
    "pg_database",
    "pg_depend",
    "pg_description",
    "pg_enum",
    "pg_event_trigger",
    "pg_extension",
    "pg_foreign_server",
    "pg_foreign_table",
    "pg_index",
    "pg_indexes",
    "pg_inherits",
    "pg_language",
    "pg_locks",
    "pg_matviews",
    "pg_namespace",
    "pg_opclass",
    "pg_operator",
    "pg_policy",
    "pg_prepared_statements",
    "pg_proc",
    "pg_publication",
    "pg_range",
    "pg_rewrite",
    "pg_roles",
    "pg_sequence",
    "pg_sequences",
    "pg_settings",
    "pg_shdescription",
    "pg_stat_activity",
    "pg_stat_database",
    "pg_stat_user_tables",
    "pg_statistic_ext",
    "pg_tables",
    "pg_tablespace",
    "pg_timezone_names",
    "pg_trigger",
    "pg_type",
    "pg_user",
    "pg_views",
    "pg_backend_pid",
    "pg_encoding_to_char",
    "pg_function_is_visible",
    "pg_get_constraintdef",
    "pg_get_expr",
    "pg_get_indexdef",
    "pg_get_keywords",
    "pg_get_partkeydef",
    "pg_get_userbyid",
    "pg_get_viewdef",
    "pg_is_in_recovery",
    "pg_postmaster_start_time",
    "pg_relation_size",
    "pg_size_pretty",
    "pg_table_is_visible",
    "pg_table_size",
    "pg_tablespace_location",
    "pg_total_relation_size",
    "pg_type_is_visible",
}
_VERSION_CALL = re.compile(r"\bversion\s*\(\s*\)", re.I)


def is_catalog_query(sql: str) -> bool:
    """A query about the catalog (system schemas and relations, session functions), not about data."""
    return any(w in _CATALOG_WORDS for w in code_words(sql)) or bool(_VERSION_CALL.search(code_only(sql)))


class Shadow:
    """One session's catalog database (see the module's docstring)."""

    def __init__(self, platform: Platform, person: Person) -> None:
        self.platform = platform
        self.person = person
        self._con: duckdb.DuckDBPyConnection | None = None
        self._version: int | None = None
        self._lock = threading.Lock()

    def query(self, sql: str, settings: Mapping[str, str], allowance: Allowance) -> pa.Table:
        """Run a catalog query (blocking) within the person's allowance (time, rows) and return its result.

        A catalog holds no rows, but a query can still compute (`range(10^12)` joined to `pg_class`): the
        watchdog interrupts it at the time limit, as it does a gateway query."""
        limits = self.platform.limits
        max_rows = allowance.rows
        with self._lock:
            con = self._connection()
            text = rewrite(sql, settings)
            watch = limits.watchdog.watch(limits.clock() + allowance.seconds, con.interrupt)
            try:
                relation = con.sql(text)
                if relation is None:
                    return pa.table({})
                reader = relation.to_arrow_reader(min(max_rows, 65_536))
                batches, rows = [], 0
                for batch in reader:
                    batches.append(batch.slice(0, max_rows - rows))
                    rows += batches[-1].num_rows
                    if rows >= max_rows:
                        break
                return pa.Table.from_batches(batches, schema=reader.schema)
            except duckdb.InterruptException:
                raise allowance.time_exceeded() from None
            except duckdb.Error:
                if watch.fired:
                    raise allowance.time_exceeded() from None
                empty = _empty_answer(text)
                if empty is None:
                    raise
                return empty
            finally:
                limits.watchdog.cancel(watch)

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    def _connection(self) -> duckdb.DuckDBPyConnection:
        version = self.platform.store.metadata_version()
        if self._con is not None and version is not None and version == self._version:
            return self._con
        if self._con is not None:
            self._con.close()
        self._con = _build(self.platform, self.person)
        self._version = version
        return self._con


def _build(platform: Platform, person: Person) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config={"autoload_known_extensions": False, "autoinstall_known_extensions": False})
    con.execute(f"ATTACH ':memory:' AS {DATABASE}")
    con.execute(f"USE {DATABASE}")
    con.execute("DETACH memory")
    with platform.store.session() as s:
        datasets = s.scalars(
            select(Dataset).where(knowable(person)).options(selectinload(Dataset.columns), selectinload(Dataset.domain))
        ).all()
        schemas = sorted({d.domain.name for d in datasets})
        ddl = [f"CREATE SCHEMA {_ident(schema)}" for schema in schemas]
        for d in sorted(datasets, key=lambda d: d.full_name):
            columns = [
                f"{_ident(c.name)} {_type(con, c.type)}" for c in sorted(d.columns, key=lambda c: c.position)
            ] or ['"?column?" VARCHAR']
            table = f"{_ident(d.domain.name)}.{_ident(d.name)}"
            ddl.append(f"CREATE TABLE {table} ({', '.join(columns)})")
            if d.title or d.description:
                ddl.append(f"COMMENT ON TABLE {table} IS {quote((d.title or d.description)[:1000])}")
    if ddl:
        con.execute(";\n".join(ddl))  # one call: a catalog of thousands of datasets is built several times faster
    for shim in _SHIMS:
        con.execute(shim.replace("{person}", quote(person.name)))
    path = ",".join(["main", *schemas])
    con.execute(f"SET search_path = {quote(path)}")
    con.execute("SET threads = 1")
    con.execute("SET memory_limit = '256MB'")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


_SHIMS = [
    # Columns of PostgreSQL's system views that DuckDB's lack, and functions tools call on them. They are
    # temporary objects, which name resolution tries before DuckDB's own `pg_catalog` (the rewrite drops that
    # qualifier), and which DuckDB's catalog views do not list among the person's tables.
    """CREATE TEMP VIEW pg_namespace AS SELECT * FROM pg_catalog.pg_namespace WHERE nspname <> 'main'""",
    """CREATE TEMP VIEW pg_class AS SELECT *, false AS relforcerowsecurity FROM pg_catalog.pg_class
        WHERE relnamespace IN (SELECT oid FROM pg_catalog.pg_namespace)""",
    f"""CREATE TEMP VIEW pg_database AS SELECT oid, datname, datallowconn, datistemplate, 10::BIGINT AS datdba,
        6 AS encoding, 'C' AS datcollate, 'C' AS datctype, NULL::VARCHAR AS daticulocale, 'c' AS datlocprovider,
        NULL::VARCHAR[] AS datacl, -1 AS datconnlimit, 0::BIGINT AS dattablespace
        FROM pg_catalog.pg_database WHERE datname = '{DATABASE}'""",
    """CREATE TEMP VIEW pg_roles AS SELECT 10::BIGINT AS oid, {person} AS rolname, false AS rolsuper,
        false AS rolinherit, false AS rolcreaterole, false AS rolcreatedb, true AS rolcanlogin,
        false AS rolreplication, -1 AS rolconnlimit, NULL::VARCHAR AS rolvaliduntil, false AS rolbypassrls""",
    "CREATE TEMP VIEW pg_user AS SELECT rolname AS usename, oid AS usesysid, false AS usesuper FROM pg_roles",
    """CREATE TEMP VIEW pg_stat_user_tables AS SELECT c.oid AS relid, n.nspname AS schemaname, c.relname,
        NULL::BIGINT AS n_live_tup FROM pg_catalog.pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r'""",
    "CREATE TEMP TABLE pg_range (rngtypid BIGINT, rngsubtype BIGINT, rngmultitypid BIGINT)",
    "CREATE TEMP TABLE pg_inherits (inhrelid BIGINT, inhparent BIGINT, inhseqno INTEGER, inhdetachpending BOOLEAN)",
    "CREATE TEMP MACRO pg_get_userbyid(x) AS 'threshold'",
    "CREATE TEMP MACRO pg_encoding_to_char(x) AS 'UTF8'",
    "CREATE TEMP MACRO pg_tablespace_location(x) AS ''",
    "CREATE TEMP MACRO pg_relation_size(x) AS 0::BIGINT",
    "CREATE TEMP MACRO pg_total_relation_size(x) AS 0::BIGINT",
    "CREATE TEMP MACRO pg_table_size(x) AS 0::BIGINT",
    "CREATE TEMP MACRO shobj_description(x, y) AS NULL::VARCHAR",
    "CREATE TEMP MACRO pg_get_partkeydef(x) AS NULL::VARCHAR",
]

_INFO_CATALOG = {
    "tables": "table_catalog",
    "columns": "table_catalog",
    "views": "table_catalog",
    "schemata": "catalog_name",
}
_NOT_ALIAS = {
    "where",
    "join",
    "left",
    "right",
    "inner",
    "outer",
    "cross",
    "full",
    "on",
    "order",
    "group",
    "limit",
    "union",
    "having",
    "natural",
    "using",
    "window",
    "offset",
    "fetch",
    "except",
    "intersect",
    "qualify",
}
_INFO = re.compile(
    r"\binformation_schema\s*\.\s*(tables|columns|views|schemata)\b(\s+(?:as\s+)?([a-z_][a-z0-9_]*))?", re.I
)


def _info(m: re.Match[str]) -> str:
    """`information_schema.tables` (and columns, views, schemata) of this database only, `main` left out."""
    view = m.group(1).lower()
    alias = m.group(3)
    tail = ""
    if alias is None or alias.lower() in _NOT_ALIAS:
        tail = m.group(2) or ""
        alias = view
    schema = "schema_name" if view == "schemata" else "table_schema"
    body = f"SELECT * FROM information_schema.{view} WHERE {_INFO_CATALOG[view]} = '{DATABASE}' AND {schema} <> 'main'"
    return f"({body}) AS {alias}{tail}"


_TYPES_OK: dict[str, bool] = {}


def _type(con: duckdb.DuckDBPyConnection, text: str) -> str:
    """The column's DuckDB type, or VARCHAR for one DuckDB cannot name (never SQL from the store unchecked)."""
    if text not in _TYPES_OK:
        ok = bool(re.fullmatch(r"[A-Za-z0-9_(), \[\]\"]+", text))
        if ok:
            try:
                con.execute(f"SELECT CAST(NULL AS {text})")
            except duckdb.Error:
                ok = False
        _TYPES_OK[text] = ok
    return text if _TYPES_OK[text] else "VARCHAR"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_REWRITES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"OPERATOR\s*\(\s*pg_catalog\s*\.\s*([~!<>=*+\-/^|&%]+)\s*\)", re.I), r" \1 "),
    (re.compile(r"\s+COLLATE\s+pg_catalog\s*\.\s*(\"?default\"?|\"C\"|C)\b", re.I), " "),
    (re.compile(r"'([^']*)'\s*::\s*(?:pg_catalog\s*\.\s*)?regclass", re.I), "__REGCLASS__"),
    (re.compile(r"::\s*(?:pg_catalog\s*\.\s*)?(regclass|regtype|regproc|regnamespace|oid)\b", re.I), "::BIGINT"),
    (re.compile(r"::\s*(?:pg_catalog\s*\.\s*)?(text|name)\b", re.I), "::VARCHAR"),
]


def rewrite(sql: str, settings: Mapping[str, str]) -> str:
    """PostgreSQL spellings DuckDB does not take, turned into ones it does (see the module's docstring)."""
    text = strip_comments(sql)

    def regclass(m: re.Match[str]) -> str:
        name = m.group(1).replace('"', "")
        if name.isdigit():
            return name
        schema, _, table = name.rpartition(".")
        where = f"relname = {quote(table)}" + (
            f" AND relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = {quote(schema)})"
            if schema
            else ""
        )
        return f"(SELECT oid FROM pg_catalog.pg_class WHERE {where} LIMIT 1)"

    text = _REWRITES[0][0].sub(_REWRITES[0][1], text)
    text = _REWRITES[1][0].sub(_REWRITES[1][1], text)
    text = _REWRITES[2][0].sub(lambda m: regclass(m), text)
    for pattern, to in _REWRITES[3:]:
        text = pattern.sub(to, text)
    text = re.sub(r"\bpg_catalog\s*\.\s*", "", text, flags=re.I)  # the shims come first
    text = _INFO.sub(_info, text)
    text = re.sub(r"\bpg_get_expr\s*\(([^(),]+),([^(),]+),[^(),]+\)", r"pg_get_expr(\1,\2)", text, flags=re.I)
    text = re.sub(
        r"(?:pg_catalog\s*\.\s*)?current_setting\s*\(\s*'([^']*)'\s*(?:,\s*\w+\s*)?\)",
        lambda m: quote(settings[m.group(1).lower()]) if m.group(1).lower() in settings else "NULL",
        text,
        flags=re.I,
    )
    text = re.sub(
        r"\b(?:current_user|session_user|current_role)\b(?:\s*\(\s*\))?",
        quote(settings.get("session_authorization", "")),
        text,
        flags=re.I,
    )
    text = re.sub(r"\bversion\s*\(\s*\)", quote(settings.get("_version", "")), text, flags=re.I)
    return text


def _empty_answer(sql: str) -> pa.Table | None:
    """No rows, with the output columns a SELECT names: the answer for system objects that do not exist here."""
    try:
        tree = sqlglot.parse_one(sql, read="postgres")
    except sqlglot.errors.ParseError:
        return None
    if not isinstance(tree, sqlglot.exp.Query):
        return None
    names = [e.alias_or_name or "?column?" for e in tree.selects]
    if not names or any(n == "*" for n in names):
        return None
    return pa.table({n: pa.array([], pa.string()) for n in dict.fromkeys(names)})
