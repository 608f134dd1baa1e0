"""The first wall: what user SQL may say, decided on the parse tree before anything runs.

Allow-lists, not deny-lists: one read-only statement (SELECT / WITH / VALUES / set operations),
table references that are catalog datasets (`domain.dataset`) or the query's own CTEs, and
functions from `functions.txt`. Everything else is refused with the reason.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from threshold.errors import InvalidInput
from threshold.sql import plain_errors

logging.getLogger("sqlglot").setLevel(logging.ERROR)


class GatewayDuckDB(DuckDB):
    """DuckDB's SQL as DuckDB 2 speaks it: Python-style lambdas (`lambda x: x + 1`, `lambda x, i: ...`)
    parse next to the arrow form (`x -> x + 1`), and every lambda is written in the Python style,
    because DuckDB 2 refuses the deprecated arrow unless a setting allows it."""

    class Tokenizer(DuckDB.Tokenizer):  # type: ignore[valid-type,misc]
        # DuckDB has no CROSS/OUTER APPLY: `apply` is its list function, apply(list, lambda x: ...).
        KEYWORDS = {k: v for k, v in DuckDB.Tokenizer.KEYWORDS.items() if k != "APPLY"}

    class Parser(DuckDB.Parser):  # type: ignore[valid-type,misc]
        FUNCTIONS = {k: v for k, v in DuckDB.Parser.FUNCTIONS.items() if k != "APPLY"}  # a plain function here

        def _parse_lambda(self, alias: bool = False) -> exp.Expr | None:
            params = self._lambda_params()
            if params is not None:
                return self.LAMBDAS[TokenType.ARROW](self, params)
            return super()._parse_lambda(alias)

        def _parse_simplified_pivot(self, is_unpivot: bool | None = None) -> exp.Expr:
            """`PIVOT t ON c USING agg(x) [ORDER BY ...] [LIMIT n]`: the modifiers DuckDB allows after a
            PIVOT statement become `SELECT * FROM (PIVOT ...) ORDER BY ... LIMIT n` (the same rows)."""
            pivot = super()._parse_simplified_pivot(is_unpivot)
            if not (self._curr and self._curr.token_type in (TokenType.ORDER_BY, TokenType.LIMIT)):
                return pivot
            wrapped = exp.select("*").from_(exp.Subquery(this=pivot))
            return self._parse_query_modifiers(wrapped)

        def _lambda_params(self) -> list[exp.Expr] | None:
            """`lambda a, b:` at the cursor: its parameters (the cursor moves past the colon); else None."""
            if not (self._curr and self._curr.token_type == TokenType.VAR and self._curr.text.lower() == "lambda"):
                return None
            index = self._index
            self._advance()
            params: list[exp.Expr] = []
            while self._curr and self._curr.token_type == TokenType.VAR:
                params.append(exp.to_identifier(self._curr.text))
                self._advance()
                if self._match(TokenType.COLON):
                    return params
                if not self._match(TokenType.COMMA):
                    break
            self._retreat(index)
            return None

    class Generator(DuckDB.Generator):  # type: ignore[valid-type,misc]
        def lambda_sql(self, expression: exp.Lambda, arrow_sep: str = "->", wrap: bool = True) -> str:
            return f"LAMBDA {self.expressions(expression, flat=True)}: {self.sql(expression, 'this')}"


DIALECT = GatewayDuckDB
"""The dialect user SQL is read in, and generated SQL written in (`render`)."""


def render(tree: exp.Expr) -> str:
    """SQL for the gateway's engine from a (rewritten) query tree."""
    return tree.sql(dialect=DIALECT)


_ROOTS = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Values, exp.Subquery, exp.Pivot)
"""Statements a query may be: a standalone PIVOT / UNPIVOT (`PIVOT t ON c USING sum(x)`) too."""
# Table-valued functions that only compute on their arguments.
_TABLE_FUNCTIONS = {"range", "generate_series", "unnest"}
# Typed sqlglot nodes that render as SQL syntax rather than `name(...)`.
_SYNTAX_FUNCS = (
    exp.Cast,
    exp.TryCast,
    exp.Case,
    exp.If,
    exp.Extract,
    exp.Array,
    exp.Struct,
    exp.Bracket,
    exp.Between,
    exp.Interval,
    exp.Lambda,
    exp.Collate,
    exp.Grouping,
    exp.GroupingId,
    exp.CurrentDate,
    exp.CurrentTimestamp,
    exp.CurrentTime,
    exp.Coalesce,
    exp.Columns,
    exp.Unnest,
    exp.Explode,
    exp.Star,
    exp.ToMap,
    exp.VarMap,
    exp.Map,
    exp.DPipe,
    exp.Any,
    exp.All,
    exp.Exists,
    exp.In,
    exp.Paren,
    exp.Filter,
    exp.Null,
    exp.Boolean,
    exp.Window,
    exp.Distinct,
    exp.Ordered,
    exp.IgnoreNulls,
    exp.RespectNulls,
    exp.Nullif,
    exp.Not,
    exp.Is,
    exp.Like,
    exp.ILike,
    exp.RegexpLike,
    exp.JSONExtract,
    exp.JSONExtractScalar,
    exp.Anonymous,
    exp.Count,
    exp.ArrayAgg,
    exp.GroupConcat,
    exp.StrPosition,
)
_NAME_AT_START = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_TIME_TRAVEL_KINDS = {"VERSION", "TIMESTAMP", "SNAPSHOT"}


