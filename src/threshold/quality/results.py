"""What the quality scores answer with: typed results, each with its JSON form (`to_json`), the keys in the
order the REST API (`/api/v1/datasets/{name}/quality`, `/api/v1/domains/{name}/quality`), the incident pages'
`.json` twins and `threshold quality --format json` send. (Incidents have theirs in `incident_results`.)"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class CheckScore:
    """One check's share of a dataset's score: its runs in the window, how many passed, its weight."""

    check: int
    name: str
    runs: int
    passed: int
    weight: float


@dataclass(frozen=True)
class DatasetQuality:
    """A dataset's quality score (None: no run in the window) with the checks behind it. `exact` is the
    unrounded score, in the JSON only once a check ran in the window."""

    score: float | None
    checks: list[CheckScore]
    runs: int
    errors: int
    exact: float | None
    window_days: int
    scored: bool
    """Whether a run counted (the JSON then carries `exact`)."""

    def to_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"score": self.score, "checks": [asdict(c) for c in self.checks]}
        shown |= {"runs": self.runs, "errors": self.errors}
        if self.scored:
            shown["exact"] = self.exact
        return shown | {"window_days": self.window_days}


@dataclass(frozen=True)
class DatasetScoreRow:
    """One of a domain's datasets with its score and its checks."""

    name: str
    score: float | None
    checks: int
    runs: int
    failing_checks: int


@dataclass(frozen=True)
class ResponseTime:
    """Hours from opening an incident to acknowledging (fixing) it: median and p90 of those done, and how
    many wait, the oldest for how long."""

    count: int
    median_hours: float | None
    p90_hours: float | None
    waiting: int
    oldest_waiting_hours: float | None


@dataclass(frozen=True)
class DomainQuality:
    """A domain's quality: the mean of its datasets' scores, each dataset's, and how it answers incidents."""

    domain: str
    score: float | None
    window_days: int
    datasets: list[DatasetScoreRow]
    incidents: dict[str, int]
    """Incidents opened in the window by status: open, acknowledged, fixed, verified."""
    time_to_acknowledge: ResponseTime
    time_to_fix: ResponseTime
    incident_window_days: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ViewerSample:
    """A failing-row sample as one viewer may see it: the dataset's columns now, the rows through the viewer's
    masks and row filters, which columns were masked and why, why nothing is shown (None: shown), and how many
    rows the viewer's row filters dropped."""

    columns: list[dict[str, str]]
    rows: list[list[str | None]]
    masked: dict[str, str]
    hidden: str | None
    filtered: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
