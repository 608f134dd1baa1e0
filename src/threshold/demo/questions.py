"""The questions people at the demo company ask of the lake: SQL shapes with literals that change.

Each question is one query shape (so the gateway's fingerprint groups its runs) asked with
different plants, dates, customers ... by everyone in the domains listed as `askers`. Several
join two datasets, several read Manufacturing's plant KPIs from other domains: the patterns the
usage pages are meant to reveal.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from threshold.demo.tables.sales import SEGMENTS
from threshold.demo.world import MATERIALS, World

Params = Callable[[random.Random, World, date], dict[str, Any]]


@dataclass(frozen=True)
class Question:
    key: str
    purpose: str
    askers: tuple[str, ...]
    """Domains whose people ask it."""
    datasets: tuple[str, ...]
    sql: str
    params: Params
    weight: float = 1.0


def _since(days: int) -> Params:
    return lambda rng, world, day: {"since": (day - timedelta(days=days)).isoformat()}


def _plant_since(days: int) -> Params:
    return lambda rng, world, day: {
        "plant": rng.choice(world.plants),
        "since": (day - timedelta(days=days)).isoformat(),
    }


def _country(rng: random.Random, world: World, day: date) -> dict[str, Any]:
    return {"country": rng.choice(world.supplier_countries), "since": (day - timedelta(days=90)).isoformat()}


def _flight_month(rng: random.Random, world: World, day: date) -> dict[str, Any]:
    return {"origin": rng.choice(("EWR", "JFK", "LGA")), "month": rng.randint(1, 12)}


def _customer(rng: random.Random, world: World, day: date) -> dict[str, Any]:
    # Key accounts are looked up far more often than the long tail of customers.
    n = len(world.customers)
    return {"customer": world.customers[min(n - 1, int(rng.paretovariate(1.2)) - 1)]}


def _month_start(rng: random.Random, world: World, day: date) -> dict[str, Any]:
    return {"month_start": day.replace(day=1).isoformat()}


def _outreach(rng: random.Random, world: World, day: date) -> dict[str, Any]:
    return {"country": rng.choice(world.customer_countries), "segment": rng.choice(SEGMENTS)}


def _symbol(rng: random.Random, world: World, day: date) -> dict[str, Any]:
    return {"symbol": rng.choice(("AAPL", "MSFT", "IBM", "GOOG", "AMZN"))}


def _year(rng: random.Random, world: World, day: date) -> dict[str, Any]:
    return {"year": rng.randint(2012, 2015)}


def _material(rng: random.Random, world: World, day: date) -> dict[str, Any]:
    return {"material": rng.choice(MATERIALS)}


def _island(rng: random.Random, world: World, day: date) -> dict[str, Any]:
    return {"island": rng.choice(("Biscoe", "Dream", "Torgersen"))}


_DATASET = re.compile(r"\b(?:manufacturing|supply_chain|sales|finance|hr|r_and_d)\.[a-z_]+\b")


def _q(key: str, purpose: str, askers: str, params: Params, weight: float, sql: str) -> Question:
    """A question; the datasets it reads are the `domain.dataset` names in its SQL."""
    datasets = tuple(dict.fromkeys(_DATASET.findall(sql)))
    return Question(key, purpose, tuple(askers.split()), datasets, " ".join(sql.split()), params, weight)


# fmt: off
QUESTIONS = (
    # Manufacturing looks after its own plants.
    _q("plant_review", "plant performance review", "manufacturing", _plant_since(28), 3.0, """
        SELECT line, round(avg(scrap_rate), 4) AS scrap_rate, sum(output_units) AS output
        FROM manufacturing.plant_kpis WHERE plant = '{plant}' AND day >= DATE '{since}'
        GROUP BY line ORDER BY line"""),
    _q("scrap_trend", "scrap reduction", "manufacturing r_and_d", _since(84), 1.5, """
        SELECT date_trunc('week', day) AS week, plant, round(avg(scrap_rate), 4) AS scrap
        FROM manufacturing.plant_kpis WHERE day >= DATE '{since}' GROUP BY ALL ORDER BY week, plant"""),
    _q("shift_planning", "shift planning", "manufacturing", _plant_since(28), 1.0, """
        SELECT operator_name, count(*) AS shifts, round(avg(scrap_rate), 4) AS scrap
        FROM manufacturing.plant_kpis WHERE plant = '{plant}' AND day >= DATE '{since}'
        GROUP BY operator_name ORDER BY shifts DESC"""),
    _q("machine_health", "production monitoring", "manufacturing", _plant_since(7), 2.5, """
        SELECT machine_id, max(temperature_c) AS max_temp, round(avg(vibration_mm_s), 2) AS vibration,
               count(*) FILTER (WHERE status = 'alarm') AS alarms
        FROM manufacturing.machine_sensors
        WHERE plant = '{plant}' AND ts >= TIMESTAMP '{since} 00:00:00'
        GROUP BY machine_id ORDER BY alarms DESC"""),
    _q("maintenance_planning", "maintenance planning", "manufacturing", _plant_since(90), 1.5, """
        SELECT machine_id, count(*) AS work_orders, sum(downtime_hours) AS downtime
        FROM manufacturing.maintenance_log
        WHERE plant = '{plant}' AND reported_at >= TIMESTAMP '{since} 00:00:00'
        GROUP BY machine_id ORDER BY downtime DESC LIMIT 10"""),
    _q("root_cause", "root cause analysis", "manufacturing", _plant_since(0), 0.8, """
        SELECT l.cause, count(DISTINCT l.work_order) AS work_orders,
               round(avg(s.vibration_mm_s), 2) AS vibration_before
        FROM manufacturing.maintenance_log AS l
        JOIN manufacturing.machine_sensors AS s ON s.machine_id = l.machine_id
         AND s.ts BETWEEN l.reported_at - INTERVAL 2 DAY AND l.reported_at
        WHERE l.plant = '{plant}' GROUP BY l.cause ORDER BY work_orders DESC"""),
    _q("downtime_scrap", "root cause analysis", "manufacturing", _since(28), 0.8, """
        SELECT k.plant, k.day, max(k.scrap_rate) AS scrap_rate, sum(m.downtime_hours) AS downtime
        FROM manufacturing.plant_kpis AS k
        JOIN manufacturing.maintenance_log AS m ON m.plant = k.plant AND CAST(m.reported_at AS DATE) = k.day
        WHERE k.day >= DATE '{since}' GROUP BY k.plant, k.day ORDER BY downtime DESC LIMIT 20"""),
    _q("inventory_check", "inventory check", "supply_chain manufacturing", _plant_since(0), 1.5, """
        SELECT product_code, on_hand_units, reorder_point, safety_stock FROM supply_chain.inventory_levels
        WHERE plant = '{plant}' AND week = (SELECT max(week) FROM supply_chain.inventory_levels)
        ORDER BY product_code"""),
    # Finance: energy costs from Manufacturing's KPIs (ben, every week), close, cash, costing.
    _q("energy_forecast", "energy cost forecast", "finance", _since(180), 2.5, """
        SELECT plant, date_trunc('month', day) AS month, sum(energy_kwh) AS kwh, sum(energy_cost_eur) AS cost_eur,
               round(sum(energy_cost_eur) / sum(output_units), 4) AS eur_per_unit
        FROM manufacturing.plant_kpis WHERE day >= DATE '{since}' GROUP BY ALL ORDER BY plant, month"""),
    _q("energy_tariffs", "energy cost forecast", "finance", _plant_since(365), 1.2, """
        SELECT k.plant, e.month, sum(k.energy_kwh) AS kwh, any_value(e.price_eur_per_kwh) AS price,
               sum(k.energy_cost_eur) AS booked_eur
        FROM manufacturing.plant_kpis AS k
        JOIN finance.energy_costs AS e ON e.plant = k.plant AND e.month = date_trunc('month', k.day)
         AND e.carrier = 'electricity'
        WHERE k.plant = '{plant}' AND k.day >= DATE '{since}' GROUP BY ALL ORDER BY e.month"""),
    _q("month_end_close", "month-end close", "finance", _month_start, 1.5, """
        SELECT c.domain, c.name, sum(i.net_amount) AS net_eur
        FROM finance.invoices AS i JOIN finance.cost_centers AS c ON c.cost_center = i.cost_center
        WHERE i.invoice_date >= DATE '{month_start}' GROUP BY ALL ORDER BY net_eur DESC"""),
    _q("cash_forecast", "cash flow forecast", "finance", _since(0), 1.0, """
        SELECT date_trunc('week', due_date) AS week, sum(gross_amount) AS due_eur FROM finance.invoices
        WHERE status = 'open' AND due_date >= DATE '{since}' GROUP BY week ORDER BY week"""),
    _q("product_costing", "product costing", "finance sales", _since(28), 1.0, """
        SELECT plant, line, round(sum(energy_cost_eur) / sum(output_units), 4) AS energy_eur_per_unit,
               round(avg(scrap_rate), 4) AS scrap
        FROM manufacturing.plant_kpis WHERE day >= DATE '{since}'
        GROUP BY ALL ORDER BY energy_eur_per_unit DESC"""),
    _q("supplier_spend", "supplier spend analysis", "finance supply_chain", _since(90), 1.0, """
        SELECT s.supplier_name, s.country, sum(i.net_amount) AS spend_eur
        FROM finance.invoices AS i JOIN supply_chain.suppliers AS s ON s.supplier_id = i.supplier_id
        WHERE i.invoice_date >= DATE '{since}' GROUP BY ALL ORDER BY spend_eur DESC LIMIT 25"""),
    _q("market_watch", "market watch", "finance sales", _symbol, 0.6, """
        SELECT symbol, date_trunc('month', date) AS month, round(avg(price), 2) AS price
        FROM finance.stock_prices WHERE symbol = '{symbol}' GROUP BY ALL ORDER BY month"""),
    _q("weather_energy", "energy cost forecast", "finance r_and_d", _year, 0.5, """
        SELECT month(date) AS month, round(avg(temp_max), 1) AS temp_max, round(avg(temp_min), 1) AS temp_min
        FROM r_and_d.site_weather WHERE year(date) = {year} GROUP BY month ORDER BY month"""),
    # Supply chain
    _q("supplier_risk", "supplier risk review", "supply_chain finance", _country, 2.0, """
        SELECT s.supplier_id, s.supplier_name, count(*) AS shipments, round(avg(sh.delay_days), 1) AS avg_delay,
               count(*) FILTER (WHERE sh.delay_days > 3) AS late
        FROM supply_chain.shipments AS sh JOIN supply_chain.suppliers AS s ON s.supplier_id = sh.supplier_id
        WHERE sh.ship_date >= DATE '{since}' AND s.country = '{country}'
        GROUP BY ALL ORDER BY late DESC LIMIT 20"""),
    _q("capacity_planning", "capacity planning", "supply_chain", _since(56), 1.5, """
        SELECT plant, date_trunc('week', day) AS week, sum(output_units) AS output
        FROM manufacturing.plant_kpis WHERE day >= DATE '{since}' GROUP BY ALL ORDER BY plant, week"""),
    _q("inbound_delays", "delivery performance", "supply_chain", _since(28), 1.5, """
        SELECT plant, mode, count(*) AS shipments, round(avg(delay_days), 1) AS avg_delay
        FROM supply_chain.shipments WHERE direction = 'inbound' AND ship_date >= DATE '{since}'
        GROUP BY ALL ORDER BY avg_delay DESC"""),
    _q("air_freight", "air freight lane review", "supply_chain", _flight_month, 1.2, """
        SELECT c.name AS carrier, count(*) AS flights, round(avg(f.arr_delay), 1) AS avg_arrival_delay
        FROM supply_chain.flights AS f JOIN supply_chain.carriers AS c ON c.carrier = f.carrier
        WHERE f.origin = '{origin}' AND f.month = {month} GROUP BY c.name ORDER BY flights DESC"""),
    _q("lanes", "air freight lane review", "supply_chain", _flight_month, 0.8, """
        SELECT a.name AS destination, count(*) AS flights, round(avg(f.distance)) AS distance
        FROM supply_chain.flights AS f JOIN supply_chain.airports AS a ON a.faa = f.dest
        WHERE f.origin = '{origin}' GROUP BY a.name ORDER BY flights DESC LIMIT 15"""),
    _q("weather_delays", "delay analysis", "supply_chain r_and_d", _flight_month, 0.5, """
        SELECT round(w.visib) AS visibility, count(*) AS flights, round(avg(f.dep_delay), 1) AS dep_delay
        FROM supply_chain.flights AS f
        JOIN supply_chain.airport_weather AS w ON w.origin = f.origin AND w.year = f.year
         AND w.month = f.month AND w.day = f.day AND w.hour = f.hour
        WHERE f.origin = '{origin}' AND f.month = {month} GROUP BY ALL ORDER BY visibility"""),
    # Sales: consumes everybody's data.
    _q("weekly_sales", "weekly sales report", "sales finance", _since(7), 2.0, """
        SELECT c.country, count(DISTINCT o.order_id) AS orders, round(sum(o.total_eur), 2) AS revenue_eur
        FROM sales.orders AS o JOIN sales.customers AS c ON c.customer_id = o.customer_id
        WHERE o.order_date >= DATE '{since}' GROUP BY c.country ORDER BY revenue_eur DESC"""),
    _q("delivery_promise", "delivery promise", "sales", _plant_since(28), 1.5, """
        SELECT plant, round(avg(output_units)) AS avg_daily_output, min(day) AS since
        FROM manufacturing.plant_kpis WHERE plant = '{plant}' AND day >= DATE '{since}' GROUP BY plant"""),
    _q("account_review", "account review", "sales", _customer, 2.5, """
        SELECT order_date, product, quantity, total_eur, status FROM sales.orders
        WHERE customer_id = {customer} ORDER BY order_date DESC LIMIT 50"""),
    _q("customer_outreach", "customer outreach", "sales", _outreach, 0.7, """
        SELECT company, contact_name, email FROM sales.customers
        WHERE country = '{country}' AND segment = '{segment}' ORDER BY company"""),
    _q("pricing", "pricing review", "sales finance", _since(90), 1.2, """
        SELECT product, category, round(avg(unit_price_eur), 2) AS avg_price, sum(quantity) AS units
        FROM sales.orders WHERE order_date >= DATE '{since}' GROUP BY ALL ORDER BY units DESC"""),
    _q("delivery_status", "delivery status", "sales", _customer, 1.2, """
        SELECT shipment_id, ship_date, promised_date, delivered_date, status FROM supply_chain.shipments
        WHERE direction = 'outbound' AND customer_id = {customer} ORDER BY ship_date DESC"""),
    # Supply Chain and Manufacturing plan production and stock from Sales' order book.
    _q("demand_planning", "demand planning", "supply_chain manufacturing", _since(56), 1.2, """
        SELECT product, date_trunc('week', order_date) AS week, sum(quantity) AS units
        FROM sales.orders WHERE order_date >= DATE '{since}' GROUP BY ALL ORDER BY product, week"""),
    # HR
    _q("headcount", "headcount planning", "hr finance", _since(0), 1.5, """
        SELECT site, department, count(*) AS headcount, sum(fte) AS fte FROM hr.employees
        WHERE exit_date IS NULL GROUP BY ALL ORDER BY site, department"""),
    _q("absence_report", "absence report", "hr", _since(28), 1.5, """
        SELECT e.department, a.absence_type, sum(a.days) AS days
        FROM hr.absences AS a JOIN hr.employees AS e ON e.employee_id = a.employee_id
        WHERE a.start_date >= DATE '{since}' GROUP BY ALL ORDER BY days DESC"""),
    _q("shift_staffing", "headcount planning", "hr", _since(28), 1.0, """
        SELECT plant, count(DISTINCT operator_name) AS shift_leads, count(*) AS shifts
        FROM manufacturing.plant_kpis WHERE day >= DATE '{since}' GROUP BY plant ORDER BY plant"""),
    # R&D
    _q("experiment_curve", "materials research", "r_and_d", _material, 2.5, """
        SELECT round(temperature_c / 10) * 10 AS temp_band, count(*) AS runs, round(avg(yield_pct), 1) AS yield
        FROM r_and_d.experiments WHERE material = '{material}' GROUP BY ALL ORDER BY temp_band"""),
    _q("penguins", "method validation", "r_and_d", _island, 0.8, """
        SELECT species, sex, round(avg(body_mass_g)) AS body_mass_g, round(avg(flipper_length_mm), 1) AS flipper_mm
        FROM r_and_d.penguin_measurements WHERE island = '{island}' GROUP BY ALL ORDER BY species"""),
    _q("predictive_maintenance", "predictive maintenance model", "r_and_d", _since(28), 1.5, """
        SELECT machine_id, date_trunc('day', ts) AS day, round(avg(temperature_c), 1) AS temp,
               max(vibration_mm_s) AS vibration, count(*) FILTER (WHERE status = 'alarm') AS alarms
        FROM manufacturing.machine_sensors WHERE ts >= TIMESTAMP '{since} 00:00:00'
        GROUP BY ALL ORDER BY machine_id, day"""),
    _q("process_optimisation", "process optimisation", "r_and_d", _plant_since(180), 1.0, """
        SELECT line, round(corr(energy_kwh, output_units), 3) AS energy_output_corr,
               round(avg(scrap_rate), 4) AS scrap
        FROM manufacturing.plant_kpis WHERE plant = '{plant}' AND day >= DATE '{since}'
        GROUP BY line ORDER BY line"""),
)
# fmt: on

BY_KEY = {q.key: q for q in QUESTIONS}

TYPOS = {
    "manufacturing.plant_kpis": "scrap_rte",
    "manufacturing.machine_sensors": "temperature",
    "sales.orders": "total",
    "supply_chain.shipments": "delay",
    "finance.invoices": "amount",
    "hr.employees": "name",
}
"""A column people misspell in each of these datasets: a few queries fail, as they do in life."""
