"""National identification numbers: the formats of several countries, with their check digits.

Each scheme says how distinctive it is without a label. A format with letters or separators and a
check (a UK National Insurance number, a Swedish personnummer with its dash) is tagged when nearly
every value matches; plain digit strings (a Dutch BSN, a German tax id) only when every value
passes the check; a format without a check digit (a US SSN without dashes) only with a label.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from threshold.sharing.detectors.checksums import eleven_test, luhn_valid, mod11_10_digit
from threshold.sharing.detectors.column import Column, Detection
from threshold.sharing.detectors.evidence import Hints, confidence, describes_things, hints, sampled, share_of


@dataclass(frozen=True)
class Scheme:
    what: str
    """Plural, for the reason: "valid UK National Insurance numbers"."""
    valid: Callable[[str], bool]
    alone: float | None
    """Share of valid values needed without a label; None: never without a label."""
    label: Hints | None = None
    """When set, only a label with one of these hints counts (a passport number has no check of its own)."""


_SSN = re.compile(r"(\d{3})-(\d{2})-(\d{4})")
_DIGITS_9 = re.compile(r"\d{9}")


def _ssn_parts_valid(area: str, group: str, serial: str) -> bool:
    return area not in {"000", "666"} and area[0] != "9" and group != "00" and serial != "0000"


def ssn_valid(text: str) -> bool:
    """US social security number ###-##-####, without the never-issued ranges (000, 666, 9xx, 00, 0000)."""
    m = _SSN.fullmatch(text)
    return m is not None and _ssn_parts_valid(m[1], m[2], m[3])


def ssn_plain_valid(text: str) -> bool:
    return _DIGITS_9.fullmatch(text) is not None and _ssn_parts_valid(text[:3], text[3:5], text[5:])


_NINO = re.compile(r"(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]")


def nino_valid(text: str) -> bool:
    """UK National Insurance number: two letters (not every pair is issued), six digits, A-D."""
    return _NINO.fullmatch(text.upper()) is not None


def bsn_valid(text: str) -> bool:
    """Dutch citizen service number (BSN): nine digits (dots or spaces allowed) passing the 11-test."""
    digits = text.replace(".", "").replace(" ", "")
    return eleven_test(digits.zfill(9)) if 8 <= len(digits) <= 9 else False


_PERSONNUMMER = re.compile(r"(\d{2})?(\d{2})(\d{2})(\d{2})([-+])(\d{4})")
_PERSONNUMMER_PLAIN = re.compile(r"(\d{2})?(\d{2})(\d{2})(\d{2})()(\d{4})")


def _personnummer(m: re.Match[str] | None) -> bool:
    if m is None:
        return False
    month, day = int(m[3]), int(m[4])
    day = day - 60 if day > 60 else day  # samordningsnummer: day + 60
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return False
    return luhn_valid(m[2] + m[3] + m[4] + m[6])


def personnummer_valid(text: str) -> bool:
    """Swedish personal identity number YYMMDD-NNNN (or YYYYMMDD-NNNN): a date and a Luhn check."""
    return _personnummer(_PERSONNUMMER.fullmatch(text))


def personnummer_plain_valid(text: str) -> bool:
    return _personnummer(_PERSONNUMMER_PLAIN.fullmatch(text))


_NIR = re.compile(r"([1-478]) ?(\d{2}) ?(\d{2}) ?(\d{2}|2[AB]) ?(\d{3}) ?(\d{3}) ?(\d{2})")


def nir_valid(text: str) -> bool:
    """French social security number (NIR): sex, year, month, place, order, then a mod-97 key."""
    m = _NIR.fullmatch(text.upper())
    if m is None:
        return False
    month = int(m[3])
    if not (1 <= month <= 12 or 20 <= month <= 42 or 50 <= month <= 99):
        return False
    place = m[4].replace("2A", "19").replace("2B", "18")
    number = int(m[1] + m[2] + m[3] + place + m[5] + m[6])
    return 97 - number % 97 == int(m[7])


_STEUER_ID = re.compile(r"[1-9]\d{10}")


