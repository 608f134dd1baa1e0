"""The products read their weeks, windows and ages from the platform's clock: a history built on a Sunday at
23:59 UTC and read after Monday 00:00 UTC (a test run that crosses midnight) gives that Sunday's answers."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from threshold.products.candidates import list_candidates
from threshold.products.consumption import dataset_consumers
from threshold.products.owners import suggest
from threshold.products.patterns import org_patterns
from threshold.products.producers import domain_view
from threshold.products.rollup import monday
from threshold.usage.service import dataset_usage, recent_consumers

from .usage_history import KPIS, SENSORS, History, build_history

SUNDAY = datetime.combine(monday(datetime.now(UTC)), time.min, UTC) - timedelta(minutes=1)
"""23:59 UTC on the Sunday before this week."""
MONDAY = SUNDAY + timedelta(minutes=2)


def _answers(h: History) -> dict[str, Any]:
    admin, anna = h.people["admin"], h.people["anna"]
    with h.platform.store.session() as s:
        recent = recent_consumers(s, [h.ids[KPIS], h.ids[SENSORS]])
    return {
        "candidates": list_candidates(h.platform, viewer=admin).to_json(),  # first: its scan marks candidates
        "consumers": dataset_consumers(h.platform, KPIS, viewer=admin).to_json(),
        "every week": dataset_consumers(h.platform, KPIS, viewer=admin, weeks=0).to_json(),
        "patterns": org_patterns(h.platform, viewer=admin).to_json(),
        "domain": domain_view(h.platform, "manufacturing", viewer=anna).to_json(),
        "owners": suggest(h.platform, KPIS, viewer=admin).to_json(),
        "usage": dataset_usage(h.platform, KPIS, viewer=admin).to_json(),
        "recent consumers": recent,
    }


def test_a_history_built_on_sunday_night_reads_the_same_after_monday_midnight(org: Any, tmp_path: Path) -> None:
    wall = [SUNDAY]
    org.platform.clock = lambda: wall[0]
    h = build_history(org.platform, tmp_path)
    assert h.built_for == SUNDAY
    on_sunday = _answers(h)
    weekly = on_sunday["every week"]["weekly"]
    assert weekly[-1]["week"] == monday(SUNDAY).isoformat()  # the history's own week is "this week"
    assert [w["people"] for w in weekly[-8:]] == [2, 3, 3, 3, 3, 6, 6, 0]

    wall[0] = MONDAY  # the run goes on past Monday 00:00 UTC
    assert monday(h.platform.clock()) == monday(SUNDAY)
    assert _answers(h) == on_sunday
