"""Dates of birth: dates whose years are plausible birth years, in a column whose label says "birth".

Without such a label dates are dates: an order date or a hire date is not a birth date. Only a
column with no other purpose in its label, whose dates all lie in plausible birth years spread over
decades, is tagged without one, and with a lower confidence.
"""

from __future__ import annotations

import datetime as dt
import re

from threshold.sharing.detectors.column import Column, Detection, fold
from threshold.sharing.detectors.evidence import confidence, describes_things, hints, sampled, share_of_values

_HINTS = hints(
    "dob yob born birth birthday birthdate geb geboren fodd".split(),
    "birth geburt naissance nacimiento nascita nascimento geboorte fodelse cumplean".split(),
)
# Label words that give dates another purpose: "order_date", "created_at", "Eintrittsdatum".
_OTHER_PURPOSE = frozenset(
    """
    created updated modified changed deleted start started end ended from to until since due ship shipped
    posted published expiry expires expiration valid hire hired join joined death died registered signup login
    last opened closed report recorded measured loaded effective maturity settlement arrival departure visit
    admission discharge purchase sale sold founded established built launch issued issue received sent paid
    approved submitted deadline entry exit eintritt austritt beginn ende erstellt geandert bis von seit at on
    timestamp time ts
    """.split()
)
# Fragments of labels that name a date without saying what happened on it.
_DATE_WORDS = tuple("date datum dato fecha data time zeit tijd day jour year jahr month".split())
_MONTH_NAMES = {
    1: "january januar janvier januari enero jan janv jaen jaenner",
    2: "february februar fevrier februari febrero feb fev fevr",
    3: "march marz maerz mars maart marzo mar",
    4: "april avril abril apr avr abr",
    5: "may mai mei maj mayo",
    6: "june juni juin junio jun",
    7: "july juli juillet julio jul juil",
    8: "august aout augustus augusti agosto aug ago",
    9: "september septembre septiembre setiembre sep sept",
    10: "october oktober octobre octubre oct okt",
    11: "november novembre noviembre nov",
    12: "december dezember decembre diciembre dec dez dic",
}
MONTHS = {word: month for month, words in _MONTH_NAMES.items() for word in words.split()}

_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ]00:00(?::00(?:\.0+)?)?(?:Z|[+-]00:?00)?)?")
_DAY_FIRST = re.compile(r"(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})")
_COMPACT = re.compile(r"((?:19|20)\d{2})(\d{2})(\d{2})")
_WORDY = re.compile(r"(\d{1,2})\.?\s*([^\W\d_]+)\.?,?\s*(\d{4})")
_WORDY_US = re.compile(r"([^\W\d_]+)\.?\s*(\d{1,2}),?\s*(\d{4})")


def _make(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def as_date(value: object, short_years: bool = False) -> dt.date | None:
    """The calendar date a value stands for, or None: a date, a datetime at midnight, or a date string.

    Strings: ISO (1985-03-12), day first (12.03.1985, 12/03/1985; month first when the day cannot
    be a month), compact (19850312) and with month names (12 March 1985, 12. März 1985, March 12, 1985).
    Two-digit years (12.03.85) only with `short_years`, read as the latest year at least ten years ago:
    without a label that says "birth", "12.03.23" is far more likely 2023 than 1923.
    """
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time(0) else None
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) < 8 or len(text) > 32:
        return None
    if m := _ISO.fullmatch(text):
        return _make(int(m[1]), int(m[2]), int(m[3]))
    if m := _DAY_FIRST.fullmatch(text):
        first, second, year = int(m[1]), int(m[3]), int(m[4])
        if len(m[4]) == 2:
            if not short_years:
                return None
            latest = dt.date.today().year - 10
            year = latest - (latest - year) % 100
        return _make(year, second, first) or _make(year, first, second)
    if m := _COMPACT.fullmatch(text):
        return _make(int(m[1]), int(m[2]), int(m[3]))
    if m := _WORDY.fullmatch(text):
        month = MONTHS.get(fold(m[2]))
        return _make(int(m[3]), month, int(m[1])) if month else None
    if m := _WORDY_US.fullmatch(text):
        month = MONTHS.get(fold(m[1]))
        return _make(int(m[3]), month, int(m[2])) if month else None
    return None


def _birth_years() -> range:
    # People in shared data are born after 1900 and are at least ten years old.
    return range(1900, dt.date.today().year - 9)


def plausible_birth_date(value: object, short_years: bool = False) -> bool:
    day = as_date(value, short_years)
    return day is not None and day.year in _birth_years() and day <= dt.date.today()


def _labelled_birth_date(value: object) -> bool:
    return plausible_birth_date(value, short_years=True)


def _birth_year(value: object) -> bool:
    if isinstance(value, str) and len(value.strip()) == 4 and value.strip().isdigit():
        value = int(value)
    return isinstance(value, int) and not isinstance(value, bool) and value in _birth_years()


class BirthdateDetector:
    tag = "personal.birthdate"

    def detect(self, column: Column) -> Detection | None:
        if _HINTS.match(column) or _accented_ne(column.name):
            share = share_of_values(column, _labelled_birth_date, 0.6)
            if share >= 0.6:
                return Detection(self.tag, confidence(share, True), sampled(column, share, "birth dates", True))
            share = share_of_values(column, _birth_year, 0.8)
            if share >= 0.8:
                return Detection(self.tag, 0.7, sampled(column, share, "birth years", True))
            return None
        if describes_things(column) or any(w in _OTHER_PURPOSE for w in column.words):
            return None
        if any(f in column.compact for f in _DATE_WORDS):
            return None  # "date", "Datum", "day": a date column that does not say whose birth it is
        share = share_of_values(column, plausible_birth_date, 0.9)
        if share < 0.9 or not self._spread_over_decades(column):
            return None
        reason = f"{sampled(column, share, 'dates with plausible birth years', False)}, spread over decades"
        return Detection(self.tag, round(0.35 + 0.3 * share, 2), reason)

    @staticmethod
    def _spread_over_decades(column: Column) -> bool:
        years = {day.year for v in column.sample if (day := as_date(v)) is not None}
        return len(years) >= 10 and max(years) - min(years) >= 30


_NE = re.compile(r"(?<![^\W\d_])née?(?![^\W\d_])", re.IGNORECASE)


def _accented_ne(label: str) -> bool:
    """French "né le" / "née" (born); without the accent "ne" is too common a word to count."""
    return _NE.search(label) is not None
