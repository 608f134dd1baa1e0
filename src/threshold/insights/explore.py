"""Explore without SQL: a spec of clicks (columns, filters, grouping, aggregates, sort, limit, a join)
turned into gateway SQL.

The SQL is built as a sqlglot tree: column names are identifiers checked against the dataset's schema,
values are typed literals (a date is a DATE, a number a number), never text pasted into SQL. A filter
may name a parameter instead of values: it becomes a placeholder (`$plant`) that `parameters.bind`
replaces with a literal when the question runs. The SQL is shown beside the result, and editable.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlglot import exp

from threshold.errors import InvalidInput

AGGREGATES = {
    "count": "number of rows",
    "count_distinct": "distinct values",
    "sum": "total",
    "avg": "average",
    "min": "smallest",
    "max": "largest",
    "median": "median",
}
OPERATORS = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "gt": "above",
    "gte": "at least",
    "lt": "below",
    "lte": "at most",
    "between": "between",
    "contains": "contains",
    "is_null": "is empty",
    "not_null": "is not empty",
}
GRAINS = ("day", "week", "month", "quarter", "year")
MAX_LIMIT = 100_000
NUMERIC_AGGREGATES = ("sum", "avg", "median")


@dataclass
class Filter:
    column: str
    op: str = "eq"
    values: list[Any] = field(default_factory=list)
    param: str | None = None
    """Bound to this parameter instead of `values` (a date range parameter binds both ends)."""


@dataclass
class Aggregate:
    fn: str
    column: str | None = None
    """None: count rows."""

    @property
    def alias(self) -> str:
        if self.column is None:
            return "rows" if self.fn == "count" else self.fn
        return f"{self.fn}_{_short(self.column)}"


@dataclass
class Sort:
    by: str
    desc: bool = False


@dataclass
class Join:
    dataset: str
    on: list[tuple[str, str]]
    """(column of the explored dataset, column of the joined one) pairs, compared for equality."""
    columns: list[str] = field(default_factory=list)


@dataclass
class ExploreSpec:
    dataset: str
    columns: list[str] = field(default_factory=list)
    """Columns shown; with grouping, the grouped columns and aggregates are shown instead."""
    filters: list[Filter] = field(default_factory=list)
    group_by: list[str] = field(default_factory=list)
    grain: dict[str, str] = field(default_factory=dict)
    """Date columns grouped by day, week, month, quarter or year."""
    aggregates: list[Aggregate] = field(default_factory=list)
    sort: list[Sort] = field(default_factory=list)
    limit: int | None = 1000
    join: Join | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExploreSpec:
        """A spec from its JSON form (API bodies, saved insights); shapes are checked, names by `build`."""
        if not isinstance(d, dict) or not isinstance(d.get("dataset"), str):
            raise InvalidInput("an explore spec needs a dataset")
        try:
            join = d.get("join")
            return cls(
                dataset=d["dataset"].strip().lower(),
                columns=[str(c) for c in d.get("columns") or []],
                filters=[
                    Filter(str(f["column"]), str(f.get("op", "eq")), list(f.get("values") or []), f.get("param"))
                    for f in d.get("filters") or []
                ],
                group_by=[str(c) for c in d.get("group_by") or []],
                grain={str(k): str(v) for k, v in (d.get("grain") or {}).items()},
                aggregates=[Aggregate(str(a["fn"]), a.get("column")) for a in d.get("aggregates") or []],
                sort=[Sort(str(s["by"]), bool(s.get("desc"))) for s in d.get("sort") or []],
                limit=None if d.get("limit") is None else int(d["limit"]),
                join=Join(
                    str(join["dataset"]).strip().lower(),
                    [(str(a), str(b)) for a, b in join.get("on") or []],
                    [str(c) for c in join.get("columns") or []],
                )
                if join
                else None,
            )
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidInput(f"the explore spec is not well formed: {type(e).__name__} {e}") from e


@dataclass
class Built:
    sql: str
    """Pretty gateway SQL, with `$name` placeholders for parameters."""
    outputs: list[str]
    """The result's column names, in order."""
    parameters: list[str]
    """Parameters the SQL names."""


Schemas = dict[str, dict[str, str]]
"""dataset -> {column: lake type}."""


def kind_of(lake_type: str) -> str:
    """What a filter picker fits: `number`, `date`, `datetime`, `bool` or `text`."""
    t = lake_type.upper()
    if t.startswith(("DECIMAL", "NUMERIC")) or t in (
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "FLOAT",
        "REAL",
        "DOUBLE",
    ):
        return "number"
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP"):
        return "datetime"
    if t == "BOOLEAN":
        return "bool"
    return "text"


