"""What the jobs service answers with: typed results, one per shape, each with its JSON form (`to_json`), the
keys in the order the REST API, the `/jobs.json` page twin and `threshold jobs --format json` send them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class JobRow:
    """One scheduled job: its schedule, next run, live claim and last outcome."""

    kind: str
    key: str
    label: str
    schedule: str | None
    next_run_at: str | None
    running_on: str | None
    """The worker holding a live claim on it (None: not running)."""
    attempts: int
    """Failed attempts in a row."""
    last_run_at: str | None
    last_status: str | None
    last_error: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RunRow:
    """One run of one job (the run history)."""

    id: int
    kind: str
    key: str
    label: str
    trigger: str
    attempt: int
    status: str
    started_at: str | None
    finished_at: str | None
    worker: str | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class KindRow:
    """A declared job kind and its retry policy."""

    name: str
    title: str
    retries: int
    backoff_seconds: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OutcomeRow:
    """How a run that was just asked for went (`threshold jobs run`, the API's "run now")."""

    kind: str
    key: str
    label: str
    trigger: str
    status: str
    attempt: int
    error: str | None
    next_run_at: str | None
    summary: dict[str, Any]
    """The run's result in scalars (status, snapshot id, rows …)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class JobsOverview:
    """The jobs page: every job, every declared kind, the newest runs, and whether the scheduler is on."""

    scheduler: bool
    interval_seconds: float
    kinds: list[KindRow]
    jobs: list[JobRow]
    history: list[RunRow]

    def to_json(self) -> dict[str, Any]:
        return {
            "scheduler": self.scheduler,
            "interval_seconds": self.interval_seconds,
            "kinds": [k.to_json() for k in self.kinds],
            "jobs": [j.to_json() for j in self.jobs],
            "history": [r.to_json() for r in self.history],
        }
