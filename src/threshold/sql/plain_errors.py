"""Errors about a query in plain words: what is wrong, where in the query, and what was probably meant.

DuckDB's and sqlglot's messages speak to their developers ("Binder Error: Referenced column ... not
found in FROM clause!", "Invalid expression / Unexpected token"). These functions turn them into a
sentence for the person who wrote the query; the position is found in the query as they wrote it
(the engine runs a rewritten one, whose positions would mislead).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from sqlglot.errors import ParseError

from threshold.errors import InvalidInput, ThresholdError

_KIND = re.compile(r"^([A-Z][A-Za-z]*(?: [A-Za-z]+)*?) Error: ")
_KIND_WORDS = {
    "Conversion": "a value does not fit its type",
    "Out of Range": "a value is out of range",
    "Permission": "not permitted",
    "Division By Zero": "division by zero",
}
"""DuckDB's kinds of error that say something to the reader, in plain words; the rest become "the query failed"."""
_NO_COLUMN = "there is no column"
_STARTS = ("select", "with", "from", "pivot", "unpivot", "values", "table", "describe", "summarize")


def from_engine(first_line: str, full_text: str) -> InvalidInput:
    """DuckDB's error (its first line already cleaned of data and paths; `full_text` for its hints)."""
    m = _KIND.match(first_line)
    kind, rest = (m.group(1), first_line[m.end() :]) if m else ("", first_line)
    if col := re.match(r'Referenced column "([^"]+)" not found', rest) or re.match(
        r'[\w ]+ "[^"]+" does not have a column named "([^"]+)"', rest
    ):
        word = col.group(1)
        hint = (
            full_text.split("Candidate bindings:", 1)[1].split("\n\n", 1)[0]
            if "Candidate bindings:" in full_text
            else ""
        )
        candidates = [c.split(".")[-1] for c in re.findall(r'"([^"]+)"', hint) if not c.startswith("__")]
        close = difflib.get_close_matches(word.lower(), [c.lower() for c in candidates], n=3, cutoff=0.6)
        return InvalidInput(f"{_NO_COLUMN} “{word}” in what the query reads", suggestions=close, near=word)
    if fn := re.match(r"No function matches the given name and argument types '(\w+)\((.*?)\)'", rest):
        name, types = fn.group(1), fn.group(2) or "no arguments"
        return InvalidInput(
            f"{name}() cannot take {types.lower()}: convert the value first, e.g. CAST(column AS DOUBLE)", near=name
        )
    if table := re.match(r'Referenced table "([^"]+)" not found', rest):
        return InvalidInput(f"the query names “{table.group(1)}”, which none of its FROM parts is", near=table.group(1))
    if syntax := re.match(r'syntax error at or near "([^"]+)"', rest):
        return InvalidInput(f"the query cannot be read at “{syntax.group(1)}”", near=syntax.group(1))
    if kind:
        return InvalidInput(f"{_KIND_WORDS.get(kind, 'the query failed')}: {rest[:1].lower()}{rest[1:]}")
    return InvalidInput(f"the query failed: {first_line}")


def from_parser(e: ParseError, sql: str) -> InvalidInput:
    """sqlglot's parse error: where the query stops making sense, and the keyword meant if it starts wrong."""
    first = sql.split(None, 1)[0].lower() if sql.split() else ""
    if first and first not in _STARTS and first.isalpha():
        close = difflib.get_close_matches(first, _STARTS, n=1, cutoff=0.6)
        return InvalidInput(
            f"a query starts with SELECT (or WITH, FROM): “{sql.split(None, 1)[0][:40]}” {_at(sql, 1, 1)}",
            suggestions=[c.upper() for c in close],
        )
    info = e.errors[0] if e.errors else {}
    line, col, token = info.get("line"), info.get("col"), str(info.get("highlight") or "")
    where = _at(sql, int(line), max(1, int(col) - len(token) + 1)) if line and col else ""
    described = str(info.get("description") or "")
    if described.startswith("Expecting "):
        what = f"expected {described[len('Expecting ') :]}"
    elif described.startswith("Required keyword"):
        what = f"something is missing after “{token[:40]}”"
    else:
        what = f"unexpected “{token[:40]}”"
    return InvalidInput(f"the query cannot be read: {what} {where}".strip())


def locate(e: ThresholdError, sql: str, columns: Sequence[str] = ()) -> ThresholdError:
    """`e` with the position of the word it is about (`e.near`) in `sql`, when the word is there; for a
    column the engine offered nothing for, the closest of `columns` (those of the datasets the query reads)."""
    if not isinstance(e, InvalidInput) or not e.near:
        return e
    suggestions = e.suggestions
    if not suggestions and str(e).startswith(_NO_COLUMN):
        suggestions = tuple(difflib.get_close_matches(e.near.lower(), sorted(set(columns)), n=3, cutoff=0.6))
    m = re.search(r"(?<!\w)" + re.escape(e.near) + r"(?!\w)", sql, flags=re.IGNORECASE)
    if m is None:
        return InvalidInput(str(e), suggestions=suggestions, request_access=e.request_access)
    before = sql[: m.start()]
    line = before.count("\n") + 1
    col = m.start() - (before.rfind("\n") + 1) + 1
    return type(e)(f"{e} {_at(sql, line, col)}", suggestions=suggestions, request_access=e.request_access)


def _at(_sql: str, line: int, col: int) -> str:
    return f"(line {line}, column {col})"