def build(spec: ExploreSpec, schemas: Schemas) -> Built:
    """The gateway SQL of `spec`, every name checked against `schemas`."""
    main = spec.dataset
    if main not in schemas:
        raise InvalidInput(f"unknown dataset {main[:80]!r}")
    if spec.limit is not None and not 1 <= spec.limit <= MAX_LIMIT:
        raise InvalidInput(f"the limit is between 1 and {MAX_LIMIT:,}")
    cols = _Columns(spec, schemas)
    source: Any = exp.to_table(main).as_("t")
    query = exp.select().from_(source)
    if spec.join is not None:
        j = spec.join
        if j.dataset == main:
            raise InvalidInput("join another dataset, not the same one")
        if j.dataset not in schemas:
            raise InvalidInput(f"unknown dataset {j.dataset[:80]!r} to join")
        if not j.on:
            raise InvalidInput(f"say which columns join {main} to {j.dataset}")
        condition: Any = None
        for left, right in j.on:
            pair = exp.EQ(this=cols.ref(left), expression=cols.ref(f"{j.dataset}.{right}"))
            condition = pair if condition is None else exp.and_(condition, pair)
        query = query.join(exp.to_table(j.dataset).as_("j"), on=condition, join_type="left")
    outputs: list[str] = []
    params: list[str] = []
    grouped = bool(spec.group_by or spec.aggregates)
    if grouped:
        for g in spec.group_by:
            grain = spec.grain.get(g)
            node: Any = cols.ref(g)
            if grain:
                if grain not in GRAINS:
                    raise InvalidInput(f"group dates by one of {', '.join(GRAINS)}, not {grain!r}")
                if cols.kind(g) not in ("date", "datetime"):
                    raise InvalidInput(f"{g} is not a date: it cannot be grouped by {grain}")
                node = exp.Cast(
                    this=exp.DateTrunc(unit=exp.Literal.string(grain), this=node), to=exp.DataType.build("DATE")
                )
            name = _short(g) if not grain else f"{_short(g)}_{grain}"
            query = query.select(exp.alias_(node, name, quoted=_needs_quotes(name)))
            outputs.append(name)
        for a in spec.aggregates:
            node = _aggregate(a, cols)
            query = query.select(exp.alias_(node, a.alias, quoted=_needs_quotes(a.alias)))
            outputs.append(a.alias)
        for i in range(len(spec.group_by)):
            query = query.group_by(exp.Literal.number(i + 1))
    else:
        chosen = spec.columns or list(schemas[main])
        for c in chosen:
            name = _short(c) if "." not in c else c.rsplit(".", 1)[1]
            if name in outputs:
                name = c.replace(".", "_")
            query = query.select(exp.alias_(cols.ref(c), name, quoted=_needs_quotes(name)))
            outputs.append(name)
        if spec.join is not None:
            for c in spec.join.columns:
                name = c if c not in outputs else f"{spec.join.dataset.split('.')[-1]}_{c}"
                query = query.select(exp.alias_(cols.ref(f"{spec.join.dataset}.{c}"), name, quoted=_needs_quotes(name)))
                outputs.append(name)
    if len(set(outputs)) != len(outputs):
        raise InvalidInput("two result columns would have the same name: choose each column or aggregate once")
    where: Any = None
    for f in spec.filters:
        cond = _filter(f, cols, params)
        where = cond if where is None else exp.and_(where, cond)
    if where is not None:
        query = query.where(where)
    for s in spec.sort:
        if s.by not in outputs:
            raise InvalidInput(f"sort by a column of the result ({', '.join(outputs)}), not {s.by!r}")
        query = query.order_by(exp.Ordered(this=exp.column(s.by, quoted=_needs_quotes(s.by)), desc=s.desc))
    if spec.limit is not None:
        query = query.limit(spec.limit)
    return Built(query.sql(dialect="duckdb", pretty=True), outputs, params)


class _Columns:
    """Column references of a spec: `col` (the explored dataset) or `domain.dataset.col` (the joined one)."""

    def __init__(self, spec: ExploreSpec, schemas: Schemas) -> None:
        self.main = spec.dataset
        self.joined = spec.join.dataset if spec.join else None
        self.schemas = schemas

    def _resolve(self, ref: str) -> tuple[str, str, str]:
        ref = ref.strip().lower()
        if ref.count(".") == 2 and self.joined and ref.rsplit(".", 1)[0] == self.joined:
            dataset, column, alias = self.joined, ref.rsplit(".", 1)[1], "j"
        else:
            dataset, column, alias = self.main, ref, "t"
        if column not in self.schemas.get(dataset, {}):
            raise InvalidInput(f"{dataset} has no column {column[:80]!r}")
        return dataset, column, alias

    def ref(self, ref: str) -> exp.Column:
        _dataset, column, alias = self._resolve(ref)
        return exp.column(column, table=alias, quoted=_needs_quotes(column))

    def kind(self, ref: str) -> str:
        dataset, column, _alias = self._resolve(ref)
        return kind_of(self.schemas[dataset][column])


