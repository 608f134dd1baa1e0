"""International bank account numbers (ISO 13616): country code, length per country, mod-97 check."""

from __future__ import annotations

from threshold.sharing.detectors.checksums import mod97
from threshold.sharing.detectors.column import Column, Detection
from threshold.sharing.detectors.evidence import confidence, hints, sampled, share_of

# IBAN length per country (SWIFT IBAN registry).
LENGTHS = {
    "AD": 24,
    "AE": 23,
    "AL": 28,
    "AT": 20,
    "AZ": 28,
    "BA": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BR": 29,
    "BY": 28,
    "CH": 21,
    "CR": 22,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DK": 18,
    "DO": 28,
    "EE": 20,
    "EG": 29,
    "ES": 24,
    "FI": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GE": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "GT": 28,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IQ": 23,
    "IS": 26,
    "IT": 27,
    "JO": 30,
    "KW": 30,
    "KZ": 20,
    "LB": 28,
    "LC": 32,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "LY": 25,
    "MC": 27,
    "MD": 24,
    "ME": 22,
    "MK": 19,
    "MR": 27,
    "MT": 31,
    "MU": 30,
    "NL": 18,
    "NO": 15,
    "PK": 24,
    "PL": 28,
    "PS": 29,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "RS": 22,
    "SA": 24,
    "SC": 31,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "ST": 25,
    "SV": 28,
    "TL": 23,
    "TN": 24,
    "TR": 26,
    "UA": 29,
    "VA": 22,
    "VG": 24,
    "XK": 20,
}
_HINTS = hints(["iban", "konto", "rekening", "compte", "cuenta", "bankverbindung", "bank"], ["iban"])


def iban_valid(text: str) -> bool:
    """True for a valid IBAN; spaces are allowed ("DE89 3704 0044 0532 0130 00")."""
    compact = text.replace(" ", "").upper()
    if LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit() or not compact.isalnum():
        return False
    return compact.isascii() and mod97(compact[4:] + compact[:4]) == 1


class IbanDetector:
    tag = "financial.iban"

    def detect(self, column: Column) -> Detection | None:
        hinted = _HINTS.match(column)
        bar = 0.3 if hinted else 0.6
        share = share_of(column, iban_valid, bar)
        if share < bar:
            return None
        what = "IBANs with a valid check number"
        return Detection(self.tag, confidence(share, hinted), sampled(column, share, what, hinted))
