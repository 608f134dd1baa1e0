"""Interface text in the reader's language: gettext catalogues (`locale/<lang>/LC_MESSAGES/messages.po`, read
with Babel, no compile step) and numbers and dates in that locale. English is the source text."""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

from threshold.identity.service import LANGUAGES

LOCALE_DIR = Path(__file__).parent / "locale"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of `language` (English, or a missing catalogue: the text as written)."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == LANGUAGES[0] or not po.is_file():
        return gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def N_(text: str) -> str:
    """Mark interface text written in Python for extraction; it is translated where it is shown."""
    return text


@dataclass(frozen=True)
class Text:
    """Interface text decided in a view with its values (a title, a flash message), put into the reader's
    language when it is shown. `msgid` is English with `%(name)s` placeholders."""

    msgid: str
    values: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.msgid % self.values if self.values else self.msgid

    def into(self, language: str) -> str:
        text = translations(language).gettext(self.msgid)
        return text % self.values if self.values else text


def best_match(accept_language: str) -> str:
    """The interface language for someone not signed in, from the browser's Accept-Language header."""
    wanted = [part.split(";")[0].strip().lower()[:2] for part in accept_language.split(",")[:10]]
    return next((w for w in wanted if w in LANGUAGES), LANGUAGES[0])


def number(value: float, language: str) -> str:
    """1,234 / 1.234 and one decimal for fractions, in the language's locale."""
    pattern = "#,##0" if isinstance(value, int) or float(value).is_integer() else "#,##0.0"
    return format_decimal(value, format=pattern, locale=Locale.parse(language))


def percent(fraction: float, language: str) -> str:
    """12.5% / 12,5 % (one decimal at most), in the language's locale."""
    return format_percent(round(fraction, 3), locale=Locale.parse(language), decimal_quantization=False)


def date(at: datetime, language: str) -> str:
    return format_date(at, format="medium", locale=Locale.parse(language))