def _aggregate(a: Aggregate, cols: _Columns) -> Any:
    if a.fn not in AGGREGATES:
        raise InvalidInput(f"unknown aggregate {a.fn!r}; one of {', '.join(AGGREGATES)}")
    if a.column is None:
        if a.fn != "count":
            raise InvalidInput(f"{AGGREGATES[a.fn]} needs a column")
        return exp.Count(this=exp.Star())
    col = cols.ref(a.column)
    if a.fn in NUMERIC_AGGREGATES and cols.kind(a.column) != "number":
        raise InvalidInput(f"the {AGGREGATES[a.fn]} of {a.column} cannot be computed: it is not a number")
    if a.fn == "count":
        return exp.Count(this=col)
    if a.fn == "count_distinct":
        return exp.Count(this=exp.Distinct(expressions=[col]))
    fn = {"sum": exp.Sum, "avg": exp.Avg, "min": exp.Min, "max": exp.Max, "median": exp.Median}[a.fn]
    return fn(this=col)


def _filter(f: Filter, cols: _Columns, params: list[str]) -> Any:
    if f.op not in OPERATORS:
        raise InvalidInput(f"unknown filter {f.op!r}; one of {', '.join(OPERATORS)}")
    col = cols.ref(f.column)
    kind = cols.kind(f.column)
    if f.op == "is_null":
        return exp.Is(this=col, expression=exp.Null())
    if f.op == "not_null":
        return exp.Not(this=exp.Is(this=col, expression=exp.Null()))
    if f.param is not None:
        name = f.param.strip().lower()
        if not name.isidentifier():
            raise InvalidInput(f"a parameter name is a word (letters, digits, _), not {f.param[:40]!r}")
        if f.op == "between":
            low, high = exp.Placeholder(this=f"{name}_from"), exp.Placeholder(this=f"{name}_to")
            params.extend([f"{name}_from", f"{name}_to"])
            return exp.Between(this=col, low=low, high=high)
        params.append(name)
        value: exp.Expression = exp.Placeholder(this=name)
        values = [value]
    else:
        values = [literal(v, kind, f.column) for v in f.values]
    if f.op == "contains":
        if kind != "text" or len(values) != 1:
            raise InvalidInput(f"'contains' takes one text for a text column ({f.column} is {kind})")
        return exp.Anonymous(this="contains", expressions=[exp.Lower(this=col), exp.Lower(this=values[0])])
    if f.op in ("in", "not_in"):
        if not values:
            raise InvalidInput(f"choose at least one value of {f.column}")
        node: exp.Expression = exp.In(this=col, expressions=values)
        return exp.Not(this=node) if f.op == "not_in" else node
    if f.op == "between":
        if len(values) != 2:
            raise InvalidInput(f"'between' takes two values of {f.column} (from, to)")
        return exp.Between(this=col, low=values[0], high=values[1])
    if len(values) != 1:
        raise InvalidInput(f"'{OPERATORS[f.op]}' takes one value of {f.column}")
    cls = {"eq": exp.EQ, "ne": exp.NEQ, "gt": exp.GT, "gte": exp.GTE, "lt": exp.LT, "lte": exp.LTE}[f.op]
    return cls(this=col, expression=values[0])


def literal(value: Any, kind: str, what: str) -> exp.Expression:
    """A typed SQL literal of `value` for a column of `kind` (refused when it is not one)."""
    if value is None:
        return exp.Null()
    text = str(value).strip()
    try:
        if kind == "number":
            number = float(text.replace(",", "")) if not isinstance(value, (int, float)) else value
            if isinstance(number, float) and number.is_integer() and "." not in text and "e" not in text.lower():
                number = int(number)
            if isinstance(number, float) and (number != number or number in (float("inf"), float("-inf"))):
                raise ValueError
            return exp.Literal.number(number)
        if kind == "date":
            return exp.Cast(this=exp.Literal.string(date.fromisoformat(text[:10]).isoformat()), to=_type("DATE"))
        if kind == "datetime":
            return exp.Cast(this=exp.Literal.string(datetime.fromisoformat(text).isoformat()), to=_type("TIMESTAMP"))
        if kind == "bool":
            if text.lower() not in ("true", "false", "yes", "no", "1", "0"):
                raise ValueError
            return exp.Boolean(this=text.lower() in ("true", "yes", "1"))
    except (ValueError, OverflowError) as e:
        raise InvalidInput(f"{text[:40]!r} is not a {kind} (for {what})") from e
    if len(text) > 1000:
        raise InvalidInput(f"a value for {what} is longer than 1,000 characters")
    return exp.Literal.string(text)


def _type(name: str) -> exp.DataType:
    return exp.DataType.build(name)


def _short(ref: str) -> str:
    return ref.rsplit(".", 1)[-1].strip().lower()


def _needs_quotes(name: str) -> bool:
    return not (name.isidentifier() and name == name.lower())
