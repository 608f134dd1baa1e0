"""Row filters: an owner's SQL predicate, checked like user SQL and filled with the reader's attributes."""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from threshold.errors import InvalidInput
from threshold.gateway.check import _check_function, allowed_functions
from threshold.identity.service import Person

_PLACEHOLDER = re.compile(r"\{reader\.([a-z_][a-z0-9_]*)\}")


def _sql_literal(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_sql_literal(v) for v in value) + "]"
    if value is None:
        return "NULL"
    return "'" + str(value).replace("'", "''") + "'"


def render(where: str, reader: Person, attributes: dict[str, object]) -> str:
    """The predicate with {reader.x} replaced by quoted literals (never spliced as raw SQL)."""

    def value(m: re.Match[str]) -> str:
        key = m.group(1)
        if key == "name":
            return _sql_literal(reader.name)
        if key == "domain":
            return _sql_literal(reader.domain)
        if key == "domains":
            return _sql_literal(list(reader.domains))
        return _sql_literal(attributes.get(key))

    return _PLACEHOLDER.sub(value, where)


def validate_filter(where: str, columns: list[str] | None) -> exp.Expression:
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
