"""Query fingerprints: the query's shape with every literal removed.

Two people asking the same question with different values share a fingerprint (recurring
questions); the usage log stores only the stripped text, so no value typed into a query (an
e-mail, an amount) is ever recorded.
"""

from __future__ import annotations

import hashlib

from sqlglot import exp


def strip_literals(tree: exp.Expression) -> exp.Expression:
    """A copy of the tree with literals replaced by `?` (NULL/TRUE/FALSE are shape, kept)."""

    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Literal):
            return exp.Placeholder()
        return node

    return tree.copy().transform(replace, copy=False)


def fingerprint(stripped: exp.Expression) -> tuple[str, str]:
    """(fingerprint, normalised text) of a literal-free tree."""
    # Comments are dropped like literals: they can hold values too (an e-mail in /* ... */).
    text = stripped.sql(dialect="duckdb", normalize=True, pretty=False, comments=False)
    return hashlib.sha256(text.lower().encode()).hexdigest()[:32], text


_BY_TEXT: dict[str, tuple[str, str]] = {}
MAX_TEXTS = 4096


def fingerprint_of(sql: str, parsed: exp.Expression) -> tuple[str, str]:
    """`fingerprint(strip_literals(parsed))` for the tree `parsed` from the text `sql`, remembered per text:
    the same question asked by another reader, or in another home of this process, is not written out again."""
    found = _BY_TEXT.get(sql)
    if found is None:
        if len(_BY_TEXT) >= MAX_TEXTS:
            _BY_TEXT.clear()
        found = _BY_TEXT[sql] = fingerprint(strip_literals(parsed))
    return found
