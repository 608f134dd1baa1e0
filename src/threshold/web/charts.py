"""A small weekly bar chart, drawn as inline SVG by the template from the geometry computed here.

Kept in Python (not Altair) because a dozen rectangles need no chart library, and the page stays
light and readable without JavaScript.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

WIDTH, HEIGHT, AXIS, TOP = 360, 120, 16, 14


def weekly_bars(weekly: list[dict[str, Any]], *, weeks: int = 12, today: date | None = None) -> dict[str, Any]:
    """Bars for the last `weeks` weeks (missing weeks count 0) from `usage.dataset_usage()['weekly']`."""
    today = today or datetime.now(UTC).date()
    this_monday = today - timedelta(days=today.weekday())
    by_week = {w["week"]: w for w in weekly}
    mondays = [this_monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    counts = [int(by_week.get(m.isoformat(), {}).get("queries", 0)) for m in mondays]
    users = [int(by_week.get(m.isoformat(), {}).get("users", 0)) for m in mondays]
    top = max(counts) if any(counts) else 1
    slot = WIDTH / weeks
    plot = HEIGHT - AXIS
    room = plot - TOP  # headroom above the tallest bar for its count
    bars = []
    for i, (monday, n, u) in enumerate(zip(mondays, counts, users, strict=True)):
        h = round(room * n / top, 1) if n else 0.0
        bars.append(
            {
                "x": round(i * slot + slot * 0.15, 1),
                "y": round(plot - h, 1),
                "width": round(slot * 0.7, 1),
                "height": h,
                "label": monday.strftime("%d %b"),
                "label_x": round(i * slot + slot / 2, 1),
                "title": f"week of {monday.isoformat()}: {n} quer{'y' if n == 1 else 'ies'}, "
                f"{u} {'person' if u == 1 else 'people'}",
                "queries": n,
            }
        )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "plot_height": plot,
        "bars": bars,
        "max": top,
        "total": sum(counts),
    }
