"""Telephone numbers: international (+49 …, 0049 …), North American ((555) 123-4567) and national
formats with a trunk prefix (030 1234567, 06-12345678).

Plain integers (order ids, counters) never look like telephone numbers on their own; with a label
such as "phone" or "Handy" a plain digit string of telephone length counts too.
"""

from __future__ import annotations

import re

from threshold.sharing.detectors.column import Column, Detection
from threshold.sharing.detectors.evidence import confidence, describes_things, hints, sampled, share_of

_SHAPE = re.compile(r"[+(]?\d[\d ().\-/]{5,24}\d(?:\s*(?:x|ext\.?|#)\s*\d{1,5})?", re.IGNORECASE)
_EXTENSION = re.compile(r"\s*(?:x|ext\.?|#)\s*\d{1,5}$", re.IGNORECASE)
_NANP = re.compile(r"(?:\+?1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}")
_DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")
_GROUPS = re.compile(r"[ ().\-/]+")
_NOT_DIGIT = re.compile(r"\D")
_DECIMAL = re.compile(r"[+-]?\d+[.,]\d+")

STRONG, WEAK, NO = 2, 1, 0
# Labels of other numbers that share the national format (Hessian tax numbers: 013 815 08153).
_OTHER_NUMBERS = hints(
    ["ean", "gtin", "isbn", "vat", "ust"], ["steuer", "tax", "konto", "account", "iban", "serial", "invoice"]
)
_HINTS = hints(
    ["tel", "tlf", "tfn", "mob", "cell", "gsm", "fax", "handy", "msisdn", "whatsapp", "portable", "movil"],
    ["phone", "telefon", "telefoon", "telephon", "mobil", "mobiel", "rufnummer", "festnetz", "cellular"],
)


def phone_strength(text: str) -> int:
    """STRONG for an unmistakable telephone format, WEAK for digits that are one with a label, else NO."""
    if not _SHAPE.fullmatch(text) or _DATE.fullmatch(text) or _DECIMAL.fullmatch(text):
        return NO
    main = _EXTENSION.sub("", text)
    digits = len(_NOT_DIGIT.sub("", main))
    if not 7 <= digits <= 15:
        return NO
    if main.startswith("+"):
        return STRONG if digits >= 8 else WEAK
    if main.startswith("00"):
        return STRONG if digits >= 10 and main[2] != "0" else WEAK
    if _NANP.fullmatch(main):
        return STRONG
    groups = [g for g in _GROUPS.split(main) if g]
    if main.startswith("0") and len(groups) >= 2 and 2 <= len(groups[0]) <= 5 and 9 <= digits <= 13:
        return STRONG  # national number with a trunk prefix and an area code: 030 1234567, 06-12345678
    if len(groups) == 1:
        return WEAK if 9 <= digits <= 15 else NO
    if all(2 <= len(g) <= 4 for g in groups):
        return WEAK  # local groups without a prefix: 123 45 67
    return NO


def _strong(text: str) -> bool:
    return phone_strength(text) == STRONG


def _any(text: str) -> bool:
    return phone_strength(text) != NO


class PhoneDetector:
    tag = "personal.phone"

    def detect(self, column: Column) -> Detection | None:
        if not column.textual:
            return None
        if _HINTS.match(column):
            share = share_of(column, _any, 0.5)
            if share >= 0.5:
                what = "telephone numbers"
                return Detection(self.tag, confidence(share, True), sampled(column, share, what, True))
        if describes_things(column) or _OTHER_NUMBERS.match(column):
            return None  # "Artikelnummer" 0815-123-456: numbers of things may look like national numbers
        share = share_of(column, _strong, 0.7)
        if share < 0.7:
            return None
        return Detection(self.tag, confidence(share, False), sampled(column, share, "telephone numbers", False))
