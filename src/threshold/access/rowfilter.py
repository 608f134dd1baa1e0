"""Row filters: an owner's SQL predicate, checked like user SQL and filled with the reader's attributes."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from threshold.errors import InvalidInput
from threshold.identity.service import Person
from threshold.sql.check import _check_function, allowed_functions

_PLACEHOLDER = re.compile(r"\{reader\.([a-z_][a-z0-9_]*)\}")


_MARK = "__threshold_reader_{}__"


def _literal(value: object) -> exp.Expression:
    if isinstance(value, tuple):
        return exp.Array(expressions=[_literal(v) for v in value])
    return exp.null() if value is None else exp.Literal.string(str(value))


def _frozen(value: object) -> object:
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return None if value is None else str(value)


def render(where: str, reader: Person, attributes: Mapping[str, object] | Callable[[], Mapping[str, object]]) -> str:
    """The predicate with {reader.x} replaced by literal nodes of its parse tree, never spliced into its
    text: a value cannot end a string or a comment, and comments are dropped from what runs. `attributes`
    may be a function: it is called only when the predicate names an attribute."""
    known = {"name": reader.name, "domain": reader.domain, "domains": reader.domains}
    keys = dict.fromkeys(_PLACEHOLDER.findall(where))
    if any(k not in known for k in keys) and callable(attributes):
        attributes = attributes()
    values = attributes if isinstance(attributes, Mapping) else {}
    return _render(where, tuple((k, _frozen(known[k] if k in known else values.get(k))) for k in keys))


@lru_cache(maxsize=4096)
def _render(where: str, values: tuple[tuple[str, object], ...]) -> str:
    marks: dict[str, str] = {}

    def mark(m: re.Match[str]) -> str:
        marks[_MARK.format(len(marks))] = m.group(1)
        return "'" + _MARK.format(len(marks) - 1) + "'"

    try:
        tree = sqlglot.parse_one(_PLACEHOLDER.sub(mark, where), read="duckdb", into=exp.Condition)
    except (ParseError, TokenError) as e:
        raise InvalidInput(f"row filter {where[:60]!r} is not a valid SQL condition") from e
    filled = dict(values)

    def fill(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Literal) and node.is_string and node.this in marks:
            return _literal(filled[marks[node.this]])
        return node

    return tree.transform(fill).sql(dialect="duckdb", comments=False)


def validate_filter(where: str, columns: list[str] | None) -> exp.Condition:
    """A predicate may only use the dataset's columns, literals and allowed functions: no subqueries."""
    probe = _PLACEHOLDER.sub("'x'", where)
    try:
        tree = sqlglot.parse_one(probe, read="duckdb", into=exp.Condition)
    except (ParseError, TokenError) as e:
        raise InvalidInput(f"row filter {where[:60]!r} is not a valid SQL condition") from e
    allowed = allowed_functions()
    for node in tree.walk():
        if isinstance(node, (exp.Select, exp.Subquery, exp.Table, exp.Query)):
            raise InvalidInput("a row filter cannot contain subqueries or table references")
        if isinstance(node, exp.Func):
            _check_function(node, allowed)
        if isinstance(node, exp.Column):
            if node.table:
                raise InvalidInput("write row-filter columns without a table name")
            if columns is not None and node.name not in columns:
                raise InvalidInput(f"row filter uses {node.name!r}, which is not a column of the dataset")
    return tree
