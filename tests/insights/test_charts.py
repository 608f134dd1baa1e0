"""Chart drawing: the same rows under the same spec are drawn once per process, anything else is drawn anew."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from threshold.insights import charts


@pytest.fixture
def drawings(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The Vega-Lite documents vl-convert is asked to draw while the test runs (on an empty memo)."""
    import vl_convert as vlc

    drawn: list[dict[str, Any]] = []
    real = vlc.vegalite_to_svg

    def counting(spec: dict[str, Any], *args: Any, **kwargs: Any) -> str:
        drawn.append(spec)
        return real(spec, *args, **kwargs)

    monkeypatch.setattr(vlc, "vegalite_to_svg", counting)
    monkeypatch.setattr(charts, "_drawn", type(charts._drawn)())
    return drawn


def _chart(table: pa.Table, title: str = "Output by line") -> charts.ChartSpec:
    return charts.resolve(table, charts.ChartSpec(kind="bar", x="line", y="output", title=title))


def test_the_same_rows_and_spec_are_drawn_once(drawings: list[dict[str, Any]]) -> None:
    rows = pa.table({"line": ["L1", "L2", "L3"], "output": [120.0, 95.5, 143.0]})
    first = charts.svg(rows, _chart(rows))
    again = charts.svg(pa.table({"line": ["L1", "L2", "L3"], "output": [120.0, 95.5, 143.0]}), _chart(rows))
    assert again == first and 'role="img"' in first
    assert len(drawings) == 1


def test_other_rows_or_another_title_are_drawn_anew(drawings: list[dict[str, Any]]) -> None:
    rows = pa.table({"line": ["L1", "L2", "L3"], "output": [120.0, 95.5, 143.0]})
    changed = pa.table({"line": ["L1", "L2", "L3"], "output": [120.0, 95.5, 144.0]})
    first = charts.svg(rows, _chart(rows))
    other = charts.svg(changed, _chart(changed))
    titled = charts.svg(rows, _chart(rows, "Output per line this week"))
    assert len(drawings) == 3
    assert other != first and "Output per line this week" in titled and "Output per line this week" not in first
