"""Typed parameters of an insight (a plant, a date range) and their binding into its SQL as literals.

The SQL names a parameter as a placeholder, `$plant` (or `:plant`); a date range `period` binds
`$period_from` and `$period_to`. Binding replaces each placeholder node of the parsed SQL with a
typed literal: a value never becomes SQL text of its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from threshold.errors import InvalidInput
from threshold.insights.explore import literal

TYPES = {"text": "text", "number": "number", "integer": "number", "date": "date", "date_range": "date"}
MAX_PARAMETERS = 10


@dataclass
class Parameter:
    name: str
    type: str = "text"
    label: str = ""
    default: Any = None
    """A value of the type; a date range's default is [from, to]."""
    choices: list[Any] = field(default_factory=list)
    """Values to pick from (a plant); empty: any value of the type."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def placeholders(self) -> list[str]:
        return [f"{self.name}_from", f"{self.name}_to"] if self.type == "date_range" else [self.name]


def parse_parameters(raw: Any) -> list[Parameter]:
    """Parameters from their JSON form, checked: names are words, types known, defaults of their type."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list) or len(raw) > MAX_PARAMETERS:
        raise InvalidInput(f"parameters are a list of at most {MAX_PARAMETERS}")
    out: list[Parameter] = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InvalidInput("each parameter needs a name")
        name = item["name"].strip().lower()
        if not name.isidentifier() or len(name) > 40:
            raise InvalidInput(f"a parameter name is a word of letters, digits and _, not {name[:40]!r}")
        kind = str(item.get("type") or "text")
        if kind not in TYPES:
            raise InvalidInput(f"parameter {name}: type is one of {', '.join(TYPES)}")
        choices = [str(c) for c in item.get("choices") or []][:500]
        p = Parameter(name, kind, str(item.get("label") or name.replace("_", " "))[:100], item.get("default"), choices)
        if p.default not in (None, "", []):
            p.default = coerce(p, p.default)
        out.append(p)
    if len({p.name for p in out}) != len(out):
        raise InvalidInput("two parameters have the same name")
    return out


def coerce(p: Parameter, value: Any) -> Any:
    """A value of the parameter's type (as JSON: numbers, ISO dates, [from, to] for a range)."""
    if p.type == "date_range":
        if isinstance(value, str) and ".." in value:
            value = value.split("..", 1)
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise InvalidInput(f"{p.name} is a date range: give from and to (2026-01-01..2026-03-31)")
        return [_check(p, "date", v) for v in value]
    return _check(p, TYPES[p.type], value)


def _check(p: Parameter, kind: str, value: Any) -> Any:
    checked = _typed(p, kind, value)
    if p.choices and str(checked) not in p.choices:
        raise InvalidInput(f"{p.name} is one of {', '.join(p.choices[:10])}{' ...' if len(p.choices) > 10 else ''}")
    return checked


def _typed(p: Parameter, kind: str, value: Any) -> Any:
    node = literal(value, kind, p.name)  # refuses what is not of the type
    if isinstance(node, exp.Cast):
        return node.this.name
    if isinstance(node, exp.Literal) and node.is_number:
        number = float(node.this)
        if p.type == "integer":
            if not number.is_integer():
                raise InvalidInput(f"{p.name} is a whole number")
            return int(number)
        return int(number) if number.is_integer() else number
    return str(value).strip()


def values_for(params: list[Parameter], given: dict[str, Any] | None) -> dict[str, Any]:
    """Every parameter's value: the one given (coerced), else its default; a missing one is refused."""
    given = {k.strip().lower(): v for k, v in (given or {}).items() if v not in (None, "")}
    unknown = sorted(set(given) - {p.name for p in params})
    if unknown:
        raise InvalidInput(f"no parameter {unknown[0][:40]!r}; this insight has {_names(params)}")
    out: dict[str, Any] = {}
    for p in params:
        if p.name in given:
            out[p.name] = coerce(p, given[p.name])
        elif p.default not in (None, "", []):
            out[p.name] = p.default
        else:
            raise InvalidInput(f"give a value for {p.name} ({p.label})")
    return out


def placeholders(sql: str) -> list[str]:
    """The placeholder names a SQL text uses, in order."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except ParseError as e:
        raise InvalidInput(f"cannot read the SQL: {str(e).splitlines()[0][:200]}") from e
    return list(dict.fromkeys(str(n.this) for n in tree.find_all(exp.Placeholder) if n.this))


def check_sql(sql: str, params: list[Parameter]) -> None:
    """Every placeholder of the SQL is a parameter (and nothing is a bare `?`)."""
    known = {ph: p for p in params for ph in p.placeholders}
    for name in placeholders(sql):
        if name.lower() not in known:
            raise InvalidInput(f"the SQL names ${name}, which is not a parameter ({_names(params)})")


def bind(sql: str, params: list[Parameter], values: dict[str, Any]) -> str:
    """The SQL with each placeholder replaced by the typed literal of its value."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except ParseError as e:
        raise InvalidInput(f"cannot read the SQL: {str(e).splitlines()[0][:200]}") from e
    literals: dict[str, exp.Expression] = {}
    for p in params:
        value = values.get(p.name)
        if p.type == "date_range" and isinstance(value, list):
            literals[f"{p.name}_from"] = literal(value[0], "date", p.name)
            literals[f"{p.name}_to"] = literal(value[1], "date", p.name)
        elif value is not None:
            literals[p.name] = literal(value, TYPES[p.type], p.name)

    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder):
            name = str(node.this or "").lower()
            if name not in literals:
                raise InvalidInput(f"the SQL names ${name or '?'}, which is not a parameter ({_names(params)})")
            return literals[name].copy()
        return node

    return tree.transform(replace).sql(dialect="duckdb")


def _names(params: list[Parameter]) -> str:
    return ", ".join(p.name for p in params) or "no parameters"
