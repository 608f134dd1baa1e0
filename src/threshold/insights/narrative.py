"""An insight's narrative: Markdown written by people, rendered safely.

Raw HTML in the text is escaped, never passed through (markdown-it with `html` off); links keep only
http(s), mailto and in-site paths (markdown-it refuses `javascript:` and `data:` links), and open in the
same tab. Slides, PDF pages and Excel sheets get the plain text.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

MAX_CHARS = 20_000

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
_SAFE_LINK = re.compile(r"^(https?://|mailto:|/(?!/)|#)", re.IGNORECASE)


def _validate(url: str) -> bool:
    return bool(_SAFE_LINK.match(url.strip()))


_md.validateLink = _validate  # type: ignore[method-assign]


def to_html(text: str) -> str:
    """Safe HTML of a narrative (every `<` of the writer's text arrives escaped)."""
    return _md.render(text[:MAX_CHARS])


_TEXT = ("text", "code_inline", "softbreak", "hardbreak")


def to_text(text: str) -> str:
    """The narrative as plain text: Markdown marks removed, paragraphs kept."""
    tokens = _md.parse(text[:MAX_CHARS])
    lines: list[str] = []
    bullet = ""
    for t in tokens:
        if t.type in ("bullet_list_open", "ordered_list_open"):
            bullet = "• "
        elif t.type in ("bullet_list_close", "ordered_list_close"):
            bullet = ""
        elif t.type == "inline":
            parts = [
                c.content if c.type in ("text", "code_inline") else " " for c in t.children or [] if c.type in _TEXT
            ]
            lines.append(bullet + "".join(parts))
        elif t.type in ("fence", "code_block"):
            lines.append(t.content.rstrip())
    return "\n".join(line for line in lines if line.strip())