@cache
def allowed_functions() -> frozenset[str]:
    text = (Path(__file__).parent / "functions.txt").read_text()
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


@dataclass(frozen=True)
class TimeTravel:
    kind: str  # "version" (a snapshot id) or "timestamp"
    value: str


@dataclass
class Reference:
    """One reference to a dataset in the query (a dataset may be referenced several times)."""

    dataset: str  # domain.name, lower case
    node: exp.Table
    time_travel: TimeTravel | None = None


@dataclass
class CheckedQuery:
    tree: exp.Expression
    """The query's own tree, the gateway's to rewrite (its references point into it)."""
    references: list[Reference] = field(default_factory=list)
    source: exp.Expression | None = None
    """The tree as parsed, shared with every query of the same text: read it or copy it, never change it."""

    @property
    def datasets(self) -> list[str]:
        return sorted({r.dataset for r in self.references})


def parse(sql: str) -> exp.Expression:
    """Exactly one statement, parsed as DuckDB SQL (a copy: callers may rewrite it)."""
    return _parsed(sql).copy()


def _parsed(sql: str) -> exp.Expression:
    """`parse` without the copy: the tree kept for this text, not to be changed."""
    if not isinstance(sql, str) or not sql.strip():
        raise InvalidInput("the query is empty")
    if len(sql) > 200_000:
        raise InvalidInput("the query is longer than 200,000 characters")
    return _parse_once(sql)


