"""Column-level lineage of one SQL query, computed with sqlglot (qualifier + scopes).

For every output column: the source columns whose values flow into it (`identity`, `transform`,
`aggregate`), the columns that only decide its value (`conditional`: a CASE condition, `window`:
a partition or order), and the reasons when an origin cannot be resolved. For the whole query:
the columns it filters, joins, groups and sorts by. Nothing is dropped: a column whose origin is
unknown is reported as unresolved with the reason; a column computed from no column is `constant`.

Semantics, as a reader would expect them:
- derived tables, CTEs and set operations are followed to the base datasets (UNION/INTERSECT: both
  sides flow; EXCEPT: the right side only filters); `*` is expanded from the datasets' schemas;
- a scalar subquery in a projection flows like a column; a subquery in WHERE/HAVING/ON filters;
  EXISTS reads no values of its projection (only what its own WHERE names);
- kinds compose across levels, the strongest wins (identity < transform < aggregate); a COUNT masks
  its input (values do not survive it), and masking survives every later step.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope, find_all_in_scope

logging.getLogger("sqlglot").setLevel(logging.ERROR)

_RANK = {"identity": 0, "transform": 1, "aggregate": 2}
_MASKING_AGGREGATES = (exp.Count, exp.ApproxDistinct, exp.CountIf)
# Window functions that pick a row's value rather than aggregate (sqlglot files them under AggFunc).
_NAVIGATION = (exp.Lag, exp.Lead, exp.FirstValue, exp.LastValue, exp.NthValue)
_CLAUSES = {
    "where": "filter",
    "having": "filter",
    "qualify": "filter",
    "joins": "join",
    "group": "group_by",
    "order": "sort",
    "laterals": "join",
    "connect": "filter",
    "prewhere": "filter",
}


_PIVOT = "PIVOT/UNPIVOT make columns from data values; rewrite it with CASE or FILTER to trace its columns"


@dataclass(frozen=True, order=True)
class Origin:
    """A source column, and how the target depends on it."""

    dataset: str
    column: str
    kind: str
    masking: bool = False


@dataclass
class OutputColumn:
    position: int
    name: str
    expression: str
    sources: list[Origin] = field(default_factory=list)
    """Direct: values flow (identity, transform, aggregate)."""
    indirect: list[Origin] = field(default_factory=list)
    """Columns that decide this column's value only (conditional, window)."""
    unresolved: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """`resolved`, `constant` (computed from no column), `partial` or `unresolved`."""
        if self.unresolved:
            return "partial" if self.sources else "unresolved"
        return "resolved" if self.sources or self.indirect else "constant"


@dataclass
class QueryLineage:
    columns: list[OutputColumn]
    indirect: list[Origin]
    """Columns the whole result depends on (filter, join, group_by, sort)."""
    datasets: list[str]
    unresolved: list[str] = field(default_factory=list)
    """Query-level gaps: the query could not be analysed, or a column it filters/joins/groups by
    could not be traced."""

    @property
    def gaps(self) -> int:
        """Unresolved output columns, plus query-level gaps."""
        return sum(1 for c in self.columns if c.unresolved) + len(self.unresolved)

    def column(self, name: str) -> OutputColumn:
        return next(c for c in self.columns if c.name == name)


@dataclass
class _Trace:
    direct: dict[tuple[str, str], tuple[str, bool]] = field(default_factory=dict)
    indirect: set[tuple[str, str, str]] = field(default_factory=set)
    unresolved: list[str] = field(default_factory=list)

    def add_direct(self, dataset: str, column: str, kind: str, masking: bool) -> None:
        have = self.direct.get((dataset, column))
        if have is None:
            self.direct[(dataset, column)] = (kind, masking)
        else:
            strongest = kind if _RANK[kind] > _RANK[have[0]] else have[0]
            self.direct[(dataset, column)] = (strongest, have[1] and masking)

    def merge(
        self, other: _Trace, kind: str | None = None, masking: bool = False, as_indirect: str | None = None
    ) -> None:
        """Add `other` seen through one more step: composed with `kind`, or demoted to `as_indirect`."""
        for (ds, col), (k, m) in other.direct.items():
            if as_indirect:
                self.indirect.add((ds, col, as_indirect))
            else:
                composed = k if kind is None or _RANK[k] >= _RANK[kind] else kind
                self.add_direct(ds, col, composed, m or masking)
        self.indirect |= other.indirect
        for reason in other.unresolved:
            if reason not in self.unresolved:
                self.unresolved.append(reason)


