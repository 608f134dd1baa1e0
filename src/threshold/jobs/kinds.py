"""Job kinds: what a capability declares so that the scheduler can run its jobs.

Declaring a kind is one small statement in the capability's `registration.register()`:

    declare(JobKind("derivation.refresh", "Refresh a derived dataset", run=refresh_jobs, retries=2))

`run(platform, keys)` runs the claimed jobs of the kind (their keys, in the order they fell due) and
returns {key: result}: a result that is an `Exception` is a failed run (retried with backoff), any
other value is the run's summary, and a key left out was skipped (nothing to do yet).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threshold.platform import Platform

RunJobs = Callable[["Platform", Sequence[str]], dict[str, Any]]


@dataclass(frozen=True)
class Later:
    """`module.function`, imported at its first call: a registration declares what runs a job kind (or sends on
    an outbox channel) without importing that code. Every platform runs every registration, and a share, a query
    or a page would otherwise import each capability's jobs (sqlglot, markdown, the ODCS model: ~0.5 s of CPU)
    that it never runs."""

    module: str
    function: str

    def __call__(self, *args: Any) -> Any:
        return getattr(importlib.import_module(self.module), self.function)(*args)


@dataclass(frozen=True)
class JobKind:
    name: str
    title: str
    run: RunJobs
    retries: int = 2
    """Failed runs retried before the job waits for its next scheduled time."""
    backoff_seconds: float = 60.0
    """The first retry waits this long; each further one twice as long as the one before."""
    lease_seconds: float = 900.0
    """A claim older than this is taken over by another worker (the first one died)."""


_KINDS: dict[str, JobKind] = {}


def declare(kind: JobKind) -> JobKind:
    """Make `kind` known to the scheduler (idempotent for the same kind)."""
    known = _KINDS.get(kind.name)
    if known is not None and known != kind:
        raise ValueError(f"job kind {kind.name!r} is declared twice")
    _KINDS[kind.name] = kind
    return kind


def kinds() -> dict[str, JobKind]:
    from threshold.capabilities import load

    load()
    return dict(_KINDS)