@lru_cache(maxsize=1024)
def _parse_once(sql: str) -> exp.Expression:
    """Parsing is the costly part of a repeated query (dashboards, reruns); trees are cached by text."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except (ParseError, TokenError) as e:
        if isinstance(e, ParseError) and e.errors:
            raise plain_errors.from_parser(e, sql) from e
        raise InvalidInput(f"the query cannot be read: {_first_line(e)}") from e
    except RecursionError as e:
        raise InvalidInput("the query is nested too deeply") from e
    if not statements:
        raise InvalidInput("the query is empty")
    if len(statements) > 1:
        raise InvalidInput("send one statement at a time")
    tree = statements[0]
    if not isinstance(tree, exp.Expression):
        raise InvalidInput("cannot parse the query")
    return tree


def check(sql: str) -> CheckedQuery:
    """Parse and check a query; every dataset reference is returned for the gateway to bind."""
    source = _parsed(sql)
    tree = source.copy()
    if not isinstance(tree, _ROOTS):
        kind = tree.key.upper() if isinstance(tree, exp.Expression) else "?"
        if isinstance(tree, exp.Command):
            kind = str(tree.this).upper()
        raise InvalidInput(
            f"only read-only queries (SELECT, WITH, VALUES, UNION/INTERSECT/EXCEPT) are allowed; got {kind}"
        )
    checked = CheckedQuery(tree, source=source)
    allowed = allowed_functions()
    for node in tree.walk():
        if isinstance(node, (exp.DML, exp.DDL, exp.Command, exp.Pragma, exp.Set, exp.Use, exp.Copy)):
            raise InvalidInput(f"only read-only queries are allowed; found {node.key.upper()} inside the query")
        if isinstance(node, (exp.Placeholder, exp.Parameter, exp.SessionParameter)):
            raise InvalidInput("parameters and session variables ($1, ?, @x) are not allowed; write the values")
        if isinstance(node, exp.Into):
            raise InvalidInput("SELECT ... INTO is not allowed")
        if isinstance(node, exp.Table):
            ref = _reference(node)
            if ref is not None:
                checked.references.append(ref)
        elif isinstance(node, exp.Func):
            _check_function(node, allowed)
    return checked


def _cte_names(node: exp.Expression) -> set[str]:
    """Names of the CTEs visible at `node`, scoped as DuckDB binds them.

    Inside a CTE's body only the CTEs defined before it are visible, and the CTE itself only in the
    recursive branch of a WITH RECURSIVE union; anywhere else DuckDB resolves the name as a table,
    e.g. a file path through a replacement scan, so it must not count as a CTE here.
    """
    names: set[str] = set()
    child: object = node
    cur = node.parent
    while cur is not None:
        if isinstance(cur, exp.With) and isinstance(child, exp.CTE):
            ctes = list(cur.expressions)
            own = next(i for i, cte in enumerate(ctes) if cte is child)
            names.update(cte.alias_or_name.lower() for cte in ctes[:own])
            body = child.this
            in_anchor = isinstance(body, exp.Union) and any(a is body.this for a in _ancestors(node))
            if cur.args.get("recursive") and isinstance(body, exp.Union) and not in_anchor:
                names.add(child.alias_or_name.lower())
        else:
            with_ = cur.args.get("with_") or cur.args.get("with")
            if isinstance(with_, exp.With) and with_ is not child:
                names.update(cte.alias_or_name.lower() for cte in with_.expressions)
        child, cur = cur, cur.parent
    return names


def _ancestors(node: exp.Expression) -> list[object]:
    out: list[object] = []
    cur = node.parent
    while cur is not None:
        out.append(cur)
        cur = cur.parent
    return out


def _reference(node: exp.Table) -> Reference | None:
    target = node.this
    if not isinstance(target, exp.Identifier):
        fname = _function_name(target) if isinstance(target, exp.Expression) else "?"
        if isinstance(target, exp.Func) and fname in _TABLE_FUNCTIONS:
            return None
        raise InvalidInput(
            f"table functions are not allowed ({fname or 'expression'}); query datasets by name, e.g. sales.orders"
        )
    if node.args.get("catalog") is not None:
        raise InvalidInput(f"{node.sql(dialect='duckdb')!s:.80}: write datasets as domain.dataset")
    db = node.args.get("db")
    name = target.name.lower()
    if db is None:
        if name in _cte_names(node):
            if node.args.get("when") or node.args.get("version"):
                raise InvalidInput(f"time travel applies to datasets, not to the query's own {name!r}")
            return None
        raise InvalidInput(f"unknown table {target.name[:80]!r}: write datasets as domain.dataset", near=target.name)
    if not isinstance(db, exp.Identifier):
        raise InvalidInput("write datasets as domain.dataset")
    return Reference(dataset=f"{db.name.lower()}.{name}", node=node, time_travel=_time_travel(node))


def _time_travel(node: exp.Table) -> TimeTravel | None:
    when = node.args.get("when") or node.args.get("version")
    if when is None:
        return None
    kind = str(when.args.get("kind") if isinstance(when, exp.HistoricalData) else when.this).upper()
    value = when.args.get("expression")
    if kind not in _TIME_TRAVEL_KINDS or not isinstance(value, exp.Literal):
        raise InvalidInput(
            "time travel takes a literal: FOR VERSION AS OF <snapshot id> or FOR TIMESTAMP AS OF '<time>'"
        )
    return TimeTravel("timestamp" if kind == "TIMESTAMP" else "version", value.this)


def _function_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    m = _NAME_AT_START.match(node.sql(dialect=DIALECT))
    return m.group(1).lower() if m else ""


def _check_function(node: exp.Func, allowed: frozenset[str]) -> None:
    if isinstance(node, exp.Anonymous):
        name = str(node.this).lower()
        if name not in allowed:
            raise InvalidInput(f"function {name[:60]}() is not allowed in queries")
        return
    if isinstance(node, (exp.Binary, exp.Unary)) and _is_operator(type(node).__name__):
        return  # `a AND b`, `x -> '$.k'`: its SQL starts with its operand, which is checked on its own
    name = _function_name(node)
    if name and name not in allowed and not isinstance(node, _SYNTAX_FUNCS):
        raise InvalidInput(f"function {name[:60]}() is not allowed in queries")


@cache
def _is_operator(kind_name: str) -> bool:
    """Whether DuckDB writes this node kind between its operands (AND, OR, ->) rather than as name(...).

    Naming such a node by the start of its SQL would name its left operand instead: `EXISTS (...) AND x`
    or `coalesce(a, 0) OR b` were refused as if they called exists() or coalesce() as a function."""
    kind = getattr(exp, kind_name)
    try:
        sample = kind(this=exp.column("__left"), expression=exp.column("__right")).sql(dialect=DIALECT)
    except Exception:
        return False
    return sample.startswith("__left")


def _first_line(e: Exception) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(e))
    return text.strip().split("\n")[0][:200]