def analyze(sql: str | exp.Expr, schemas: dict[str, list[str]]) -> QueryLineage:
    """Lineage of `sql` (DuckDB dialect) over datasets `schemas` = {"domain.name": [column, ...]}."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb") if isinstance(sql, str) else sql.copy()
    except SqlglotError as e:
        return QueryLineage([], [], [], [f"the query could not be parsed: {_first_line(e)}"])
    datasets = sorted(
        {f"{t.db}.{t.name}".lower() for t in tree.find_all(exp.Table) if t.db and isinstance(t.this, exp.Identifier)}
    )
    schema: dict[str, Any] = {}
    for full, cols in schemas.items():
        domain, name = full.lower().split(".", 1)
        schema.setdefault(domain, {})[name] = dict.fromkeys((c.lower() for c in cols), "UNKNOWN")
    try:
        qualified = qualify(
            tree,
            schema=schema,
            dialect="duckdb",
            validate_qualify_columns=False,
            identify=False,
            quote_identifiers=False,
        )
        root = build_scope(qualified)
    except (SqlglotError, RecursionError, KeyError, ValueError) as e:
        return QueryLineage([], [], datasets, [f"the query could not be analysed: {_first_line(e)}"])
    if isinstance(qualified, exp.Pivot) or qualified.find(exp.Pivot) is not None:
        return QueryLineage([], [], datasets, [_PIVOT])
    if root is None or not isinstance(root.expression, (exp.Query, exp.Values)):
        return QueryLineage([], [], datasets, ["the statement is not a query"])
    walker = _Walker(schemas)
    columns = []
    names = _output_names(root)
    for i, name in enumerate(names):
        trace = walker.output(root, i)
        columns.append(
            OutputColumn(
                position=i,
                name=name,
                expression=_projection_sql(root, i),
                sources=sorted(Origin(d, c, k, m) for (d, c), (k, m) in trace.direct.items()),
                indirect=sorted({Origin(d, c, k) for d, c, k in trace.indirect}),
                unresolved=list(trace.unresolved),
            )
        )
    indirect = sorted({Origin(d, c, k) for d, c, k in walker.query_indirect(root, skip_owned=True)})
    return QueryLineage(columns, indirect, datasets, walker.gaps)


class _Walker:
    def __init__(self, schemas: dict[str, list[str]]) -> None:
        self.schemas = {k.lower(): {c.lower() for c in v} for k, v in schemas.items()}
        # Keyed by id(scope): the scope is kept in the value so that its id cannot be reused.
        self._memo: dict[tuple[int, int], tuple[Scope, _Trace]] = {}
        self._active: set[tuple[int, int]] = set()
        self._owned: set[int] = set()
        """Scopes of subqueries inside a projection: what they filter by decides that column only."""
        self.gaps: list[str] = []
        """Unresolved origins of columns the query filters, joins, groups or sorts by."""

    # --- what flows into an output column -----------------------------------------------------
    def output(self, scope: Scope, index: int) -> _Trace:
        key = (id(scope), index)
        if key in self._memo:
            return self._memo[key][1]
        if key in self._active:
            # A recursive CTE reaching itself: its anchor branch carries the origins already.
            return _Trace()
        self._active.add(key)
        try:
            trace = self._output(scope, index)
        finally:
            self._active.discard(key)
        self._memo[key] = (scope, trace)
        return trace

    def _output(self, scope: Scope, index: int) -> _Trace:
        node = scope.expression
        trace = _Trace()
        if isinstance(node, exp.SetOperation):
            branches = scope.set_operation_scopes
            for i, branch in enumerate(branches):
                inner = self.output(branch, index)
                filtering = isinstance(node, exp.Except) and i > 0
                trace.merge(inner, as_indirect="filter" if filtering else None)
            return trace
        if isinstance(node, exp.Values):
            return trace  # literal rows: constant
        if isinstance(node, exp.Subquery):
            for inner_scope in scope.subquery_scopes:
                return self.output(inner_scope, index)
        if not isinstance(node, exp.Select):
            trace.unresolved.append(f"cannot follow a {node.key.upper()} source")
            return trace
        selects = node.selects
        if index >= len(selects):
            trace.unresolved.append("the query has fewer columns than its result")
            return trace
        projection = selects[index]
        return self.expression(scope, projection.unalias() if isinstance(projection, exp.Alias) else projection)

    def expression(self, scope: Scope, expr: exp.Expr) -> _Trace:
        trace = _Trace()
        if isinstance(expr, exp.Star) or (isinstance(expr, exp.Column) and isinstance(expr.this, exp.Star)):
            source = expr.table if isinstance(expr, exp.Column) else ""
            trace.unresolved.append(f"* over {source or 'a source'} could not be expanded: its columns are not known")
            return trace
        if any(not _in_subquery(c, expr) for c in expr.find_all(exp.Columns)):
            trace.unresolved.append("COLUMNS(...) selects columns by pattern at run time; expand it by hand")
            return trace
        whole = _strip_parens(expr)
        subqueries = {id(s.expression): s for s in scope.subquery_scopes}
        for sub in find_all_in_scope(expr, *exp.UNWRAPPED_QUERIES):
            inner_scope = subqueries.get(id(sub))
            if inner_scope is None:
                continue
            role = _role_in_projection(sub, expr)
            kind = (
                "identity"
                if _strip_parens(sub.parent if isinstance(sub.parent, exp.Subquery) else sub) is whole
                else "transform"
            )
            inner = self.output(inner_scope, 0)
            if role:
                trace.merge(inner, as_indirect=role)
            else:
                trace.merge(inner, kind=_aggregate_kind(sub, expr) or kind, masking=_masking(sub, expr))
            # What the subquery filters or joins by decides this column only, not the whole result.
            trace.indirect |= self.query_indirect(inner_scope)
            self._owned.update(id(s) for s in inner_scope.traverse())
        for column in find_all_in_scope(expr, exp.Column):
            if _lambda_bound(column):
                continue
            role = _role_in_projection(column, expr)
            inner = self.column(scope, column)
            if role:
                trace.merge(inner, as_indirect=role)
                continue
            kind = _aggregate_kind(column, expr) or ("identity" if column is whole else "transform")
            trace.merge(inner, kind=kind, masking=_masking(column, expr))
        return trace

    def column(self, scope: Scope, column: exp.Column) -> _Trace:
        """Where one column reference of `scope` comes from."""
        trace = _Trace()
        table, name = column.table, column.name.lower()
        owner, source = _lookup(scope, table) if table else (None, None)
        if source is None:
            if table:
                trace.unresolved.append(f"{table}.{name}: no source named {table} in the query")
            else:
                trace.unresolved.append(f"{name}: not a column of any source in the query (unknown or ambiguous)")
            return trace
        if isinstance(source, exp.Table):
            if not isinstance(source.this, exp.Identifier):
                return self._function_source(scope, source)
            dataset = f"{source.db}.{source.name}".lower() if source.db else source.name.lower()
            known = self.schemas.get(dataset)
            if known is None:
                trace.unresolved.append(f"{name}: {dataset} is not a dataset whose columns are known")
            elif name not in known:
                trace.unresolved.append(f"{name}: {dataset} has no column {name}")
            else:
                trace.add_direct(dataset, name, "identity", False)
            return trace
        if isinstance(source, Scope):
            if owner is not None and _self_reference(column, _table_name(owner, table)):
                return trace  # a recursive CTE reading itself: its anchor branch carries the origins
            node = source.expression
            if not isinstance(node, (exp.Query, exp.Values, exp.Subquery)):
                return self._function_source(source, node)
            index = _index_of(source, name)
            if index is None:
                trace.unresolved.append(f"{name}: not an output of {table}")
                return trace
            return self.output(source, index)
        trace.unresolved.append(f"{name}: cannot follow source {table}")
        return trace

    def _function_source(self, scope: Scope, node: exp.Expr) -> _Trace:
        """A table function (UNNEST, range...): its columns are computed from its arguments."""
        trace = _Trace()
        parent = scope.parent if isinstance(node, exp.Unnest) and scope.parent else scope
        for column in node.find_all(exp.Column):
            if not _lambda_bound(column):
                trace.merge(self.column(parent, column), kind="transform")
        return trace

    # --- what the whole result depends on ------------------------------------------------------
    def query_indirect(self, root: Scope, *, skip_owned: bool = False) -> set[tuple[str, str, str]]:
        out: set[tuple[str, str, str]] = set()
        for scope in root.traverse():
            if skip_owned and id(scope) in self._owned:
                continue
            out |= self.scope_indirect(scope)
        return out

    def scope_indirect(self, scope: Scope) -> set[tuple[str, str, str]]:
        out: set[tuple[str, str, str]] = set()
        node = scope.expression
        if not isinstance(node, (exp.Select, exp.SetOperation)):
            return out
        aliases = {s.alias_or_name: i for i, s in enumerate(node.selects)} if isinstance(node, exp.Select) else {}
        for key, kind in _CLAUSES.items():
            part = node.args.get(key)
            if not part:
                continue
            for piece in part if isinstance(part, list) else [part]:
                if key == "joins":
                    piece = piece.args.get("on") or piece.args.get("using")
                    if piece is None:
                        continue
                for column in find_all_in_scope(piece, exp.Column):
                    if _lambda_bound(column):
                        continue
                    if not column.table and column.name in aliases and key in ("order", "group", "having", "qualify"):
                        inner = self.output(scope, aliases[column.name])
                    elif isinstance(node, exp.SetOperation):
                        position = _index_of(scope, column.name.lower())
                        inner = self.output(scope, position) if position is not None else _Trace()
                    else:
                        inner = self.column(scope, column)
                    out |= {(d, c, kind) for d, c in inner.direct} | inner.indirect
                    self._gaps(inner)
                for sub in find_all_in_scope(piece, *exp.UNWRAPPED_QUERIES):
                    sub_scope = next((s for s in scope.subquery_scopes if s.expression is sub), None)
                    if sub_scope is None or isinstance(sub.parent, exp.Exists):
                        continue
                    for i in range(len(sub.selects)):
                        inner = self.output(sub_scope, i)
                        out |= {(d, c, kind) for d, c in inner.direct} | inner.indirect
                        self._gaps(inner)
        return out

    def _gaps(self, trace: _Trace) -> None:
        for reason in trace.unresolved:
            if reason not in self.gaps:
                self.gaps.append(reason)


def _lookup(scope: Scope, table: str) -> tuple[Scope | None, exp.Table | Scope | None]:
    """The source `table` names, in this scope or (a correlated reference) in an enclosing one."""
    cur: Scope | None = scope
    while cur is not None:
        source = cur.sources.get(table)
        if source is not None:
            return cur, source
        cur = cur.parent
    return None, None


def _table_name(scope: Scope, alias: str) -> str:
    """The name behind an alias in FROM (`chain` for `FROM chain AS c`)."""
    selected = scope.selected_sources.get(alias)
    node = selected[0] if selected else None
    return node.name if isinstance(node, exp.Table) else alias


def _output_names(root: Scope) -> list[str]:
    node = root.expression
    if isinstance(node, exp.Values):
        return [f"col{i}" for i in range(len(node.expressions[0].expressions))] if node.expressions else []
    return list(node.named_selects) if isinstance(node, exp.Query) else []


def _projection_sql(root: Scope, index: int) -> str:
    node = root.expression
    while isinstance(node, exp.SetOperation):
        node = node.this
    if not isinstance(node, exp.Select) or index >= len(node.selects):
        return ""
    projection = node.selects[index]
    inner = projection.unalias() if isinstance(projection, exp.Alias) else projection
    return inner.sql(dialect="duckdb")[:500]


def _index_of(scope: Scope, name: str) -> int | None:
    node = scope.expression
    if isinstance(node, exp.Subquery):
        node = node.unnest()
    if isinstance(node, exp.Values):
        alias = node.args.get("alias")
        cols = [c.name.lower() for c in alias.columns] if alias is not None else []
        return cols.index(name) if name in cols else None
    names = [n.lower() for n in node.named_selects] if isinstance(node, exp.Query) else []
    if name in names:
        return names.index(name)
    alias = scope.expression.args.get("alias") if scope.expression.parent is not None else None
    if isinstance(alias, exp.TableAlias) and alias.columns:
        cols = [c.name.lower() for c in alias.columns]
        return cols.index(name) if name in cols else None
    return None


def _strip_parens(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _ancestors(node: exp.Expr, stop: exp.Expr) -> list[exp.Expr]:
    out = []
    cur: exp.Expr | None = node
    while cur is not None and cur is not stop:
        out.append(cur)
        cur = cur.parent
    if cur is stop:
        out.append(stop)
    return out


def _role_in_projection(node: exp.Expr, projection: exp.Expr) -> str | None:
    """`conditional` or `window` when `node` only decides the projection's value; None when it flows."""
    child = node
    for parent in _ancestors(node, projection)[1:]:
        key = child.arg_key
        if isinstance(parent, exp.Window) and key in ("partition_by", "order"):
            return "window"
        if isinstance(parent, exp.If) and key == "this":
            return "conditional"
        if isinstance(parent, exp.Case) and key == "this":
            return "conditional"
        if isinstance(parent, exp.Filter) and key == "expression":
            return "conditional"
        if isinstance(parent, (exp.Nullif,)) and key == "expression":
            return "conditional"
        child = parent
    return None


