"""Sensitive-data detectors: one module per kind of data, one registration line each.

A detector looks at one column (its label, a sample of values, the engine type) and either names
what the column holds or returns None. Adding a kind of data means adding a module with a class
that has a `tag` and a `detect` method, and one `register(...)` line below. Detectors share how
they weigh evidence (`evidence.py`) and the check-digit algorithms (`checksums.py`).
"""

from __future__ import annotations

from typing import Protocol

from threshold.sharing.detectors.column import Column, Detection


class Detector(Protocol):
    tag: str
    """The tag this detector gives, e.g. "personal.email"."""

    def detect(self, column: Column) -> Detection | None:
        """A detection with this detector's tag, or None when the column does not hold such data."""
        ...


DETECTORS: list[Detector] = []
"""Every registered detector, in the order they run. Filled by `_register_builtin` below."""


def register(detector: Detector) -> None:
    DETECTORS.append(detector)


def _register_builtin() -> None:
    # Imported here so each detector stays in its own module; adding one = one module + one line.
    from threshold.sharing.detectors import birthdate, card, email, iban, national_id, person_name, phone

    register(email.EmailDetector())
    register(phone.PhoneDetector())
    register(iban.IbanDetector())
    register(card.CardDetector())
    register(person_name.PersonNameDetector())
    register(birthdate.BirthdateDetector())
    register(national_id.NationalIdDetector())


_register_builtin()
