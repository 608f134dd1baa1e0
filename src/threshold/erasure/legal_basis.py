"""Where the collection register tells a subject access report the legal basis of each dataset.

The register (`threshold.compliance`) records a dataset's purpose and legal basis when it is shared; this
package must not import it (capabilities do not depend on each other sideways), so the register registers
one lookup here at start-up (`threshold.compliance.registration`):

    from threshold.erasure.legal_basis import register_lookup
    def basis(session, dataset_id):
        record = record_of(session, dataset_id)
        return record.legal_basis if record else None

    register_lookup(basis)

With no lookup registered the report says "not recorded" and gives the share's purpose only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy.orm import Session

Lookup = Callable[[Session, int], str | None]
"""(metadata session, dataset id) -> the legal basis recorded for the dataset, or None."""

_lookups: list[Lookup] = []
_lock = threading.Lock()


def register_lookup(lookup: Lookup) -> None:
    """Add a legal-basis lookup (idempotent for the same function)."""
    with _lock:
        if lookup not in _lookups:
            _lookups.append(lookup)


def unregister_lookup(lookup: Lookup) -> None:
    with _lock:
        if lookup in _lookups:
            _lookups.remove(lookup)


def legal_basis(session: Session, dataset_id: int) -> str | None:
    """The first answer of the registered lookups (None: none registered, or none knows)."""
    for lookup in list(_lookups):
        found = lookup(session, dataset_id)
        if found:
            return found
    return None
