"""Every page speaks German: no visible template text outside a translation call, and every message the
templates and views use (extracted with Babel's own extractors) has a German entry with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from template_text import unescaped, untranslated

from threshold.web import i18n
from threshold.web.templating import TEMPLATES

WEB = Path(i18n.__file__).parent
CATALOGUE = i18n.LOCALE_DIR / "de" / "LC_MESSAGES" / "messages.po"
# Names and code shown as they are in every language.
NOT_TRANSLATED = {
    "Threshold",
    "login-page",
    "personal.email=ada@example.org",
    "dpo@example.com",
}  # name, CSS class, example inputs
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "Text": None}
METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def used_messages() -> dict[str, str]:
    """msgid (or the singular of a plural) → where it is used, from the templates and the view code."""
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        WEB, METHODS, keywords=KEYWORDS, comment_tags=()
    ):
        for text in message if isinstance(message, tuple) else (message,):
            if text:
                found.setdefault(text, f"{filename}:{lineno}")
    return found


def test_no_template_shows_text_outside_a_translation_call() -> None:
    loose = [
        f"{path.name}:{t.line} {t.kind} {unescaped(t.text)!r}"
        for path in sorted(TEMPLATES.glob("*.html"))
        for t in untranslated(path.read_text(encoding="utf-8"))
        if unescaped(t.text) not in NOT_TRANSLATED
    ]
    assert loose == []


def test_the_scanner_finds_loose_text_and_leaves_code_and_calls_alone() -> None:
    source = (
        '<h1>{{ _("Datasets") }}</h1><p title="Loose title">Loose {{ n }} words</p>'
        '<code>scrap_rate</code><!-- a comment --><input aria-label="{{ _(\'Search\') }}" placeholder="Type">'
    )
    assert [(t.kind, unescaped(t.text)) for t in untranslated(source)] == [
        ("title", "Loose title"),
        ("text", "Loose"),
        ("text", "words"),
        ("placeholder", "Type"),
    ]


def test_every_message_in_use_has_german_with_the_same_placeholders() -> None:
    with CATALOGUE.open("rb") as f:
        catalog = read_po(f, locale="de")
    used = used_messages()
    assert len(used) > 700  # the extractors found the pages' text (a broken method map finds nothing)
    missing, wrong = [], []
    for msgid, where in sorted(used.items()):
        entry = catalog.get(msgid)
        if entry is None:
            entry = next((m for m in catalog if isinstance(m.id, tuple) and msgid in m.id), None)
        if entry is None or not all(entry.string if isinstance(entry.string, tuple) else (entry.string,)):
            missing.append(f"{where} {msgid!r}")
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        if any(set(PLACEHOLDER.findall(s)) != wanted for s in strings):
            wrong.append(f"{where} {msgid!r} → {strings!r}")
    assert missing == []
    assert wrong == []


def test_no_message_has_two_different_german_texts() -> None:
    """Streams append their blocks to one catalogue: the same msgid twice is harmless, two translations of it
    are not (one would silently win)."""
    text = CATALOGUE.read_text(encoding="utf-8")
    seen: dict[str, set[str]] = {}
    for msgid, msgstr in re.findall(r'^msgid "(.*)"\nmsgstr "(.*)"$', text, re.M):
        seen.setdefault(msgid, set()).add(msgstr)
    assert {m: sorted(t) for m, t in seen.items() if len(t) > 1} == {}


def test_a_macro_imported_without_context_speaks_the_pages_language() -> None:
    """Another stream's new template may import macros the plain way: they still translate."""
    from threshold.web import templating

    source = '{% from "macros.html" import error_actions %}{{ error_actions(e, "") }}'
    error = {"suggestions": ["a.b"], "request_access": None, "kind": "NotFound"}
    rendering = templating._rendering_in.set("de")
    try:
        html = templating.environment.from_string(source).render(e=error)
    finally:
        templating._rendering_in.reset(rendering)
    assert "Meinten Sie" in html and "Den Katalog durchsuchen" in html
    assert "Did you mean" in templating.environment.from_string(source).render(e=error)
