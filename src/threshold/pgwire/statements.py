"""The SQL text a client sends, read only as far as the front door needs: split into statements, parameters
`$n` replaced by literals, and sorted into what the session answers itself, what the governed catalog
answers, and what goes to the gateway.

The scanner knows PostgreSQL's lexical structure (quoted strings, quoted names, dollar quotes, comments), so a
`$1` or a `;` inside a string is text, never a placeholder or a statement end.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from threshold.errors import InvalidInput

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_PARAM = re.compile(r"\$(\d+)")


def _tokens(sql: str) -> Iterator[tuple[str, int, int]]:
    """(kind, start, end) spans: `string`, `name`, `comment`, `param`, `semicolon` and `code`."""
    i, n = 0, len(sql)
    start = 0
    while i < n:
        c = sql[i]
        if c in "'\"":
            if start < i:
                yield "code", start, i
            j = i + 1
            while True:
                j = sql.find(c, j)
                if j < 0:
                    raise InvalidInput("unterminated quoted string or name")
                if j + 1 < n and sql[j + 1] == c:
                    j += 2
                    continue
                break
            yield ("string" if c == "'" else "name"), i, j + 1
            i = start = j + 1
        elif sql.startswith("--", i):
            if start < i:
                yield "code", start, i
            j = sql.find("\n", i)
            j = n if j < 0 else j
            yield "comment", i, j
            i = start = j
        elif sql.startswith("/*", i):
            if start < i:
                yield "code", start, i
            depth, j = 1, i + 2
            while depth:
                a, b = sql.find("/*", j), sql.find("*/", j)
                if b < 0:
                    raise InvalidInput("unterminated /* comment")
                if 0 <= a < b:
                    depth, j = depth + 1, a + 2
                else:
                    depth, j = depth - 1, b + 2
            yield "comment", i, j
            i = start = j
        elif c == "$":
            tag = _DOLLAR_TAG.match(sql, i)
            param = _PARAM.match(sql, i)
            if param and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")):
                if start < i:
                    yield "code", start, i
                yield "param", i, param.end()
                i = start = param.end()
            elif tag and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")):
                if start < i:
                    yield "code", start, i
                end = sql.find(tag.group(0), tag.end())
                if end < 0:
                    raise InvalidInput("unterminated dollar-quoted string")
                yield "string", i, end + len(tag.group(0))
                i = start = end + len(tag.group(0))
            else:
                i += 1
        elif c == ";":
            if start < i:
                yield "code", start, i
            yield "semicolon", i, i + 1
            i = start = i + 1
        else:
            i += 1
    if start < n:
        yield "code", start, n


def split(sql: str) -> list[str]:
    """The statements of a simple query, without the empty ones between semicolons."""
    out: list[str] = []
    current: list[str] = []
    for kind, a, b in _tokens(sql):
        if kind == "semicolon":
            out.append("".join(current))
            current = []
        else:
            current.append(sql[a:b])
    out.append("".join(current))
    return [s for s in out if strip_comments(s).strip()]


def strip_comments(sql: str) -> str:
    return "".join(sql[a:b] if kind != "comment" else " " for kind, a, b in _tokens(sql))


def parameter_count(sql: str) -> int:
    return max((int(sql[a + 1 : b]) for kind, a, b in _tokens(sql) if kind == "param"), default=0)


def bind(sql: str, literal: Callable[[int], str]) -> str:
    """`sql` with every `$n` replaced by `literal(n)` (1-based)."""
    return "".join(literal(int(sql[a + 1 : b])) if kind == "param" else sql[a:b] for kind, a, b in _tokens(sql))


def code_only(sql: str) -> str:
    """The text outside strings, quoted names and comments (each of those becomes a space)."""
    return "".join(sql[a:b] if kind in ("code", "param", "semicolon") else " " for kind, a, b in _tokens(sql))


def code_words(sql: str) -> list[str]:
    """The lower-cased words outside strings and comments (quoted names count, unquoted)."""
    words: list[str] = []
    for kind, a, b in _tokens(sql):
        if kind == "code":
            words += re.findall(r"[a-z_][a-z0-9_$]*", sql[a:b].lower())
        elif kind == "name":
            words.append(sql[a + 1 : b - 1].replace('""', '"').lower())
    return words


@dataclass(frozen=True)
class Setting:
    name: str
    value: str | None
    """None: RESET."""


_SET = re.compile(
    r"^\s*set\s+(?:session\s+|local\s+)?([a-z_][a-z0-9_.]*|\"[^\"]+\")\s*(?:=|\s+to\s+)\s*(.+?)\s*$", re.I | re.S
)
_SET_TZ = re.compile(r"^\s*set\s+(?:session\s+|local\s+)?time\s+zone\s+(.+?)\s*$", re.I | re.S)
_RESET = re.compile(r"^\s*reset\s+([a-z_][a-z0-9_.]*|all)\s*$", re.I)


def setting(sql: str) -> Setting | None:
    """`SET name = value` / `SET name TO value` / `SET TIME ZONE x` / `RESET name`, else None."""
    text = strip_comments(sql)
    if m := _SET_TZ.match(text):
        return Setting("timezone", _value(m.group(1)))
    if m := _SET.match(text):
        return Setting(m.group(1).strip('"').lower(), _value(m.group(2)))
    if m := _RESET.match(text):
        return Setting(m.group(1).lower(), None)
    return None


def _value(raw: str) -> str:
    raw = raw.strip()
    if raw.lower() == "default":
        return ""
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1].replace("''", "'")
    return raw.strip('"')


def options(text: str) -> dict[str, str]:
    """`-c name=value` / `--name=value` settings of the `options` startup parameter (backslash escapes a space)."""
    words, current, escaped = [], "", False
    for ch in text:
        if escaped:
            current, escaped = current + ch, False
        elif ch == "\\":
            escaped = True
        elif ch.isspace():
            if current:
                words.append(current)
            current = ""
        else:
            current += ch
    if current:
        words.append(current)
    out: dict[str, str] = {}
    i = 0
    while i < len(words):
        w = words[i]
        if w == "-c" and i + 1 < len(words):
            w, i = words[i + 1], i + 1
        elif w.startswith("-c"):
            w = w[2:]
        elif w.startswith("--"):
            w = w[2:]
        else:
            i += 1
            continue
        if "=" in w:
            name, value = w.split("=", 1)
            out[name.strip().lower().replace("-", "_")] = value
        i += 1
    return out
