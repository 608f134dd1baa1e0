"""Payment card numbers: 13-19 digits, a known issuer prefix for that length, and the Luhn check."""

from __future__ import annotations

import re

from threshold.sharing.detectors.checksums import luhn_valid
from threshold.sharing.detectors.column import Column, Detection
from threshold.sharing.detectors.evidence import confidence, hints, sampled, share_of

_SEPARATORS = re.compile(r"[ -]")
_SHAPE = re.compile(r"\d{4}(?:[ -]?\d{2,7}){2,4}|\d{13,19}")

# (first digits of the number, allowed lengths): issuer identification number ranges in use.
_ISSUERS: tuple[tuple[range, int, frozenset[int]], ...] = (
    (range(4, 5), 1, frozenset({13, 16, 19})),  # Visa
    (range(51, 56), 2, frozenset({16})),  # Mastercard
    (range(2221, 2721), 4, frozenset({16})),  # Mastercard 2-series
    (range(34, 35), 2, frozenset({15})),  # American Express
    (range(37, 38), 2, frozenset({15})),  # American Express
    (range(6011, 6012), 4, frozenset({16, 17, 18, 19})),  # Discover
    (range(644, 660), 3, frozenset({16, 17, 18, 19})),  # Discover
    (range(3528, 3590), 4, frozenset({16, 17, 18, 19})),  # JCB
    (range(300, 306), 3, frozenset({14, 16, 17, 18, 19})),  # Diners Club
    (range(36, 37), 2, frozenset({14, 16, 17, 18, 19})),  # Diners Club
    (range(38, 40), 2, frozenset({16, 17, 18, 19})),  # Diners Club
    (range(62, 63), 2, frozenset({16, 17, 18, 19})),  # UnionPay
    (range(50, 51), 2, frozenset({16, 17, 18, 19})),  # Maestro
    (range(56, 59), 2, frozenset({16, 17, 18, 19})),  # Maestro
    (range(67, 68), 2, frozenset({16, 17, 18, 19})),  # Maestro
    (range(2200, 2205), 4, frozenset({16, 17, 18, 19})),  # Mir
)
_HINTS = hints(
    [
        "card",
        "cards",
        "cc",
        "pan",
        "karte",
        "carte",
        "tarjeta",
        "kaart",
        "kort",
        "visa",
        "mastercard",
        "amex",
    ],
    ["creditcard", "kreditkarte", "cardnumber", "kartennummer", "cartebancaire", "kortnummer"],
)


def card_valid(text: str) -> bool:
    """True for a plausible card number; spaces and dashes between digit groups are allowed."""
    if len(text) > 25 or not _SHAPE.fullmatch(text):
        return False
    digits = _SEPARATORS.sub("", text)
    if not 13 <= len(digits) <= 19:
        return False
    heads = (0, int(digits[:1]), int(digits[:2]), int(digits[:3]), int(digits[:4]))
    for prefixes, width, lengths in _ISSUERS:
        if heads[width] in prefixes and len(digits) in lengths:
            return luhn_valid(digits)
    return False


class CardDetector:
    tag = "financial.card"

    def detect(self, column: Column) -> Detection | None:
        hinted = _HINTS.match(column)
        bar = 0.4 if hinted else 0.6
        share = share_of(column, card_valid, bar)
        if share < bar:
            return None
        what = "payment card numbers (issuer prefix and Luhn check)"
        return Detection(self.tag, confidence(share, hinted), sampled(column, share, what, hinted))