def _aggregate_kind(node: exp.Expr, projection: exp.Expr) -> str | None:
    for parent in _ancestors(node, projection)[1:]:
        if isinstance(parent, exp.AggFunc) and not isinstance(parent, _NAVIGATION):
            return "aggregate"
    return None


def _masking(node: exp.Expr, projection: exp.Expr) -> bool:
    """The nearest aggregate around `node` is a count: the values themselves do not reach the output."""
    for parent in _ancestors(node, projection)[1:]:
        if isinstance(parent, exp.AggFunc) and not isinstance(parent, _NAVIGATION):
            return isinstance(parent, _MASKING_AGGREGATES)
    return False


def _self_reference(column: exp.Column, table: str) -> bool:
    """`column` is inside the body of the (recursive) CTE named `table` that it reads."""
    cur = column.parent
    while cur is not None:
        if isinstance(cur, exp.CTE) and cur.alias_or_name == table:
            return True
        cur = cur.parent
    return False


def _lambda_bound(column: exp.Column) -> bool:
    if column.table:
        return False
    cur = column.parent
    while cur is not None:
        if isinstance(cur, exp.Lambda) and column.name in {p.name for p in cur.expressions}:
            return True
        cur = cur.parent
    return False


def _in_subquery(node: exp.Expr | None, root: exp.Expr) -> bool:
    if node is None or node is root:
        return False
    cur = node.parent
    while cur is not None and cur is not root:
        if isinstance(cur, exp.Query):
            return True
        cur = cur.parent
    return False


def _first_line(e: BaseException) -> str:
    return str(e).strip().split("\n")[0][:200]
