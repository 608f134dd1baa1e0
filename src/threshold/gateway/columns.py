"""Which columns of which datasets a query reads, resolved with sqlglot's qualifier and scopes."""

from __future__ import annotations

from typing import Any

from sqlglot import exp
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope

_CACHE: dict[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], dict[str, list[str]] | None] = {}


def columns_read_cached(
    fingerprint: str, tree: exp.Expression, schemas: dict[str, list[str]]
) -> dict[str, list[str]] | None:
    """`columns_read`, remembered per query shape and schema (the same question reads the same columns)."""
    key = (fingerprint, tuple(sorted((d, tuple(c)) for d, c in schemas.items())))
    if key not in _CACHE:
        if len(_CACHE) > 4096:
            _CACHE.clear()
        _CACHE[key] = columns_read(tree, schemas)
    found = _CACHE[key]
    return {d: list(c) for d, c in found.items()} if found is not None else None


def columns_read(tree: exp.Expression, schemas: dict[str, list[str]]) -> dict[str, list[str]] | None:
    """{dataset: [columns]} for `schemas` = {"domain.name": [column, ...]}; None when it cannot tell."""
    schema: dict[str, Any] = {}
    for full, cols in schemas.items():
        domain, name = full.split(".", 1)
        schema.setdefault(domain, {})[name] = dict.fromkeys(cols, "UNKNOWN")
    try:
        q = qualify(
            tree.copy(),
            schema=schema,
            dialect="duckdb",
            validate_qualify_columns=False,
            identify=False,
            quote_identifiers=False,
        )
        out: dict[str, set[str]] = {d: set() for d in schemas}
        for scope in traverse_scope(q):
            for column in scope.columns:
                source = scope.sources.get(column.table)
                if isinstance(source, exp.Table) and source.db:
                    full = f"{source.db.lower()}.{source.name.lower()}"
                    if full in out and column.name in schemas[full]:
                        out[full].add(column.name)
            for star in scope.expression.find_all(exp.Columns):
                _ = star  # COLUMNS(...) reads every column of every source in scope
                for source in scope.sources.values():
                    if isinstance(source, exp.Table) and source.db:
                        full = f"{source.db.lower()}.{source.name.lower()}"
                        if full in out:
                            out[full].update(schemas[full])
        return {d: sorted(c) for d, c in out.items()}
    except Exception:
        return None
