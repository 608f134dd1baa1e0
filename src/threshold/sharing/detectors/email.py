"""E-mail addresses: `local@domain.tld`, also as "Name <address>" or with a "mailto:" prefix."""

from __future__ import annotations

import re

from threshold.sharing.detectors.column import Column, Detection
from threshold.sharing.detectors.evidence import confidence, hints, sampled, share_of

_ADDRESS = re.compile(r"(?:mailto:)?(?:[^<>@]*<)?[\w.%+'&=-]+@(?:[\w-]+\.)+[^\W\d_]{2,24}>?")
_HINTS = hints(["courriel", "correo", "epost", "mejl"], ["mail"])


def is_email(text: str) -> bool:
    return "@" in text and _ADDRESS.fullmatch(text) is not None


class EmailDetector:
    tag = "personal.email"

    def detect(self, column: Column) -> Detection | None:
        hinted = _HINTS.match(column)
        bar = 0.3 if hinted else 0.6
        share = share_of(column, is_email, bar)
        if share < bar:
            return None
        return Detection(self.tag, confidence(share, hinted), sampled(column, share, "e-mail addresses", hinted))
