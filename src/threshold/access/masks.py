"""Mask functions: how a protected column reads for someone who may not see raw values.

A registry, one small function each: (quoted column, DuckDB type, key) -> SQL expression. The
expression is computed inside the reader's view, so no expression of the query ever sees the
raw value. `hash` is deterministic and keyed: equal values mask equally, so masked columns can
still be joined and counted, but the key never leaves the server.

Joinable, not reversible: the key of a `hash` is derived per *scope* (`scope_key`), never one key for
everything. A scope is the domain the values come from and the column's tag (and the grant they were
read under, for values a grantee derived), so nobody can get the hash of values of their choice under the
key of someone else's data: writing values into a column puts them in the writer's own scope. Domains
that want outsiders to join their hashed columns agree on a join key (policy rule `join_key`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from threshold.errors import InvalidInput

MaskFn = Callable[[str, str, str], str]

_TEXT = ("VARCHAR",)


def _null(col: str, typ: str, key: str) -> str:
    return f"CAST(NULL AS {typ})"


def _redact(col: str, typ: str, key: str) -> str:
    if typ in _TEXT:
        return f"CASE WHEN {col} IS NULL THEN NULL ELSE '***' END"
    return f"CAST(NULL AS {typ})"


def _hash(col: str, typ: str, key: str) -> str:
    return f"CASE WHEN {col} IS NULL THEN NULL ELSE 'h_' || left(sha256('{key}' || CAST({col} AS VARCHAR)), 16) END"


def _partial(col: str, typ: str, key: str) -> str:
    if typ not in _TEXT:
        return _redact(col, typ, key)
    return (
        f"CASE WHEN {col} IS NULL THEN NULL WHEN contains({col}, '@') "
        f"THEN left({col}, 1) || '***' || substr({col}, strpos({col}, '@')) "
        f"ELSE left({col}, 1) || '***' END"
    )


def _year(col: str, typ: str, key: str) -> str:
    if typ in ("DATE",):
        return f"CAST(date_trunc('year', {col}) AS DATE)"
    if typ.startswith("TIMESTAMP"):
        return f"date_trunc('year', {col})"
    return _redact(col, typ, key)


MASKS: dict[str, MaskFn] = {"null": _null, "redact": _redact, "hash": _hash, "partial": _partial, "year": _year}
"""Mask name -> SQL builder."""

STRICTNESS = {"null": 4, "redact": 3, "year": 2, "partial": 1, "hash": 1}
"""When several rules mask one column, the strictest mask wins (never a weaker one)."""

DESCRIPTIONS = {
    "null": "shown as empty",
    "redact": "shown as ***",
    "hash": "replaced by a keyed hash (equal values stay equal, so joins still work)",
    "partial": "only the first character (and an e-mail's domain) shown",
    "year": "only the year shown",
}


def check_mask(name: str) -> str:
    if name not in MASKS:
        raise InvalidInput(f"unknown mask {name!r}; use one of {', '.join(sorted(MASKS))}")
    return name


def mask_sql(name: str, column: str, duckdb_type: str, key: str) -> str:
    quoted = '"' + column.replace('"', '""') + '"'
    return MASKS[check_mask(name)](quoted, duckdb_type, key)


def scope_key(secret: str, scope: str) -> str:
    """The `hash` key of one scope, derived from the server's secret (never shown, never the same twice)."""
    return hmac.new(secret.encode(), f"threshold-mask-v2|{scope}".encode(), hashlib.sha256).hexdigest()[:32]
