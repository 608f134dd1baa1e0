"""The demo's insights and boards, saved the way its people would: mostly by clicking (explore specs), a
few in SQL; Anna's weekly plant review and Ben's energy cost forecast as boards with the plant as their
shared choice. Colleagues open them (which is use of the data, counted per viewer), comment and fork.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from threshold.identity.service import get_person
from threshold.insights import boards, service
from threshold.insights.exploration import picker_columns
from threshold.platform import Platform
from threshold.store.models import UsageEvent

KPIS = "manufacturing.plant_kpis"


def _plant(default: str, plants: list[str]) -> list[dict[str, Any]]:
    return [{"name": "plant", "type": "text", "label": "Plant", "default": default, "choices": plants}]


def _spec(dataset: str, **parts: Any) -> dict[str, Any]:
    return {"dataset": dataset, "limit": parts.pop("limit", 1000)} | parts


PLANT_FILTER = {"column": "plant", "op": "eq", "param": "plant"}
STAND_IN = {"tomasz": "anna", "lea": "anna", "julia": "carla", "carlos": "ingrid"}
"""Who saves an insight when its author is not in a small build (story people are always there)."""


def _insights(plants: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """(who saves it, what they save), in the order they were saved."""
    first = plants[0]
    plant = _plant(first, plants)
    return [
        ("anna", {"title": "Scrap rate by line", "purpose": "plant performance reporting", "parameters": plant,
                  "explore": _spec(KPIS, group_by=["line"], aggregates=[{"fn": "avg", "column": "scrap_rate"}],
                                   filters=[PLANT_FILTER], sort=[{"by": "avg_scrap_rate", "desc": True}]),
                  "narrative": "Which line of the plant wastes most. **Gernsheim L2** has scrap spikes: "
                               "look at its maintenance log before the weekly review."}),
        ("anna", {"title": "Output per week", "purpose": "plant performance reporting", "parameters": plant,
                  "explore": _spec(KPIS, group_by=["day"], grain={"day": "week"}, filters=[PLANT_FILTER],
                                   aggregates=[{"fn": "sum", "column": "output_units"}],
                                   sort=[{"by": "day_week"}]),
                  "narrative": "Units produced per week. A dip usually means a line was down."}),
        ("anna", {"title": "Energy per unit by plant", "purpose": "plant performance reporting",
                  "sql": "SELECT plant, round(sum(energy_kwh) / sum(output_units), 3) AS kwh_per_unit\n"
                         f"FROM {KPIS}\nGROUP BY plant\nORDER BY kwh_per_unit DESC",
                  "narrative": "Lyon's energy per unit has crept up for months: the first question of every "
                               "review."}),
        ("tomasz", {"title": "Downtime by cause", "purpose": "maintenance planning", "parameters": plant,
                    "explore": _spec("manufacturing.maintenance_log", group_by=["cause"], filters=[PLANT_FILTER],
                                     aggregates=[{"fn": "sum", "column": "downtime_hours"},
                                                 {"fn": "count"}],
                                     sort=[{"by": "sum_downtime_hours", "desc": True}]),
                    "narrative": "Hours lost per cause of failure."}),
        ("lea", {"title": "Inspection results by plant", "purpose": "quality reporting",
                 "explore": _spec("manufacturing.quality_inspections", group_by=["plant", "result"],
                                  aggregates=[{"fn": "count"}]),
                 "narrative": "Passed and failed batches per plant."}),
        ("ben", {"title": "Energy cost per month", "purpose": "energy cost forecast", "parameters": plant,
                 "explore": _spec("finance.energy_costs", group_by=["month"], grain={"month": "month"},
                                  filters=[PLANT_FILTER], aggregates=[{"fn": "sum", "column": "cost_eur"}],
                                  sort=[{"by": "month_month"}]),
                 "narrative": "What the plant's energy cost, month by month: the forecast starts here."}),
        ("ben", {"title": "Energy price by supplier", "purpose": "energy cost forecast",
                 "explore": _spec("finance.energy_costs", group_by=["energy_supplier"],
                                  aggregates=[{"fn": "avg", "column": "price_eur_per_kwh"}],
                                  sort=[{"by": "avg_price_eur_per_kwh", "desc": True}]),
                 "narrative": "Average price per kWh each supplier charged."}),
        ("ben", {"title": "Energy used and its cost", "purpose": "energy cost forecast", "parameters": plant,
                 "explore": _spec(KPIS, columns=["energy_kwh", "energy_cost_eur"], filters=[PLANT_FILTER],
                                  limit=2000),
                 "narrative": "Each day's kWh against its cost: the slope is the price the forecast uses."}),
        ("ben", {"title": "Invoices by cost center and status", "purpose": "month-end close",
                 "explore": _spec("finance.invoices", group_by=["cost_center", "status"],
                                  aggregates=[{"fn": "sum", "column": "gross_amount"}])}),
        ("julia", {"title": "Revenue by region per month", "purpose": "sales reporting",
                   "explore": _spec("sales.orders", group_by=["order_date", "region"],
                                    grain={"order_date": "month"}, aggregates=[{"fn": "sum", "column": "total_eur"}],
                                    sort=[{"by": "order_date_month"}])}),
        ("carlos", {"title": "Delivery delay by transport mode", "purpose": "delivery performance",
                    "explore": _spec("supply_chain.shipments", group_by=["mode"],
                                     aggregates=[{"fn": "avg", "column": "delay_days"}, {"fn": "count"}],
                                     sort=[{"by": "avg_delay_days", "desc": True}]),
                    "narrative": "Days late on average per mode; sea freight drives the promise dates."}),
        ("carlos", {"title": "Stock on hand per plant", "purpose": "inventory planning",
                    "explore": _spec("supply_chain.inventory_levels", group_by=["week", "plant"],
                                     grain={"week": "week"}, aggregates=[{"fn": "sum", "column": "on_hand_units"}],
                                     sort=[{"by": "week_week"}])}),
    ]  # fmt: skip


def build_insights(platform: Platform, log: Callable[[str], None] = print) -> list[int]:
    """Save the demo's insights and boards (people missing from a small build are skipped); their ids."""
    with platform.store.reader() as s:
        before = s.scalar(select(func.max(UsageEvent.id))) or 0
    anna = get_person(platform, "anna")
    plants = sorted(next(c.values for c in picker_columns(platform, anna, KPIS) if c.name == "plant"))
    saved: dict[str, int] = {}
    for who, fields in _insights(plants):
        person = _person(platform, who) or _person(platform, STAND_IN.get(who, who))
        if person is not None:
            saved[fields["title"]] = service.save(platform, person, **fields).id
    shared = {"name": "plant", "type": "text", "label": "Plant", "default": plants[0], "choices": plants}
    review = ["Scrap rate by line", "Output per week", "Energy per unit by plant", "Downtime by cause",
              "Inspection results by plant"]  # fmt: skip
    boards.create(platform, anna, title="Weekly plant review", domain="manufacturing", topic="plant review",
                  description="Anna's Monday review of one plant: scrap, output, energy, downtime and quality.",
                  parameter=shared, insights=[saved[t] for t in review if t in saved])  # fmt: skip
    ben = get_person(platform, "ben")
    forecast = ["Energy cost per month", "Energy price by supplier", "Energy used and its cost",
                "Energy per unit by plant"]  # fmt: skip
    boards.create(platform, ben, title="Energy cost forecast", domain="finance", topic="energy",
                  description="Ben's weekly forecast of energy costs per plant.", parameter=shared,
                  insights=[saved[t] for t in forecast if t in saved])  # fmt: skip
    for viewer in ("ben", "markus", "pierre", "claudia", "julia"):  # colleagues open the plant review
        person = _person(platform, viewer)
        for title in review[:3]:
            if person is not None and title in saved:
                service.page(platform, person, saved[title])
    service.comment(platform, ben, saved["Energy per unit by plant"], "Lyon again: I will use this in the forecast.")
    service.fork(platform, ben, saved["Energy per unit by plant"], title="Energy per unit for the forecast")
    _on_a_working_morning(platform, before)
    log(f"{len(saved)} insights and 2 boards saved (Anna's weekly plant review, Ben's energy cost forecast)")
    return list(saved.values())


def _on_a_working_morning(platform: Platform, after_id: int) -> None:
    """The reads of the views above happened on the last working morning, like the rest of the demo's use."""
    day = datetime.now(UTC) - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    at = day.replace(hour=9, minute=30, second=0, microsecond=0)
    with platform.store.session() as s:
        ids = list(s.scalars(select(UsageEvent.id).where(UsageEvent.id > after_id).order_by(UsageEvent.id)))
        for k, event_id in enumerate(ids):
            s.execute(update(UsageEvent).where(UsageEvent.id == event_id).values(at=at + timedelta(minutes=k)))


def _person(platform: Platform, name: str) -> Any:
    from threshold.errors import NotFound

    try:
        return get_person(platform, name)
    except NotFound:
        return None
