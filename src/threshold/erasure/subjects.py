"""A data subject as asked for: `COLUMN_TAG=VALUE`, and its keyed hash (what a certificate keeps)."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from threshold.errors import InvalidInput
from threshold.settings import Settings

_TAG = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
MAX_SUBJECTS = 20
MAX_VALUE = 500


@dataclass(frozen=True)
class Subject:
    tag: str
    """The column tag whose columns may hold the value, e.g. `personal.email`."""
    value: str

    def keyed(self, settings: Settings) -> str:
        """HMAC-SHA256 of `tag=value` under the home's erasure key, hex: the only form a certificate keeps."""
        message = f"{self.tag}={self.value}".encode()
        return hmac.new(settings.erasure_key(), message, hashlib.sha256).hexdigest()


def parse(texts: list[str]) -> list[Subject]:
    """`TAG=VALUE` each (the value may contain `=`); at least one, at most MAX_SUBJECTS."""
    if not texts:
        raise InvalidInput("name the subject: --subject TAG=VALUE, e.g. --subject personal.email=ada@example.org")
    if len(texts) > MAX_SUBJECTS:
        raise InvalidInput(f"at most {MAX_SUBJECTS} subjects per erasure (got {len(texts)})")
    out: list[Subject] = []
    for text in texts:
        tag, sep, value = text.partition("=")
        tag = tag.strip().lower()
        if not sep or not _TAG.match(tag) or len(tag) > 100:
            raise InvalidInput(f"a subject is TAG=VALUE, e.g. personal.email=ada@example.org (got {text[:40]!r})")
        if not value.strip() or len(value) > MAX_VALUE:
            raise InvalidInput(f"the value of {tag} must be 1 to {MAX_VALUE} characters")
        subject = Subject(tag, value.strip())
        if subject not in out:
            out.append(subject)
    return out
