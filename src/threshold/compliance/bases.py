"""The vocabulary of the collection register: GDPR legal bases, special-category conditions, retention periods.

Art. 6(1) lists six lawful bases for processing personal data; Art. 9(2) lists the conditions under which
special categories (health, religion, biometrics ...) may be processed at all. A retention period is written
as a number and a unit (`90d`, `6w`, `18m`, `2y`) and kept in days (a month counts 30 days, a year 365).
"""

from __future__ import annotations

import re
from enum import StrEnum

from threshold.errors import InvalidInput


class LegalBasis(StrEnum):
    """GDPR Art. 6(1) (a)-(f)."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTERESTS = "legitimate_interests"

    @property
    def label(self) -> str:
        return LEGAL_BASIS_LABELS[self]


LEGAL_BASIS_LABELS = {
    LegalBasis.CONSENT: "Art. 6(1)(a) consent of the data subject",
    LegalBasis.CONTRACT: "Art. 6(1)(b) performance of a contract",
    LegalBasis.LEGAL_OBLIGATION: "Art. 6(1)(c) legal obligation",
    LegalBasis.VITAL_INTERESTS: "Art. 6(1)(d) vital interests",
    LegalBasis.PUBLIC_TASK: "Art. 6(1)(e) public task",
    LegalBasis.LEGITIMATE_INTERESTS: "Art. 6(1)(f) legitimate interests",
}


class SpecialCondition(StrEnum):
    """GDPR Art. 9(2) (a)-(j): required when a column carries a special-category tag."""

    EXPLICIT_CONSENT = "explicit_consent"
    EMPLOYMENT = "employment"
    VITAL_INTERESTS = "vital_interests"
    NOT_FOR_PROFIT = "not_for_profit"
    MADE_PUBLIC = "made_public"
    LEGAL_CLAIMS = "legal_claims"
    SUBSTANTIAL_PUBLIC_INTEREST = "substantial_public_interest"
    HEALTH_CARE = "health_care"
    PUBLIC_HEALTH = "public_health"
    ARCHIVING_RESEARCH = "archiving_research"

    @property
    def label(self) -> str:
        return SPECIAL_CONDITION_LABELS[self]


SPECIAL_CONDITION_LABELS = {
    SpecialCondition.EXPLICIT_CONSENT: "Art. 9(2)(a) explicit consent",
    SpecialCondition.EMPLOYMENT: "Art. 9(2)(b) employment and social security law",
    SpecialCondition.VITAL_INTERESTS: "Art. 9(2)(c) vital interests",
    SpecialCondition.NOT_FOR_PROFIT: "Art. 9(2)(d) not-for-profit body",
    SpecialCondition.MADE_PUBLIC: "Art. 9(2)(e) made public by the data subject",
    SpecialCondition.LEGAL_CLAIMS: "Art. 9(2)(f) legal claims",
    SpecialCondition.SUBSTANTIAL_PUBLIC_INTEREST: "Art. 9(2)(g) substantial public interest",
    SpecialCondition.HEALTH_CARE: "Art. 9(2)(h) health or social care",
    SpecialCondition.PUBLIC_HEALTH: "Art. 9(2)(i) public health",
    SpecialCondition.ARCHIVING_RESEARCH: "Art. 9(2)(j) archiving, research or statistics",
}

SPECIAL_TAGS = (
    "special",
    "personal.health",
    "personal.religion",
    "personal.ethnicity",
    "personal.political",
    "personal.biometric",
    "personal.genetic",
    "personal.sexual_orientation",
    "personal.trade_union",
)
"""Tags (and their children, `special.health`) that mark a special category of personal data (Art. 9(1))."""

PERSONAL_TAGS = ("personal", *SPECIAL_TAGS)
"""Tags (and their children) that make a column personal data."""


def _under(tag: str, roots: tuple[str, ...]) -> bool:
    return any(tag == r or tag.startswith(r + ".") for r in roots)


def is_personal(tag: str) -> bool:
    return _under(tag, PERSONAL_TAGS)


def is_special(tag: str) -> bool:
    return _under(tag, SPECIAL_TAGS)


def _choice(enum: type[StrEnum], text: str, what: str) -> StrEnum:
    key = "_".join(str(text).strip().lower().replace("-", " ").split())
    try:
        return enum(key)
    except ValueError:
        raise InvalidInput(
            f"unknown {what} {str(text)[:40]!r}; use one of {', '.join(e.value for e in enum)}"
        ) from None


def legal_basis(text: str) -> LegalBasis:
    """`consent`, `legitimate-interests` ... -> the basis; anything else is refused with the list."""
    return LegalBasis(_choice(LegalBasis, text, "legal basis"))


def special_condition(text: str) -> SpecialCondition:
    return SpecialCondition(_choice(SpecialCondition, text, "Art. 9(2) condition"))


_PERIOD = re.compile(r"^\s*(\d{1,5})\s*([dwmy])\s*$", re.IGNORECASE)
_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}


def retention_days(text: str) -> int:
    """`90d`, `6w`, `18m`, `2y` -> days (at least one)."""
    m = _PERIOD.match(str(text))
    if not m or int(m.group(1)) == 0:
        raise InvalidInput(f"retention {str(text)[:20]!r} is not a period like 90d, 6w, 18m or 2y")
    return int(m.group(1)) * _DAYS[m.group(2).lower()]
