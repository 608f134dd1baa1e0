"""What a dataset's checks answer with: typed results, each with its JSON form (`to_json`), the keys in the
order the REST API (`/api/v1/datasets/{name}/checks`, `/api/v1/checks/{id}`), the quality tab's `.json` twin
and `threshold check … --format json` / `threshold checks --format json` send. (Scores have theirs in
`results`, incidents in `incident_results`.)"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from threshold.quality.results import ViewerSample


@dataclass(frozen=True)
class RunEntry:
    """One run of one of a dataset's checks as its quality tab lists it: when, how it ended, who started it,
    the snapshot it judged, and the failing-row sample as the viewer may see it."""

    id: int
    check: int
    name: str
    at: str | None
    status: str
    trigger: str
    by: str | None
    snapshot_id: int | None
    blocking: bool
    rejected: bool
    failing: int | None
    checked: int | None
    metric: float | None
    message: str
    detail: dict[str, Any]
    duration_ms: float
    sample: ViewerSample

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CheckRecord:
    """A check: its rule (kind and normalised options), whether it blocks a share, its schedule and next run,
    where it came from (manual or a contract), and its newest result (`last`: a run, in the dataset's
    listing only)."""

    id: int
    name: str
    kind: str
    options: dict[str, Any]
    blocking: bool
    schedule: str | None
    next_run_at: str | None
    source: str
    contract_ref: str | None
    active: bool
    created_at: str | None
    last_status: str | None
    last_run_at: str | None
    last: RunEntry | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CheckRunRow:
    """One run in a check's history: when, how it ended, the snapshot it judged, whether it rejected a share,
    and the failing-row sample as the viewer may see it."""

    id: int
    at: str | None
    status: str
    trigger: str
    snapshot_id: int | None
    rejected: bool
    failing: int | None
    checked: int | None
    metric: float | None
    message: str
    sample: ViewerSample


@dataclass(frozen=True)
class CheckHistory(CheckRecord):
    """A check (its `last` is None here) with its runs, newest first, and its dataset (sent last)."""

    runs: list[CheckRunRow]
    dataset: str


@dataclass(frozen=True)
class DatasetChecks:
    """A dataset's quality tab: whether the viewer may manage its checks, its score (and the score's detail
    as `quality.score.dataset_scores` computes it), its active checks with their newest run, its recent
    runs."""

    dataset: str
    can_manage: bool
    score: float | None
    score_detail: dict[str, Any]
    """{score, checks: [{check, name, runs, passed, weight}], runs, errors, exact once a check ran}."""
    checks: list[CheckRecord]
    history: list[RunEntry]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CheckResult:
    """How one check ended in a run started now (or by its schedule): pass, fail or error, the failing and
    checked rows, the measured value, the message, and the recorded run's id."""

    dataset: str
    check: int
    name: str
    kind: str
    blocking: bool
    status: str
    failing: int | None
    checked: int | None
    metric: float | None
    message: str
    run: int | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ChecksNotRun:
    """A dataset whose due checks could not run at all (the reason in `message`); a row among `CheckResult`s,
    so the table's other columns read empty."""

    dataset: str
    message: str
    status: str = "error"
    check: ClassVar[None] = None
    name: ClassVar[None] = None
    failing: ClassVar[None] = None

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "status": self.status, "message": self.message}


@dataclass(frozen=True)
class CheckRemoved:
    """A check stopped: it runs no more, its history stays."""

    id: int
    dataset: str
    name: str
    removed: bool = True

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
