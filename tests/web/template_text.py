"""Visible text in a Jinja template that is not inside a translation call.

A small scanner, not a full HTML parser: Jinja's own blocks (`{{ }}`, `{% %}`, `{# #}`) are opaque (a
`_("…")` call lives inside one), and between them it follows the HTML: text between tags, and the
attributes a person reads (title, placeholder, aria-label, alt). Text inside <code>, <pre>, <kbd> and
<samp> is code, not prose; <script> and <style> are skipped.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
READ_ATTRIBUTES = re.compile(r"""\b(title|placeholder|aria-label|alt)=(["'])([^"'{}]*)\2""")
CODE_ELEMENTS = ("code", "pre", "kbd", "samp", "script", "style")
TAG_NAME = re.compile(r"</?!?([a-zA-Z][a-zA-Z0-9-]*)")
LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Text:
    start: int  # offsets into the template source
    end: int
    text: str
    kind: str  # "text" or the attribute's name
    line: int


def has_words(text: str) -> bool:
    return bool(LETTER.search(re.sub(r"&#?\w+;", "", text)))


def untranslated(source: str) -> list[Text]:
    """Every run of visible text with letters outside Jinja blocks (so outside any `_()` call)."""
    found: list[Text] = []
    in_tag, quote, in_comment = False, "", False
    code_depth = 0
    run_start = -1

    def close_run(end: int) -> None:
        nonlocal run_start
        if run_start >= 0 and code_depth == 0:
            text = source[run_start:end]
            if has_words(text):
                found.append(Text(run_start, end, text, "text", source.count("\n", 0, run_start) + 1))
        run_start = -1

    position = 0
    segments = [(m.start(), m.end()) for m in JINJA.finditer(source)] + [(len(source), len(source))]
    for jinja_start, jinja_end in segments:
        i = position
        while i < jinja_start:
            ch = source[i]
            if in_comment:
                if source.startswith("-->", i):
                    in_comment, i = False, i + 3
                    continue
            elif in_tag:
                if quote:
                    if ch == quote:
                        quote = ""
                elif ch in "\"'":
                    quote = ch
                elif ch == ">":
                    in_tag = False
            elif source.startswith("<!--", i):
                close_run(i)
                in_comment, i = True, i + 4
                continue
            elif ch == "<" and TAG_NAME.match(source, i):
                close_run(i)
                in_tag = True
                name = TAG_NAME.match(source, i)
                assert name is not None
                tag = name.group(1).lower()
                if tag in CODE_ELEMENTS:
                    code_depth += -1 if source[i + 1] == "/" else 1
                    code_depth = max(code_depth, 0)
                end = source.find(">", i)
                stop = min(end if end >= 0 else jinja_start, jinja_start)
                for attr in READ_ATTRIBUTES.finditer(source, i, stop):
                    if has_words(attr.group(3)):
                        line = source.count("\n", 0, attr.start(3)) + 1
                        found.append(Text(attr.start(3), attr.end(3), attr.group(3), attr.group(1), line))
            elif run_start < 0:
                run_start = i
            i += 1
        if not in_tag and not in_comment:
            close_run(jinja_start)
        elif in_tag and jinja_start < len(source):
            # Attributes after a Jinja block inside the same tag: `<a href="{{ x }}" title="Words">`.
            end = source.find(">", jinja_end)
            nxt = source.find("{", jinja_end)
            stop = min(x for x in (end, nxt, len(source)) if x >= 0)
            for attr in READ_ATTRIBUTES.finditer(source, jinja_end, stop):
                if has_words(attr.group(3)):
                    line = source.count("\n", 0, attr.start(3)) + 1
                    found.append(Text(attr.start(3), attr.end(3), attr.group(3), attr.group(1), line))
        position = jinja_end
    return sorted(set(found), key=lambda t: t.start)


def unescaped(text: str) -> str:
    """A text run as the msgid: entities as characters, whitespace collapsed."""
    return " ".join(html.unescape(text).split())