def steuer_id_valid(text: str) -> bool:
    """German tax identification number: 11 digits, one digit repeated in the first ten, MOD 11,10."""
    digits = text.replace(" ", "").replace("/", "")
    if not _STEUER_ID.fullmatch(digits):
        return False
    # Exactly one digit appears twice (nine distinct) or three times (eight distinct, one of them thrice).
    first10 = digits[:10]
    distinct = set(first10)
    if not (len(distinct) == 9 or (len(distinct) == 8 and max(map(first10.count, distinct)) == 3)):
        return False
    return mod11_10_digit(digits[:10]) == int(digits[10])


_DNI = re.compile(r"([XYZ]?)-?(\d{7,8})-?([A-Z])")
_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def dni_valid(text: str) -> bool:
    """Spanish DNI (8 digits and a letter) or NIE (X/Y/Z, 7 digits, letter); the letter is a mod-23 check."""
    m = _DNI.fullmatch(text.upper())
    if m is None or (len(m[2]) == 7) != bool(m[1]):
        return False
    number = int(str("XYZ".index(m[1])) + m[2]) if m[1] else int(m[2])
    return _DNI_LETTERS[number % 23] == m[3]


_DOCUMENT = re.compile(r"(?=[A-Z0-9]*\d)[A-Z0-9]{6,10}")
_DOCUMENT_HINTS = hints(
    "passport passnr reisepass passeport pasaporte paspoort cni".split(),
    "passport ausweis idcard identitycard identitydocument cartedidentite identiteitskaart".split(),
)


def document_shaped(text: str) -> bool:
    """6-10 letters and digits, at least one digit: passport and identity card numbers (checks vary)."""
    return _DOCUMENT.fullmatch(text.upper().replace(" ", "")) is not None


SCHEMES = (
    Scheme("valid UK National Insurance numbers", nino_valid, 0.8),
    Scheme("valid Swedish personal identity numbers", personnummer_valid, 0.8),
    Scheme("valid French social security numbers (NIR)", nir_valid, 0.8),
    Scheme("valid Spanish DNI/NIE numbers", dni_valid, 0.8),
    Scheme("US social security numbers (issued ranges)", ssn_valid, 0.9),
    Scheme("valid Dutch citizen service numbers (BSN)", bsn_valid, 0.98),
    Scheme("valid German tax identification numbers", steuer_id_valid, 0.98),
    Scheme("valid Swedish personal identity numbers", personnummer_plain_valid, 0.98),
    Scheme("US social security numbers without dashes", ssn_plain_valid, None),
    Scheme("passport or identity card numbers", document_shaped, None, _DOCUMENT_HINTS),
)
_MIN_VALUES_ALONE = 10
"""Plain digits passing a check by chance is rare, but not on a handful of values."""

_HINTS = hints(
    """
    ssn ssns nino bsn sofi sofinummer burgerservicenummer personnummer personnr nir insee secu idnr
    tin dni nie nif cpr pesel cni nationalid passport passnr passnummer reisepass passeport
    pasaporte paspoort ausweis ausweisnummer personalausweis
    """.split(),
    [
        "socialsecurity",
        "nationalinsurance",
        "ninumber",
        "nationalid",
        "securitesociale",
        "steuerid",
        "steueridentifikation",
        "identifikationsnummer",
        "burgerservice",
        "personnummer",
        "taxid",
        "taxpayer",
        "identitynumber",
        "idnumber",
        "identitycard",
        "idcard",
        "personalidentity",
        "ausweis",
        "cartedidentite",
    ],
)


class NationalIdDetector:
    tag = "personal.national_id"

    def detect(self, column: Column) -> Detection | None:
        if not column.textual:
            return None
        hinted = _HINTS.match(column)
        if not hinted and describes_things(column):
            return None
        best: tuple[float, Scheme] | None = None
        for scheme in SCHEMES:
            if scheme.label is not None and not scheme.label.match(column):
                continue
            bar = 0.5 if hinted else scheme.alone
            if bar is None or (not hinted and column.size < _MIN_VALUES_ALONE and bar > 0.9):
                continue
            share = share_of(column, scheme.valid, bar)
            if share >= bar and (best is None or share > best[0]):
                best = (share, scheme)
        if best is None:
            return None
        share, scheme = best
        return Detection(self.tag, confidence(share, hinted), sampled(column, share, scheme.what, hinted))
